"""Every linear solver in dqp.available_linear_solvers(), on each storage it takes.

A solver added to the registry is picked up here without editing this file:
gradients against finite differences (inequalities and equalities, equality
only), the solver actually factoring K (no silent fallback), and a degenerate
vertex (singular K) with finite, flagged gradients.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp

from conftest import SparseBuilder, SymmetricSparseBuilder, gradcheck, make_qp, psd_from_free, tensor

_CASES = [
    pytest.param(name, storage, id=f"{name}-{storage}")
    for name, info in dqp.available_linear_solvers().items()
    for storage in ("dense", "sparse")
    if info[storage]
]


def _layer(name):
    return dqp.QPLayer(lin_solver=name)


# Unpivoted LDLᵀ in the given order: a zero pivot (a constraint row eliminated
# before its variables) hands over to a pivoted LU by design.
_HANDS_OVER_ON_ZERO_PIVOT = {"sparse_ldlt"}


def _check_used(layer, name):
    # On this regular problem the solver factors K itself, not a fallback.
    used = [s.linear_solver for s in layer.last_solutions]
    if name in _HANDS_OVER_ON_ZERO_PIVOT:
        assert used[0] == name or not dqp.available_linear_solvers()[used[0]]["least_squares"]
    else:
        assert used == [name]
    assert layer.degenerate == [False]


def _gradcheck_dense(name, qp, with_c, with_a):
    layer = _layer(name)

    def f(M, q, *rest):
        rest = list(rest)
        C, d = (rest.pop(0), rest.pop(0)) if with_c else (None, None)
        A, b = (rest.pop(0), rest.pop(0)) if with_a else (None, None)
        z, lam, mu = layer(psd_from_free(M), q, C, d, A, b)
        return z, lam, mu

    inputs = [tensor(qp["M"]), tensor(qp["q"])]
    if with_c:
        inputs += [tensor(qp["C"]), tensor(qp["d"])]
    if with_a:
        inputs += [tensor(qp["A"]), tensor(qp["b"])]
    assert gradcheck(f, inputs)
    _check_used(layer, name)


def _gradcheck_sparse(name, qp, with_c):
    layer = _layer(name)
    build_P = SymmetricSparseBuilder(qp["P"], "csc", seed=1)
    build_A = SparseBuilder(qp["A"], "csc", seed=3)
    build_C = SparseBuilder(qp["C"], "csc", seed=2) if with_c else None

    def f(p_free, q, a_vals, b, *rest):
        C, d = (build_C(rest[0]), rest[1]) if with_c else (None, None)
        return layer(build_P(p_free), q, C, d, build_A(a_vals), b)

    inputs = [build_P.free_values(), tensor(qp["q"]), build_A.values(), tensor(qp["b"])]
    if with_c:
        inputs += [build_C.values(), tensor(qp["d"])]
    assert gradcheck(f, inputs)
    _check_used(layer, name)


@pytest.mark.parametrize("name,storage", _CASES)
def test_gradients_match_finite_differences(name, storage):
    if storage == "dense":
        _gradcheck_dense(name, make_qp(6, 7, 2, seed=500, n_active=2), with_c=True, with_a=True)
    else:
        _gradcheck_sparse(name, make_qp(7, 6, 2, seed=501, n_active=2, sparse=True), with_c=True)


@pytest.mark.parametrize("name,storage", _CASES)
def test_equality_only_gradients_match_finite_differences(name, storage):
    if storage == "dense":
        _gradcheck_dense(name, make_qp(5, 0, 3, seed=502), with_c=False, with_a=True)
    else:
        _gradcheck_sparse(name, make_qp(6, 0, 3, seed=503, sparse=True), with_c=False)


@pytest.mark.filterwarnings("ignore:dqp. 1 problem.s. of this call are degenerate:RuntimeWarning")
@pytest.mark.parametrize("name,storage", _CASES)
def test_degenerate_vertex_gives_finite_flagged_gradients(name, storage):
    # Three active rows at a vertex of a 2-D problem: K is singular.
    P = torch.eye(2, dtype=torch.float64, requires_grad=True)
    q = torch.tensor([-2.0, -2.0], dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([1.0, 1.0, 2.0], dtype=torch.float64, requires_grad=True)
    layer = _layer(name)
    if storage == "sparse":
        z, lam, mu = layer(P.to_sparse_csc(), q, C.to_sparse_csc(), d)
    else:
        z, lam, mu = layer(P, q, C, d)
    np.testing.assert_allclose(z.detach().numpy(), [1.0, 1.0], atol=1e-6)
    assert layer.degenerate == [True]
    (z.sum() + mu.sum()).backward()
    for x in (P, q, C, d):
        assert x.grad is not None and torch.isfinite(x.grad).all()
