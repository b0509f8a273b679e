"""Degenerate points: three constraints active at a vertex of a 2-D problem.

    minimize ½‖z‖² - 2(z1 + z2)   s.t.  z1 ≤ 1,  z2 ≤ 1,  z1 + z2 ≤ 2

z* = (1, 1) with all three rows active (|J| = 3 > n = 2): the duals are not
unique and the reduced KKT matrix is singular. DESIGN.md: return a
well-defined derivative (never NaN), flag it on the solution, warn once.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import dqp

CASES = [
    pytest.param("dense", {}, id="dense-default"),
    pytest.param("dense", {"lin_solver": "lu"}, id="dense-lu"),
    pytest.param("dense", {"lin_solver": "cod"}, id="dense-cod"),
    pytest.param("dense", {"qp_solver": "osqp"}, id="dense-osqp"),
    pytest.param("dense", {"dual_available": False}, id="dense-recovered-duals"),
    pytest.param("sparse", {}, id="sparse-default"),
    pytest.param("sparse", {"lin_solver": "qdldl"}, id="sparse-qdldl"),
    pytest.param("sparse", {"lin_solver": "sparse_qr"}, id="sparse-qr"),
    pytest.param("sparse", {"qp_solver": "osqp"}, id="sparse-osqp"),
]


def _vertex_problem(storage):
    P = torch.eye(2, dtype=torch.float64, requires_grad=True)
    q = torch.tensor([-2.0, -2.0], dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    leaves = [P, q, C, d]
    if storage == "sparse":
        inputs = [P.to_sparse_csc(), q, C.to_sparse_csc(), d]
    else:
        inputs = leaves
    return leaves, inputs


def _solve(storage, options):
    leaves, inputs = _vertex_problem(storage)
    layer = dqp.QPLayer(**options)
    z, lam, mu = layer(*inputs)
    return layer, leaves, z, mu


@pytest.mark.parametrize("storage,options", CASES)
def test_degenerate_vertex_gives_finite_outputs_and_flags_it(storage, options):
    layer, _, z, mu = _solve(storage, options)
    np.testing.assert_allclose(z.detach().numpy(), [1.0, 1.0], atol=1e-6)
    mu = mu.detach().numpy()
    assert np.all(np.isfinite(mu))
    assert np.all(mu >= -1e-8)
    # Stationarity: z + q + Cᵀμ = 0 for whichever dual the layer returns.
    C = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(z.detach().numpy() - 2.0 + C.T @ mu, 0.0, atol=1e-6)
    assert layer.active.tolist() == [True, True, True]
    assert layer.degenerate == [True]


@pytest.mark.parametrize("loss", ["sum_z", "sum_z_and_mu"])
@pytest.mark.parametrize("storage,options", CASES)
def test_degenerate_vertex_gives_finite_gradients(storage, options, loss):
    layer, leaves, z, mu = _solve(storage, options)
    L = z.sum() if loss == "sum_z" else z.sum() + mu.sum()
    L.backward()
    for name, x in zip("PqCd", leaves):
        assert x.grad is not None, f"no gradient for {name}"
        assert torch.isfinite(x.grad).all(), f"gradient of {name} is not finite: {x.grad}"


def test_degenerate_vertex_gradient_of_sum_z_wrt_d_is_consistent():
    # Σz = z1 + z2 with z pinned at the vertex: ∂Σz/∂d is an element of the
    # (set-valued) derivative; moving d1 and d2 together moves both coordinates.
    layer, leaves, z, mu = _solve("dense", {"lin_solver": "cod"})
    z.sum().backward()
    d_grad = leaves[3].grad.numpy()
    assert np.all(np.isfinite(d_grad))
    # Shifting all of d along C·(1,1) = (1, 1, 2) moves z by (1, 1): Σz grows by 2.
    np.testing.assert_allclose(d_grad @ np.array([1.0, 1.0, 2.0]), 2.0, atol=1e-6)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_degenerate_vertex_warns(storage):
    leaves, inputs = _vertex_problem(storage)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        z, lam, mu = dqp.QPLayer()(*inputs)
        z.sum().backward()
    messages = [str(w.message) for w in caught]
    assert any("degenera" in m.lower() for m in messages), f"no degeneracy warning among {messages}"


def test_non_degenerate_problem_is_not_flagged(qp_mixed):
    layer = dqp.QPLayer()
    layer(*(torch.tensor(qp_mixed[k]) for k in "PqCdAb"))
    assert layer.degenerate == [False]


def test_weakly_active_constraint_gives_finite_gradients():
    # z* = (1, 0) with constraint z2 ≤ 0 active and a zero dual (weakly active).
    P = torch.eye(2, dtype=torch.float64, requires_grad=True)
    q = torch.tensor([-1.0, 0.0], dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[0.0, 1.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    layer = dqp.QPLayer()
    z, lam, mu = layer(P, q, C, d)
    np.testing.assert_allclose(z.detach().numpy(), [1.0, 0.0], atol=1e-6)
    (z.sum() + mu.sum()).backward()
    for name, x in zip("PqCd", (P, q, C, d)):
        assert torch.isfinite(x.grad).all(), f"gradient of {name} is not finite: {x.grad}"
    assert layer.degenerate == [True]


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_linearly_dependent_equalities_give_finite_gradients_and_are_flagged(storage):
    # A = [[1, 1], [2, 2]], b = (1, 2): consistent but rank-deficient, K is singular.
    P = torch.eye(2, dtype=torch.float64, requires_grad=True)
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    A = torch.tensor([[1.0, 1.0], [2.0, 2.0]], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    Pi, Ai = (P.to_sparse_csc(), A.to_sparse_csc()) if storage == "sparse" else (P, A)
    layer = dqp.QPLayer()
    z, lam, mu = layer(Pi, q, None, None, Ai, b)
    np.testing.assert_allclose(z.detach().numpy(), [0.5, 0.5], atol=1e-6)
    # Stationarity z + Aᵀλ = 0 for whichever λ is returned.
    np.testing.assert_allclose(z.detach().numpy() + A.detach().numpy().T @ lam.detach().numpy(), 0.0, atol=1e-6)
    assert layer.degenerate == [True]
    (z.sum() + lam.sum()).backward()
    for name, x in zip("PqAb", (P, q, A, b)):
        assert x.grad is not None, f"no gradient for {name}"
        assert torch.isfinite(x.grad).all(), f"gradient of {name} is not finite: {x.grad}"


def _mpc_dir():
    """../shared/data/mpc_qpbenchmark beside the repository (or $DQP_MPC_DATA), as bench/mpc.py finds it."""
    import os
    from pathlib import Path
    if os.environ.get("DQP_MPC_DATA"):
        return Path(os.environ["DQP_MPC_DATA"])
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "mpc_qpbenchmark"
        if candidate.is_dir():
            return candidate
    return None


def _mpc_problem(name):
    """P, q, C, d, A, b of an MPC test-set problem, bounds as rows of C (bench/mpc.py's conversion)."""
    with np.load(_mpc_dir() / f"{name}.npz") as data:
        n = data["q"].shape[0]
        eye = np.eye(n)
        C, d = [data["G"]], [data["h"]]
        for key, sign in (("ub", 1.0), ("lb", -1.0)):
            finite = np.isfinite(data[key])
            C.append(sign * eye[finite])
            d.append(sign * data[key][finite])
        return data["P"], data["q"], np.vstack(C), np.concatenate(d), data["A"], data["b"]


def _gradient_of_random_loss(problem, storage, q=None):
    P, q0, C, d, A, b = (torch.tensor(x) for x in problem)
    q = (q0 if q is None else torch.tensor(q)).clone().requires_grad_(True)
    if storage == "sparse":
        P, C, A = (M.to_sparse_csc() for M in (P, C, A))
    layer = dqp.QPLayer()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z, _, _ = layer(P, q, C, d, A, b)
    w = torch.from_numpy(np.random.default_rng(0).standard_normal(q.shape[0]))
    (w @ z).backward()
    return z.detach().numpy(), q.grad.numpy(), w.numpy(), layer


@pytest.mark.skipif(_mpc_dir() is None, reason="MPC test set (../shared/data/mpc_qpbenchmark) not found")
@pytest.mark.parametrize("name", ["QUADCMPC3", "QUADCMPC4"])
def test_singular_mpc_problem_gets_the_minimum_norm_derivative_in_both_storages(name):
    # q = 0, P of rank 160 (n = 384), 192 equalities, no active inequality: the
    # solution set is a 98-dimensional face and K = [[P, Aᵀ], [A, 0]] is
    # singular with no exactly zero pivot. dqp's polished z is the
    # minimum-norm point of the face and ∇q the minimum-norm derivative
    # −(K⁺ [w; 0])_z, for dense and sparse storage alike (the sparse path used
    # to return the QR's basic solution: 2.3e8 against 5.8e6).
    problem = _mpc_problem(name)
    P, _, C, _, A, _ = problem
    n = P.shape[0]
    results = {storage: _gradient_of_random_loss(problem, storage) for storage in ("dense", "sparse")}
    for storage, (z, grad, w, layer) in results.items():
        solution = layer.last_solutions[0]
        assert layer.degenerate == [True], storage
        assert "singular reduced KKT" in solution.degenerate_reason, storage
        assert np.all(np.isfinite(grad)), storage
    active = [np.asarray(results[s][3].last_solutions[0].active, dtype=int) for s in ("dense", "sparse")]
    assert np.array_equal(*active)
    rows = np.vstack([A, C[active[0]]])
    K = np.block([[P, rows.T], [rows, np.zeros((rows.shape[0], rows.shape[0]))]])
    w = results["dense"][2]
    # K's singular values: 98 below 1e-16 of the largest, the rest above 1e-8.
    expected = -np.linalg.lstsq(K, np.concatenate([w, np.zeros(rows.shape[0])]), rcond=1e-12)[0][:n]
    for storage in ("dense", "sparse"):
        np.testing.assert_allclose(results[storage][1], expected, rtol=0, atol=1e-6 * np.abs(expected).max(),
                                   err_msg=storage)


@pytest.mark.skipif(_mpc_dir() is None, reason="MPC test set (../shared/data/mpc_qpbenchmark) not found")
def test_singular_mpc_problem_derivative_matches_central_differences_along_its_face():
    # On QUADCMPC3 the polished z is the minimum-norm solution of K x = (−q, b),
    # linear in q as long as q stays orthogonal to K's null space (otherwise
    # the face tilts and the solution jumps along it to a bound): central
    # differences along such a direction see exactly ∇q, and the gradient
    # there, 1e-6 away, is the same.
    problem = _mpc_problem("QUADCMPC3")
    P, q, _, _, A, _ = problem
    n = P.shape[0]
    z, grad, w, layer = _gradient_of_random_loss(problem, "dense")
    assert len(layer.last_solutions[0].active) == 0 and layer.last_solutions[0].polished
    K = np.block([[P, A.T], [A, np.zeros((A.shape[0], A.shape[0]))]])
    _, s, Vt = np.linalg.svd(K)
    null = Vt[s < 1e-12 * s[0]][:, :n]                        # z-parts of K's null space
    direction = np.random.default_rng(1).standard_normal(n)
    direction -= null.T @ (null @ direction)                  # null's rows are orthonormal
    direction /= np.linalg.norm(direction)
    step = 1e-8
    plus = _gradient_of_random_loss(problem, "dense", q + step * direction)
    minus = _gradient_of_random_loss(problem, "dense", q - step * direction)
    fd = (w @ plus[0] - w @ minus[0]) / (2 * step)
    assert abs(fd - grad @ direction) <= 1e-5 * abs(grad @ direction)
    moved = _gradient_of_random_loss(problem, "dense", q + 1e-6 * direction)
    np.testing.assert_allclose(moved[1], grad, rtol=0, atol=1e-6 * np.abs(grad).max())
