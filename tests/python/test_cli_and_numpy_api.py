"""`python -m dqp solvers`, solver listings, and dqp.solve on numpy data."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import dqp

from conftest import kkt_residual, make_qp


def test_python_m_dqp_solvers_runs_and_lists_proxqp_and_linear_solvers():
    result = subprocess.run([sys.executable, "-m", "dqp", "solvers"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "proxqp" in out
    assert "osqp" in out
    for name in dqp.available_linear_solvers():
        assert name in out


def test_python_m_dqp_without_command_fails_with_usage():
    result = subprocess.run([sys.executable, "-m", "dqp"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "usage" in (result.stderr + result.stdout).lower()


def test_available_solvers_lists_native_proxqp_with_both_storages_and_duals():
    info = dqp.available_solvers()["proxqp"]
    assert info == {**info, "kind": "native", "dense": True, "sparse": True, "duals": True}


def test_available_linear_solvers_cover_both_storages():
    info = dqp.available_linear_solvers()
    assert any(v["dense"] for v in info.values())
    assert any(v["sparse"] for v in info.values())
    for name in ("lu", "cod", "sparse_lu", "sparse_qr"):
        assert name in info


@pytest.mark.parametrize("qp_solver", [None, "osqp"])
def test_numpy_solve_returns_the_known_solution(qp_solver):
    qp = make_qp(5, 6, 2, seed=130, n_active=2)
    result = dqp.solve(qp["P"], qp["q"], qp["C"], qp["d"], qp["A"], qp["b"], qp_solver=qp_solver)
    assert result.status == "optimal"
    np.testing.assert_allclose(result.z, qp["z"], atol=1e-8)
    np.testing.assert_allclose(result.lam, qp["lam"], atol=1e-8)
    np.testing.assert_allclose(result.mu, qp["mu"], atol=1e-8)
    assert kkt_residual(qp["P"], qp["q"], qp["C"], qp["d"], qp["A"], qp["b"], result.z, result.lam, result.mu) < 1e-8
    assert sorted(result.solution.active) == list(qp["J"])


def test_numpy_solve_without_constraints():
    result = dqp.solve(2 * np.eye(3), np.array([2.0, -4.0, 0.0]))
    np.testing.assert_allclose(result.z, [-1.0, 2.0, 0.0], atol=1e-8)
    assert result.lam.size == 0 and result.mu.size == 0
