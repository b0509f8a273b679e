"""The seed README's worked example (REFERENCE.md §9) and the seed-compatible API.

    P = 2 I₂, q = 0, C = [[-1,-1],[-1,0],[0,-1]], d = (-1, 0, 0)
    z* = (½, ½), μ* = (1, 0, 0), active set {0}.

For the value loss L = ½zᵀPz + qᵀz the envelope theorem gives ∇P = ½zzᵀ,
∇q = z, ∇C = μzᵀ, ∇d = -μ. REFERENCE.md §9 also lists L = Σz and L = Σμ.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

P_ROWS, P_COLS = [0, 1], [0, 1]
C_ROWS, C_COLS = [0, 0, 1, 2], [0, 1, 0, 1]
Z_EXACT = np.array([0.5, 0.5])
MU_EXACT = np.array([1.0, 0.0, 0.0])

# Expected gradients as dense matrices / vectors (sparse tests read them at the stored entries).
EXPECTED = {
    "value": dict(P=0.5 * np.outer(Z_EXACT, Z_EXACT), q=Z_EXACT, C=np.outer(MU_EXACT, Z_EXACT), d=-MU_EXACT),
    "sum_z": dict(P=np.zeros((2, 2)), q=np.zeros(2), C=np.array([[0.5, 0.5], [0, 0], [0, 0]]),
                  d=np.array([-1.0, 0, 0])),
    "sum_mu": dict(P=np.full((2, 2), 0.25), q=np.array([0.5, 0.5]), C=np.array([[1.0, 1.0], [0, 0], [0, 0]]),
                   d=np.array([-1.0, 0, 0])),
}

SOLVERS = ["osqp", "proxqp"]


def _loss(kind, P_dense_fn, q, z, mu):
    if kind == "value":
        return 0.5 * z @ P_dense_fn(z) + q @ z
    if kind == "sum_z":
        return z.sum()
    return mu.sum()


def _run_sparse(qp_solver, loss, lin_solver="qdldl"):
    """The seed's sparse path: COO value vectors (the leaves) -> to_sparse_csc()."""
    vals_P = torch.tensor([2.0, 2.0], dtype=torch.float64, requires_grad=True)
    P = torch.sparse_coo_tensor(torch.tensor([P_ROWS, P_COLS]), vals_P, size=(2, 2))
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    vals_C = torch.tensor([-1.0, -1.0, -1.0, -1.0], dtype=torch.float64, requires_grad=True)
    C = torch.sparse_coo_tensor(torch.tensor([C_ROWS, C_COLS]), vals_C, size=(3, 2))
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    settings = dQP.build_settings(solve_type="sparse", qp_solver=qp_solver, lin_solver=lin_solver,
                                  empty_batch=False)
    layer = dQP.dQP_layer(settings=settings)
    z, lam, mu, t_solve, t_total = layer(P.to_sparse_csc(), q, C.to_sparse_csc(), d)
    L = _loss(loss, lambda v: torch.sparse.mm(P, v.unsqueeze(1)).squeeze(1), q, z, mu)
    L.backward()
    grads = dict(P=vals_P.grad.numpy(), q=q.grad.numpy(), C=vals_C.grad.numpy(), d=d.grad.numpy())
    return layer, z, lam, mu, grads


def _run_dense(qp_solver, loss, lin_solver=None, empty_batch=False):
    P = torch.tensor([[2.0, 0.0], [0.0, 2.0]], dtype=torch.float64, requires_grad=True)
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    settings = dQP.build_settings(solve_type="dense", qp_solver=qp_solver, lin_solver=lin_solver,
                                  empty_batch=empty_batch)
    layer = dQP.dQP_layer(settings=settings)
    z, lam, mu, _, _ = layer(P, q, C, d)
    zz, mm = (z[0], mu[0]) if empty_batch else (z, mu)
    L = _loss(loss, lambda v: P @ v, q, zz, mm)
    L.backward()
    grads = dict(P=P.grad.numpy(), q=q.grad.numpy(), C=C.grad.numpy(), d=d.grad.numpy())
    return layer, z, lam, mu, grads


@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_seed_example_sparse_value_loss_matches_envelope_theorem(qp_solver):
    layer, z, lam, mu, grads = _run_sparse(qp_solver, "value")
    np.testing.assert_allclose(z.detach().numpy(), Z_EXACT, atol=1e-6)
    np.testing.assert_allclose(mu.detach().numpy(), MU_EXACT, atol=1e-6)
    assert lam.numel() == 0
    assert layer.active.tolist() == [True, False, False]
    assert layer.nActive == 1
    exp = EXPECTED["value"]
    np.testing.assert_allclose(grads["P"], exp["P"][P_ROWS, P_COLS], atol=1e-6)
    np.testing.assert_allclose(grads["q"], exp["q"], atol=1e-6)
    np.testing.assert_allclose(grads["C"], exp["C"][C_ROWS, C_COLS], atol=1e-6)
    np.testing.assert_allclose(grads["d"], exp["d"], atol=1e-6)


@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_seed_example_dense_value_loss_matches_envelope_theorem(qp_solver):
    layer, z, lam, mu, grads = _run_dense(qp_solver, "value")
    np.testing.assert_allclose(z.detach().numpy(), Z_EXACT, atol=1e-6)
    np.testing.assert_allclose(mu.detach().numpy(), MU_EXACT, atol=1e-6)
    exp = EXPECTED["value"]
    for name in "PqCd":
        np.testing.assert_allclose(grads[name], exp[name], atol=1e-6, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("loss", ["sum_z", "sum_mu"])
@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_seed_example_sparse_other_losses_give_reference_gradients(qp_solver, loss):
    _, _, _, _, grads = _run_sparse(qp_solver, loss)
    exp = EXPECTED[loss]
    np.testing.assert_allclose(grads["P"], exp["P"][P_ROWS, P_COLS], atol=1e-6)
    np.testing.assert_allclose(grads["q"], exp["q"], atol=1e-6)
    np.testing.assert_allclose(grads["C"], exp["C"][C_ROWS, C_COLS], atol=1e-6)
    np.testing.assert_allclose(grads["d"], exp["d"], atol=1e-6)


@pytest.mark.parametrize("loss", ["sum_z", "sum_mu"])
@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_seed_example_dense_other_losses_give_reference_gradients(qp_solver, loss):
    _, _, _, _, grads = _run_dense(qp_solver, loss)
    exp = EXPECTED[loss]
    for name in "PqCd":
        np.testing.assert_allclose(grads[name], exp[name], atol=1e-6, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("lin_solver", ["scipy SPLU", "qdldl", "sparse_lu", "sparse_qr"])
def test_seed_example_sparse_gradients_same_for_every_sparse_lin_solver(lin_solver):
    _, _, _, _, grads = _run_sparse("proxqp", "value", lin_solver=lin_solver)
    exp = EXPECTED["value"]
    np.testing.assert_allclose(grads["C"], exp["C"][C_ROWS, C_COLS], atol=1e-6)
    np.testing.assert_allclose(grads["d"], exp["d"], atol=1e-6)


def test_seed_api_default_empty_batch_adds_leading_axis_of_one():
    layer, z, lam, mu, grads = _run_dense("proxqp", "value", empty_batch=True)
    assert layer.settings["empty_batch"] is True
    assert tuple(z.shape) == (1, 2)
    assert tuple(mu.shape) == (1, 3)
    assert tuple(lam.shape) == (1, 0)
    np.testing.assert_allclose(z.detach().numpy()[0], Z_EXACT, atol=1e-6)
    np.testing.assert_allclose(grads["C"], EXPECTED["value"]["C"], atol=1e-6)


def test_seed_api_build_settings_default_is_empty_batch_true():
    assert dQP.build_settings()["empty_batch"] is True
    layer = dQP.dQP_layer()
    P = torch.eye(2, dtype=torch.float64)
    z, lam, mu, t_solve, t_total = layer(P, torch.ones(2, dtype=torch.float64),
                                         -torch.eye(2, dtype=torch.float64), torch.zeros(2, dtype=torch.float64))
    assert tuple(z.shape) == (1, 2)
    assert t_solve is None and t_total is None


def test_seed_api_exposes_settings_as_layer_attributes():
    layer = dQP.dQP_layer(settings=dQP.build_settings(eps_active=1e-6, qp_solver="osqp"))
    assert layer.eps_active == 1e-6
    assert layer.qp_solver == "osqp"


def test_seed_api_time_true_returns_solve_and_total_times():
    settings = dQP.build_settings(time=True, empty_batch=False)
    layer = dQP.dQP_layer(settings=settings)
    P = 2 * torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64)
    z, lam, mu, t_solve, t_total = layer(P, torch.zeros(2, dtype=torch.float64), C, d)
    assert isinstance(t_solve, float) and isinstance(t_total, float)
    assert 0.0 <= t_solve <= t_total


@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_inactive_duals_are_exactly_zero(qp_solver):
    _, _, _, mu, _ = _run_dense(qp_solver, "value")
    assert mu[1].item() == 0.0 and mu[2].item() == 0.0


def test_stationarity_sign_convention_holds_with_equalities(qp_mixed):
    qp = qp_mixed
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in "PqCdAb")
    z, lam, mu = dqp.QPLayer()(P, q, C, d, A, b)
    z, lam, mu = z.numpy(), lam.numpy(), mu.numpy()
    # P z + q + Aᵀλ + Cᵀμ = 0 with μ ≥ 0: the generator's own (z*, λ*, μ*).
    np.testing.assert_allclose(z, qp["z"], atol=1e-8)
    np.testing.assert_allclose(lam, qp["lam"], atol=1e-8)
    np.testing.assert_allclose(mu, qp["mu"], atol=1e-8)
    assert np.all(mu >= 0)
    inactive = np.setdiff1d(np.arange(len(mu)), qp["J"])
    assert np.all(mu[inactive] == 0.0)


def test_loss_on_duals_with_empty_active_set_gives_zero_gradients():
    # REFERENCE W7: the seed had no gradient path for μ when no row is active.
    P = torch.eye(2, dtype=torch.float64, requires_grad=True)
    q = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[1.0, 0.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([5.0], dtype=torch.float64, requires_grad=True)
    layer = dqp.QPLayer()
    z, lam, mu = layer(P, q, C, d)
    assert layer.nActive == 0
    mu.sum().backward()
    for x in (P, q, C, d):
        assert torch.equal(x.grad, torch.zeros_like(x))


def test_eval_mode_gives_the_same_outputs_as_training_mode(qp_mixed):
    layer = dQP.dQP_layer()
    inputs = [torch.tensor(qp_mixed[k]) for k in "PqCdAb"]
    train = layer(*inputs)
    layer.eval()
    with torch.no_grad():
        evaluated = layer(*inputs)
    for a, b in zip(train[:3], evaluated[:3]):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("qp_solver", SOLVERS)
def test_warm_start_from_previous_gives_the_same_solution(qp_solver, qp_mixed):
    inputs = [torch.tensor(qp_mixed[k]) for k in "PqCdAb"]
    layer = dqp.QPLayer(qp_solver=qp_solver, warm_start_from_previous=True)
    z1, lam1, mu1 = layer(*inputs)
    z2, lam2, mu2 = layer(*inputs)
    torch.testing.assert_close(z1, z2, atol=1e-8, rtol=0)
    torch.testing.assert_close(mu1, mu2, atol=1e-8, rtol=0)
    np.testing.assert_allclose(z2.numpy(), qp_mixed["z"], atol=1e-8)
