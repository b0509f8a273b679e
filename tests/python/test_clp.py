"""Clp, the native COIN-OR solver, through the torch layer: same outputs and
gradients as ProxQP on dense and sparse data, batched on threads, silent."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp

from conftest import kkt_residual, make_qp, tensor
from dqp.problems import load_problem, maros_meszaros_dir

pytestmark = pytest.mark.skipif("clp" not in dqp.available_solvers(), reason="dqp built without Clp")


def _run(qp_solver, storage, batch=1, **options):
    """(z, lam, mu) and the gradients wrt q, d, b and the values of P, C, A."""
    first = make_qp(8, 10, 2, seed=150, sparse=storage == "sparse")
    qps = [first] + [make_qp(8, 10, 2, seed=150 + i, P=first["P"], C=first["C"], A=first["A"])
                     for i in range(1, batch)]
    layer = dqp.QPLayer(qp_solver=qp_solver, **options)
    q, d, b = (tensor(np.stack([qp[k] for qp in qps])) for k in "qdb")
    P, C, A = (tensor(qps[0][k]) for k in "PCA")
    if storage == "sparse":
        inputs = [M.detach().to_sparse().requires_grad_() for M in (P, C, A)]
    else:
        inputs = [P, C, A]
    z, lam, mu = layer(inputs[0], q, inputs[1], d, inputs[2], b)
    (z.sum() + (lam ** 2).sum() + mu.sum()).backward()
    grads = [x.grad.to_dense() if x.grad.is_sparse else x.grad for x in inputs + [q, d, b]]
    assert layer.statuses == ["optimal"] * batch
    return [t.detach().numpy() for t in (z, lam, mu)] + [g.numpy() for g in grads], qps


def test_clp_is_native_with_both_storages_and_duals():
    info = dqp.available_solvers()["clp"]
    assert info == {**info, "kind": "native", "dense": True, "sparse": True, "duals": True}


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_clp_matches_proxqp_outputs_and_gradients(storage):
    result, qps = _run("clp", storage, batch=3, n_threads=3)
    reference, _ = _run("proxqp", storage, batch=3)
    for name, a, b in zip(["z", "lam", "mu", "P", "C", "A", "q", "d", "b"], result, reference):
        np.testing.assert_allclose(a, b, atol=1e-8, rtol=0, err_msg=name)
    np.testing.assert_allclose(result[0], np.stack([qp["z"] for qp in qps]), atol=1e-8)


def test_clp_prints_nothing_unless_verbose(capfd):
    _run("clp", "dense")
    _run("clp", "sparse")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    _run("clp", "dense", verbose=True)
    assert capfd.readouterr().out != ""


def test_clp_reports_an_infeasible_problem():
    P = torch.eye(2, dtype=torch.float64)
    q = torch.zeros(2, dtype=torch.float64)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, -1.0], dtype=torch.float64)
    layer = dqp.QPLayer(qp_solver="clp", on_failure="nan")
    with pytest.warns(RuntimeWarning, match="primal_infeasible"):
        z, _, _ = layer(P, q, C, d)
    assert layer.statuses == ["primal_infeasible"]
    assert torch.isnan(z).all()


# Clp's quadratic simplex stops with status "optimal" on QE226 at a point
# whose row duals have the wrong sign: the adapter checks every optimum and
# must not pass that one on. The other problems solve.
@pytest.mark.skipif(maros_meszaros_dir() is None, reason="Maros–Meszaros data not found")
@pytest.mark.parametrize("name", ["HS118", "DUAL1", "QAFIRO", "CVXQP1_S", "QE226"])
def test_clp_answers_on_maros_meszaros_are_optimal_or_a_numerical_error(name):
    problem = load_problem(maros_meszaros_dir() / f"{name}.mat")
    P, q, C, d, A, b = (problem.P, problem.q, problem.C, problem.d, problem.A, problem.b)
    result = dqp.solve(P, q, C, d, A, b, qp_solver="clp")
    if name == "QE226":
        assert result.status in ("optimal", "numerical_error")
    else:
        assert result.status == "optimal"
    if result.status == "optimal":
        dense = [M.toarray() if hasattr(M, "toarray") else M for M in (P, C, A)]
        residual = kkt_residual(dense[0], q, dense[1], d, dense[2], b, result.z, result.lam, result.mu)
        assert residual < 1e-6 * (1 + np.abs(q).max())
