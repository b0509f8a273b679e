# QDLDL (OSQP's LDLᵀ factorization of quasi-definite matrices, Apache-2.0),
# compiled from its pinned PyPI sdist into dqp itself: an OBJECT library
# whose objects join libdqp, so the find_package(dqp) export set does not
# change. Its two configured headers are generated from the sdist's templates
# (64-bit indices, double values). Its public functions are renamed (dqp_*):
# OSQP bundles QDLDL under the same names, and a program linking both static
# libraries would otherwise see duplicate symbols.
enable_language(C)

function(dqp_add_qdldl target)
  dqp_fetch_sdist(qdldl
    https://files.pythonhosted.org/packages/51/4e/452984a63df9421cf8e7d25e8e6a44832cf0247a5e7b65e437cd516a0f8f/qdldl-0.1.9.post1.tar.gz
    da2016d541c26cefc79bca4d8b5bebfa00f35db19704abb20efbd1c08df3b4c7)
  set(source ${qdldl_SOURCE_DIR}/c/qdldl)
  set(generated ${CMAKE_CURRENT_BINARY_DIR}/qdldl/include)
  set(QDLDL_INT_TYPE "long long")
  set(QDLDL_INT_TYPE_MAX "LLONG_MAX")
  set(QDLDL_FLOAT_TYPE "double")
  set(QDLDL_BOOL_TYPE "unsigned char")
  set(QDLDL_LONG 1)
  set(QDLDL_FLOAT 0)
  set(QDLDL_VERSION_MAJOR 0)
  set(QDLDL_VERSION_MINOR 1)
  set(QDLDL_VERSION_PATCH 9)
  configure_file(${source}/configure/qdldl_types.h.in ${generated}/qdldl_types.h @ONLY)
  configure_file(${source}/configure/qdldl_version.h.in ${generated}/qdldl_version.h @ONLY)
  set(renamed)
  foreach(function etree factor solve Lsolve Ltsolve)
    list(APPEND renamed QDLDL_${function}=dqp_QDLDL_${function})
  endforeach()

  add_library(dqp_qdldl OBJECT ${source}/src/qdldl.c)
  target_include_directories(dqp_qdldl PRIVATE ${source}/include ${generated})
  target_compile_definitions(dqp_qdldl PRIVATE ${renamed})
  target_sources(${target} PRIVATE src/kkt/qdldl.cpp $<TARGET_OBJECTS:dqp_qdldl>)
  set_source_files_properties(src/kkt/qdldl.cpp PROPERTIES
    INCLUDE_DIRECTORIES "${source}/include;${generated}"
    COMPILE_DEFINITIONS "${renamed}")
  target_compile_definitions(${target} PRIVATE DQP_HAVE_QDLDL)
  message(STATUS "dqp: QDLDL linear solver enabled (${source})")
endfunction()
