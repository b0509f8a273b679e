#!/usr/bin/env bash
# Installs everything dqp needs on a fresh Debian machine with Python >= 3.9,
# then builds and installs dqp itself (the C++ extension compiles: ~2 min).
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages: the C++ toolchain, SuiteSparse (linear solvers),
# GoogleTest (C++ tests) and Eigen (for C++ programs built against an
# installed dqp without the Python environment: scripts/test.sh); ccache lets
# scripts/test.sh reuse this build's objects.
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  missing=()
  for package in g++ clang cmake ccache libgtest-dev liblapack-dev libsuitesparse-dev libeigen3-dev; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# A pinned CPU build: an unpinned torch pulls a multi-GB CUDA build.
python -m pip install -q "torch==2.13.0"
# Eigen and ProxSuite headers and Clp (cmeel wheels) for the C++ library and
# its tests (scripts/test.sh builds them with plain cmake).
python -m pip install -q scikit-build-core nanobind cmeel-eigen cmeel-simde "libproxsuite==0.7.3" \
  cmeel-qpoases cmeel-clp
# MKL's headers and libmkl_rt, for the PARDISO linear solver and a fast
# LAPACK under the dense ldlt (dqp opens libmkl_rt at run time; ~5 s to
# fetch and install, ~700 MB on disk). dqp builds and runs without it.
python -m pip install -q "mkl==2026.2.0" "mkl-include==2026.2.0"
# The build requirements are all installed above: building without isolation
# keeps their paths stable, so ccache (scripts/ccache.sh) serves the same
# objects to scripts/test.sh's C++ build.
source scripts/ccache.sh
python -m pip install -q --no-build-isolation "${DQP_PIP_LAUNCHER[@]}" "${DQP_PIP_GCC[@]}" \
  ".[solvers,test,jax,ray]"
python -c "import dqp; print('dqp', dqp.__version__, 'installed; solvers:', ', '.join(sorted(dqp.available_solvers())))"
