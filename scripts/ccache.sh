# Sourced by the build scripts: compile through ccache when it is installed,
# so that scripts/test.sh, sanitize.sh and fuzz.sh reuse what an earlier build
# of the same sources compiled (setup.sh's wheel build first of all). Paths
# are hashed relative to the repository, so build trees of the same depth
# (build/<name>) share their objects, HiGHS's included.
DQP_CMAKE_LAUNCHER=()   # for cmake -S ... -B ...
DQP_PIP_LAUNCHER=()     # for pip install (scikit-build-core's -C options)
# The wheel (setup.sh) and the C++ tests (test.sh) name the compiler the same
# way: ccache hashes the name it is called by, and CMake finds /usr/bin/g++
# for the one and /usr/bin/c++ (the same program) for the other, so on a
# fresh machine test.sh compiled HiGHS a second time.
DQP_CMAKE_GCC=(-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++)
DQP_PIP_GCC=(-Ccmake.define.CMAKE_C_COMPILER=gcc -Ccmake.define.CMAKE_CXX_COMPILER=g++)
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$(pwd -P)}"
  export CCACHE_NOHASHDIR=1
  export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-include_file_mtime,include_file_ctime,time_macros}"
  DQP_CMAKE_LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
  DQP_PIP_LAUNCHER=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache -Ccmake.define.CMAKE_C_COMPILER_LAUNCHER=ccache)
fi
