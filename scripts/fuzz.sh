#!/usr/bin/env bash
# Fuzz the C++ core with libFuzzer (+ AddressSanitizer, UBSan) for SECONDS
# (default 60) and at most 3000 inputs, from the corpus in fuzz/corpus/core,
# with a fixed seed so that a CI run is reproducible. Exits non-zero on a
# crash, leaving the reproducer in build/fuzz/. Needs clang (setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ccache.sh
seconds=${1:-60}

# HiGHS left out for build time, as in sanitize.sh (the harness uses the default solver).
cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DDQP_BUILD_FUZZERS=ON -DDQP_WITH_HIGHS=OFF -DDQP_SHARED=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "${DQP_CMAKE_LAUNCHER[@]}" >/dev/null
cmake --build build/fuzz --target fuzz_core -j"$(nproc)"
rm -rf build/fuzz/corpus && cp -r fuzz/corpus/core build/fuzz/corpus
cd build/fuzz
./fuzz_core -seed=1 -runs=3000 -max_total_time="$seconds" -timeout=60 -rss_limit_mb=4096 -print_final_stats=1 corpus 2>&1 \
  | grep -vE "^#[0-9]+\s+(NEW|REDUCE|pulse)" | tail -25
exit "${PIPESTATUS[0]}"
