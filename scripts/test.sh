#!/usr/bin/env bash
# The whole test suite: C++ (GoogleTest through ctest), then Python (pytest).
# Run scripts/setup.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache.sh

cmake -S . -B build/cpp-tests -DDQP_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release "${DQP_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build build/cpp-tests -j"$(nproc)"
ctest --test-dir build/cpp-tests --output-on-failure -j"$(nproc)"

# find_package(dqp) from an installed copy, as a C++ user would.
cmeel_prefix=$(python -c "import os, sys; print(';'.join(p + '/cmeel.prefix' for p in sys.path if os.path.isdir(p + '/cmeel.prefix')))")
cmake --install build/cpp-tests --prefix build/cpp-install >/dev/null
cmake -S examples/cpp -B build/cpp-example -DCMAKE_PREFIX_PATH="$PWD/build/cpp-install;$cmeel_prefix" >/dev/null
cmake --build build/cpp-example >/dev/null
build/cpp-example/seed_example

python -m pytest -q tests/python
