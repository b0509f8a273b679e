"""A non-convex P (issue 19, item 2) is never returned as "optimal": every
native solver, dense and sparse, reports status "non_convex" by default."""
import pytest
import torch

import dqp
from dqp import _core

NATIVE = _core.native_solvers()          # name -> capabilities
CASES = [(name, sparse) for name in ["auto"] + sorted(NATIVE) for sparse in (False, True)
         if name == "auto" or NATIVE[name]["sparse" if sparse else "dense"]]


def _saddle(sparse):
    """P = diag(1, -1, 1), z >= 0: unbounded below; the old default answer was
    the saddle z = (0, 0.757, 0.2) with status "optimal"."""
    P = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))
    q = torch.tensor([0.3, -0.2, -0.2], dtype=torch.float64)
    C = -torch.eye(3, dtype=torch.float64)
    d = torch.zeros(3, dtype=torch.float64)
    if sparse:
        P, C = P.to_sparse_csc(), C.to_sparse_csc()
    return P, q, C, d


@pytest.mark.parametrize("qp_solver, sparse", CASES, ids=[f"{n}-{'sparse' if s else 'dense'}" for n, s in CASES])
def test_non_convex_P_is_never_optimal(qp_solver, sparse):
    layer = dqp.QPLayer(qp_solver=qp_solver, on_failure="nan")
    with pytest.warns(RuntimeWarning, match="non_convex"):
        z, _, _ = layer(*_saddle(sparse))
    assert layer.statuses == ["non_convex"]
    assert torch.isnan(z).all()


def test_non_convex_raises_by_default_with_a_clear_message():
    with pytest.raises(dqp.QPSolveError, match="P has negative curvature.*non_convex.*check_PSD") as info:
        dqp.QPLayer()(*_saddle(False))
    assert info.value.status == "non_convex"


def test_non_convex_batch_element_fails_alone():
    P, q, C, d = _saddle(False)
    Ps = torch.stack([torch.eye(3, dtype=torch.float64), P])
    layer = dqp.QPLayer(on_failure="nan")
    with pytest.warns(RuntimeWarning, match="problem 1 of the batch: P has negative curvature"):
        z, _, _ = layer(Ps, q, C, d)
    assert layer.statuses == ["optimal", "non_convex"]
    assert torch.isfinite(z[0]).all()


def test_numpy_solve_reports_non_convex():
    P, q, C, d = (t.numpy() for t in _saddle(False))
    assert dqp.solve(P, q, C, d).status == "non_convex"


def test_convex_singular_P_is_not_flagged():
    P = torch.zeros(2, 2, dtype=torch.float64)          # a linear program
    q = torch.tensor([1.0, 2.0], dtype=torch.float64)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64)
    z, _, _ = dqp.QPLayer()(P, q, C, d)
    torch.testing.assert_close(z, torch.tensor([1.0, 0.0], dtype=torch.float64), atol=1e-7, rtol=0)
