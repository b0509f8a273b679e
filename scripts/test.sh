#!/usr/bin/env bash
# The whole test suite: C++ (GoogleTest through ctest), then Python (pytest).
# Run scripts/setup.sh once first.
set -euo pipefail
cd "$(dirname "$0")/.."

cmake -S . -B build/cpp-tests -DDQP_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/cpp-tests -j"$(nproc)"
ctest --test-dir build/cpp-tests --output-on-failure -j"$(nproc)"

python -m pytest -q tests/python
