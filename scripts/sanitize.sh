#!/usr/bin/env bash
# The C++ test suite built with AddressSanitizer and UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache.sh
# HiGHS (a large third-party C++ code base, compiled from its sdist) is left
# out: instrumenting it would triple CI's build time; every adapter of dqp's
# own and the smaller solvers built from source (DAQP, QDLDL, PIQP) stay in.
cmake -S . -B build/sanitize -DDQP_BUILD_TESTS=ON -DDQP_SANITIZE=ON -DDQP_WITH_HIGHS=OFF -DDQP_SHARED=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${DQP_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build build/sanitize -j"$(nproc)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/sanitize --output-on-failure -j"$(nproc)"
