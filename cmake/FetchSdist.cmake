# Solver sources from PyPI source distributions.
#
# Several QP solvers (PIQP, DAQP, HiGHS) publish no C/C++ headers and
# libraries in any wheel or Debian package here, but their PyPI source
# distributions carry the complete C/C++ sources. dqp downloads the pinned
# sdist (checked against its SHA-256), and builds what it needs into the dqp
# library: the same registry pip uses, no git checkouts.
#
# Offline builds: pass -DFETCHCONTENT_SOURCE_DIR_<NAME>=/path/to/unpacked/sdist
# (NAME upper-case), or keep the build directory (downloads are cached there).
include(FetchContent)

# dqp_fetch_sdist(<name> <url> <sha256>) sets <name>_SOURCE_DIR in the caller.
# The sdist's own CMakeLists.txt is not run: the caller picks the sources.
function(dqp_fetch_sdist name url sha256)
  FetchContent_Declare(${name}
    URL "${url}"
    URL_HASH SHA256=${sha256}
    DOWNLOAD_EXTRACT_TIMESTAMP TRUE
    SOURCE_SUBDIR dqp-does-not-configure-this-sdist)
  FetchContent_MakeAvailable(${name})
  set(${name}_SOURCE_DIR "${${name}_SOURCE_DIR}" PARENT_SCOPE)
endfunction()
