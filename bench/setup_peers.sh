#!/usr/bin/env bash
# Virtual environments for the peers, each with the pinned CPU torch:
#   bench/.venv-libdqp  the original package (PyPI libdqp), which also imports
#                       as `dqp`: it must not share an environment with ours;
#   bench/.venv-peers   qpth (OptNet), cvxpylayers, proxsuite (QPLayer).
# dqp itself runs in the interpreter that runs the benchmark (install it with
# scripts/setup.sh first).
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

make_venv() {
  local dir=$1; shift
  if [ ! -x "$dir/bin/python" ]; then
    "$PYTHON" -m venv "$dir"
  fi
  "$dir/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
  "$dir/bin/python" -m pip install -q "torch==2.13.0"
  "$dir/bin/python" -m pip install -q "$@"
}

make_venv .venv-libdqp libdqp numpy scipy
make_venv .venv-peers qpth cvxpylayers cvxpy proxsuite numpy scipy
echo "peer environments ready"
