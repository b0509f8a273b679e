#!/usr/bin/env bash
# The whole test suite: C++ (GoogleTest through ctest), the C++ examples
# against an installed dqp, then Python (pytest). Run scripts/setup.sh once
# first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache.sh

# -march=native as in the wheel setup.sh built, so that ccache hands back its
# objects (HiGHS's above all); a plain configure is portable (DQP_NATIVE_ARCH
# is off by default), and dqp_abi_tests checks a baseline-x86-64 consumer.
cmake -S . -B build/cpp-tests -DDQP_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release -DDQP_NATIVE_ARCH=ON \
  "${DQP_CMAKE_GCC[@]}" "${DQP_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build build/cpp-tests -j"$(nproc)"
ctest --test-dir build/cpp-tests --output-on-failure -j"$(nproc)"

# find_package(dqp) from an installed copy, as a C++ user would: a fresh
# prefix, moved after installing (it must be relocatable), and nothing of the
# Python environment on the search path (Eigen comes from the system). The
# prefix must not refer to that environment.
rm -rf build/cpp-install build/cpp-relocated build/cpp-examples
cmake --install build/cpp-tests --prefix build/cpp-install >/dev/null
mv build/cpp-install build/cpp-relocated
if grep -rlE "site-packages|cmeel|libpthread\.a" build/cpp-relocated/lib*/cmake/dqp; then
  echo "the installed CMake package refers to the build machine's Python environment" >&2
  exit 1
fi
cmake -S examples/cpp -B build/cpp-examples -DCMAKE_PREFIX_PATH="$PWD/build/cpp-relocated" \
  -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >/dev/null
cmake --build build/cpp-examples -j"$(nproc)" >/dev/null
ctest --test-dir build/cpp-examples --output-on-failure

# One worker per core, a test file per worker (--dist loadfile): a file's
# tests share their fixtures (a Ray cluster, a DDP pair); about a third of a
# serial run is waiting on subprocesses that another worker can fill.
python -m pytest -q -n auto --dist loadfile tests/python
