# dqp_add_highs(<source_dir>): the HiGHS library, from the unpacked highspy
# sdist at <source_dir>, as the OBJECT library dqp_highs; sets
# DQP_HIGHS_INCLUDE_DIRS for code that calls it.
#
# HiGHS's own CMakeLists.txt builds executables, tests and an installable
# package, and sets project-wide options (BUILD_SHARED_LIBS, output
# directories, LTO). dqp compiles the library's sources itself instead, from
# the lists in the sdist's cmake/sources.cmake (read inside this function, so
# its variables stay here), with the configuration a default highspy build
# uses minus the optional parts: no zlib (model files), no HiPO (its BLAS and
# METIS live in the separate extras library), no GPU. The extras API is built
# in (HIGHS_SHARED_EXTRAS_LIBRARY unset): nothing is loaded at run time.
function(dqp_add_highs source_dir)
  include(${source_dir}/cmake/sources.cmake)
  set(files ${highs_sources} ${cupdlp_sources} ${ipx_sources} ${basiclu_sources}
            ${hipo_sources} ${factor_highs_sources} ${hipo_util_sources})
  list(TRANSFORM files PREPEND ${source_dir}/highs/)
  list(APPEND files ${source_dir}/extern/HighsExtrasApi.cpp
                    ${source_dir}/extern/HighsExtrasExternalDeps.cpp)

  file(STRINGS ${source_dir}/Version.txt version_lines)
  foreach(line ${version_lines})
    if(line MATCHES "^HIGHS_(MAJOR|MINOR|PATCH)=(.*)$")
      set(HIGHS_VERSION_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
    endif()
  endforeach()
  set(version ${HIGHS_VERSION_MAJOR}.${HIGHS_VERSION_MINOR}.${HIGHS_VERSION_PATCH})

  # The variables HConfig.h.in tests (#cmakedefine).
  set(FAST_BUILD ON)
  set(CUPDLP_CPU ON)
  set(GITHASH "n/a")
  include(CheckCXXSourceCompiles)
  check_cxx_source_compiles("#include <immintrin.h>
    int main() { _mm_pause(); return 0; }" HIGHS_HAVE_MM_PAUSE)
  check_cxx_source_compiles("int main() { unsigned x = 5; return __builtin_clz(x) + __builtin_clzll(x); }"
    HIGHS_HAVE_BUILTIN_CLZ)
  set(config_dir ${CMAKE_CURRENT_BINARY_DIR}/highs-config)
  configure_file(${source_dir}/highs/HConfig.h.in ${config_dir}/HConfig.h)

  add_library(dqp_highs OBJECT ${files})
  set(include_dirs ${source_dir}/highs ${source_dir}/extern ${config_dir})
  target_include_directories(dqp_highs PRIVATE ${include_dirs}
    ${source_dir}/highs/ipm/ipx ${source_dir}/highs/ipm/basiclu ${source_dir}/highs/pdlp/cupdlp
    ${source_dir}/highs/ipm/hipo/auxiliary ${source_dir}/highs/ipm/hipo/factorhighs
    ${source_dir}/highs/ipm/hipo/ipm)
  target_compile_definitions(dqp_highs PRIVATE HIGHS_EXTRAS_VERSION="${version}")
  # HiGHS's sources are not dqp's: their warnings are not ours to act on.
  target_compile_options(dqp_highs PRIVATE -w)
  set(DQP_HIGHS_INCLUDE_DIRS ${include_dirs} PARENT_SCOPE)
  set(DQP_HIGHS_VERSION ${version} PARENT_SCOPE)
endfunction()
