#!/usr/bin/env bash
# Fuzz the dqp torch layer (fuzz/fuzz_layer.py, atheris + libFuzzer) for
# SECONDS (default 60), starting from the seed corpus in fuzz/corpus/layer.
#
#   fuzz/run_atheris.sh [SECONDS] [extra libFuzzer flags...]
#
# libFuzzer stops at the first crash (an uncaught exception, a signal, a
# timeout = a hang); the runner records the reproducer and, by default, starts
# libFuzzer again for the rest of the time, so one bounded run reports every
# bug it reaches. Exit status: 0 if nothing was found, 1 otherwise.
#
# Environment:
#   DQP_FUZZ_WORK=DIR        working directory (default build/fuzz-layer): grown
#                            corpus in DIR/corpus, reproducers in DIR/artifacts/<date>
#   DQP_FUZZ_TIMEOUT=S       seconds after which one input counts as a hang (60)
#   DQP_FUZZ_STOP_FIRST=1    stop at the first finding instead of continuing
#   DQP_FUZZ_SKIP_KNOWN=1    skip inputs that hit already-pinned bugs
#                            (tests/python/test_fuzz_regressions.py)
# Replay a reproducer:  python fuzz/fuzz_layer.py DIR/artifacts/crash-...
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
work=${DQP_FUZZ_WORK:-build/fuzz-layer}
timeout=${DQP_FUZZ_TIMEOUT:-60}
artifacts="$work/artifacts/$(date +%Y%m%d-%H%M%S)"
mkdir -p "$work/corpus" "$artifacts" "$work/logs"
rm -f "$work"/logs/run-*.log
python -c "import atheris" 2>/dev/null || { echo "atheris is not installed: pip install atheris" >&2; exit 2; }

found=0
runs=0
start=$SECONDS
deadline=$((SECONDS + seconds))
while :; do
  remaining=$((deadline - SECONDS))
  [ "$remaining" -gt 0 ] || break
  runs=$((runs + 1))
  log="$work/logs/run-$runs.log"
  before=$(ls "$artifacts" | grep -cE '^(crash|timeout|oom|leak)-' || true)
  # New inputs go to the first corpus directory (the working one); the seed
  # corpus is only read.
  python fuzz/fuzz_layer.py -max_total_time="$remaining" -timeout="$timeout" -rss_limit_mb=6144 \
    -print_final_stats=1 -report_slow_units=30 -artifact_prefix="$artifacts/" "$@" \
    "$work/corpus" fuzz/corpus/layer >"$log" 2>&1
  rc=$?
  after=$(ls "$artifacts" | grep -cE '^(crash|timeout|oom|leak)-' || true)
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|INFO: fuzzed for)" "$log" | sed "s/^/[run $runs] /"
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    found=1
    echo "[run $runs] libFuzzer exited with $rc; finding:"
    grep -E "^(==[0-9]+== ERROR|SUMMARY|artifact_prefix=)" "$log" | sed "s/^/    /"
    grep -E "^[A-Za-z_.]*(Error|Exception|Bug)\b.*" "$log" | tail -1 | sed "s/^/    /"
    newest=$(ls -t "$artifacts" | grep -E '^(crash|timeout|oom|leak)-' | head -1)
    if [ -n "$newest" ]; then
      python fuzz/fuzz_layer.py --describe "$artifacts/$newest" 2>/dev/null | grep -vE "^problem\[" | sed "s/^/    /"
    fi
    if [ "${DQP_FUZZ_STOP_FIRST:-0}" = "1" ]; then
      break
    fi
    [ "$rc" -ne 0 ] || break   # libFuzzer finished its time normally
  else
    break
  fi
done
execs=$(cat "$work"/logs/run-*.log 2>/dev/null | grep "stat::number_of_executed_units" | awk '{s += $2} END {print s + 0}')
echo "fuzz_layer: $runs libFuzzer run(s), $((SECONDS - start)) s, $execs executions;" \
     "findings in $artifacts:"
ls -1 "$artifacts" | grep -E '^(crash|timeout|oom|leak)-' | sed 's/^/    /' || echo "    none"
exit "$found"
