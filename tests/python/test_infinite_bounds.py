"""Infinite bounds (issue 19, item 4): d_i = +inf drops row i (zero dual, zero
gradient, the answer of the problem without it); d_i = -inf is infeasible
with a clear message; NaN stays an error."""
import numpy as np
import pytest
import torch

import dqp
from conftest import make_qp

INF = float("inf")


def _with_infinite_rows(seed=2):
    qp = make_qp(4, 3, 1, seed=seed)
    rng = np.random.default_rng(seed)
    C = np.insert(qp["C"], [1, 3], rng.normal(size=(2, 4)), axis=0)   # rows 1 and 4 of the new C
    d = np.insert(qp["d"], [1, 3], INF)
    return qp, C, d, [1, 4]


@pytest.mark.parametrize("sparse", [False, True], ids=["dense", "sparse"])
@pytest.mark.parametrize("qp_solver", ["auto", "proxqp", "piqp", "daqp", "osqp"])
def test_plus_inf_rows_never_bind_and_get_zero_gradient(qp_solver, sparse):
    if sparse and qp_solver == "daqp":
        pytest.skip("daqp is a dense solver")
    qp, C, d, rows = _with_infinite_rows()
    P, q, A, b = (torch.tensor(qp[k], requires_grad=True) for k in "PqAb")
    C_t = torch.tensor(C, requires_grad=True)
    d_t = torch.tensor(d, requires_grad=True)
    P_in, C_in, A_in = (P.to_sparse_csc(), C_t.to_sparse_csc(), A.to_sparse_csc()) if sparse else (P, C_t, A)
    if sparse:
        P_in, C_in, A_in = (x.detach() for x in (P_in, C_in, A_in))
    layer = dqp.QPLayer(qp_solver=qp_solver)
    z, lam, mu = layer(P_in, q, C_in, d_t, A_in, b)
    np.testing.assert_allclose(z.detach().numpy(), qp["z"], atol=1e-6)
    assert (mu[rows] == 0).all()
    np.testing.assert_allclose(np.delete(mu.detach().numpy(), rows), qp["mu"], atol=1e-6)
    (z.sum() + mu.sum()).backward()
    assert torch.isfinite(d_t.grad).all() and (d_t.grad[rows] == 0).all()
    assert torch.isfinite(q.grad).all()
    if not sparse:
        assert (C_t.grad[rows] == 0).all()


def test_plus_inf_gradient_matches_the_problem_without_the_rows():
    qp, C, d, rows = _with_infinite_rows(5)
    q1 = torch.tensor(qp["q"], requires_grad=True)
    q2 = torch.tensor(qp["q"], requires_grad=True)
    P, A, b = (torch.tensor(qp[k]) for k in "PAb")
    z1, _, _ = dqp.QPLayer()(P, q1, torch.tensor(C), torch.tensor(d), A, b)
    z2, _, _ = dqp.QPLayer()(P, q2, torch.tensor(qp["C"]), torch.tensor(qp["d"]), A, b)
    weights = torch.arange(1.0, 5.0, dtype=torch.float64)
    (z1 @ weights).backward()
    (z2 @ weights).backward()
    torch.testing.assert_close(q1.grad, q2.grad, rtol=1e-8, atol=1e-10)


def test_plus_inf_in_one_batch_element_only():
    qp, C, d, rows = _with_infinite_rows(7)
    d_batch = torch.tensor(np.stack([d, np.where(np.isinf(d), 50.0, d)]))
    P, q, A, b = (torch.tensor(qp[k]) for k in "PqAb")
    z, _, mu = dqp.QPLayer()(P, q, torch.tensor(C), d_batch, A, b)
    torch.testing.assert_close(z[0], z[1], rtol=1e-7, atol=1e-8)      # 50 is far from binding


@pytest.mark.parametrize("batched", [False, True])
def test_minus_inf_is_primal_infeasible_with_a_clear_message(batched):
    qp, C, d, rows = _with_infinite_rows()
    d[rows[0]] = -INF
    P, q, A, b = (torch.tensor(qp[k]) for k in "PqAb")
    d_t = torch.tensor(d)
    if batched:
        d_t = torch.stack([torch.tensor(np.where(np.isinf(d), 1e3, d)), d_t])
    with pytest.raises(dqp.QPSolveError, match=r"primal_infeasible.*d\[1\] = -inf") as info:
        dqp.QPLayer()(P, q, torch.tensor(C), d_t, A, b)
    assert info.value.status == "primal_infeasible" and info.value.index == (1 if batched else 0)


def test_minus_inf_with_on_failure_nan():
    qp, C, d, rows = _with_infinite_rows()
    d[rows[1]] = -INF
    layer = dqp.QPLayer(on_failure="nan")
    with pytest.warns(RuntimeWarning, match="can never hold"):
        z, _, _ = layer(*(torch.tensor(qp[k]) for k in "Pq"), torch.tensor(C), torch.tensor(d),
                        *(torch.tensor(qp[k]) for k in "Ab"))
    assert layer.statuses == ["primal_infeasible"] and torch.isnan(z).all()


def test_nan_in_d_is_still_an_error():
    qp, C, d, rows = _with_infinite_rows()
    d[rows[0]] = np.nan
    with pytest.raises(ValueError, match="d contains NaN"):
        dqp.QPLayer()(*(torch.tensor(qp[k]) for k in "Pq"), torch.tensor(C), torch.tensor(d),
                      *(torch.tensor(qp[k]) for k in "Ab"))


def test_seed_layer_accepts_one_sided_bounds():
    # Box constraints written the usual way: lower bounds only.
    P = torch.eye(2, dtype=torch.float64)
    q = torch.tensor([1.0, -1.0], dtype=torch.float64)
    C = torch.cat([torch.eye(2), -torch.eye(2)]).double()
    d = torch.tensor([INF, INF, 0.0, 0.0], dtype=torch.float64)     # z >= 0, no upper bound
    z, _, mu, _, _ = dqp.dQP.dQP_layer(settings=dqp.dQP.build_settings(empty_batch=False))(P, q, C, d)
    torch.testing.assert_close(z, torch.tensor([0.0, 1.0], dtype=torch.float64), atol=1e-8, rtol=0)
    assert mu[0] == 0 and mu[1] == 0
