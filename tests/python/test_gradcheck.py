"""torch.autograd.gradcheck of (z, λ, μ) against central finite differences.

Problems are strictly convex, well conditioned and strictly complementary
(see conftest.make_qp), so the solution map is smooth at the test point. P is
parametrized as M Mᵀ + I by a free M (dense) or mirrored from its upper
triangle (sparse) so that every perturbation keeps it symmetric.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import SparseBuilder, SymmetricSparseBuilder, gradcheck, make_qp, psd_from_free, tensor


@pytest.mark.parametrize("seed", [100, 101, 102])
def test_gradcheck_dense_single_problem_with_inequalities_and_equalities(seed):
    qp = make_qp(5, 6, 2, seed=seed, n_active=2)
    layer = dqp.QPLayer()

    def f(M, q, C, d, A, b):
        return layer(psd_from_free(M), q, C, d, A, b)

    assert gradcheck(f, [tensor(qp[k]) for k in ("M", "q", "C", "d", "A", "b")])
    assert sorted(np.flatnonzero(layer.active)) == list(qp["J"])


def test_gradcheck_dense_single_problem_through_seed_api():
    qp = make_qp(4, 5, 1, seed=103, n_active=2)
    layer = dQP.dQP_layer(settings=dQP.build_settings())  # empty_batch=True: outputs are (1, k)

    def f(M, q, C, d, A, b):
        z, lam, mu, _, _ = layer(psd_from_free(M), q, C, d, A, b)
        return z, lam, mu

    assert gradcheck(f, [tensor(qp[k]) for k in ("M", "q", "C", "d", "A", "b")])


def test_gradcheck_dense_equality_only_problem_without_C(qp_eq):
    layer = dqp.QPLayer()

    def f(M, q, A, b):
        z, lam, mu = layer(psd_from_free(M), q, None, None, A, b)
        assert mu.shape[-1] == 0
        return z, lam

    assert gradcheck(f, [tensor(qp_eq[k]) for k in ("M", "q", "A", "b")])


def test_gradcheck_dense_inequality_only_problem_without_A(qp_ineq):
    layer = dqp.QPLayer()

    def f(M, q, C, d):
        z, lam, mu = layer(psd_from_free(M), q, C, d)
        assert lam.shape[-1] == 0
        return z, mu

    assert gradcheck(f, [tensor(qp_ineq[k]) for k in ("M", "q", "C", "d")])
    assert layer.nActive == 3


def test_gradcheck_dense_unconstrained_problem():
    qp = make_qp(4, 0, 0, seed=104)
    layer = dqp.QPLayer()

    def f(M, q):
        return layer(psd_from_free(M), q)[0]

    assert gradcheck(f, [tensor(qp["M"]), tensor(qp["q"])])


@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_gradcheck_sparse_inputs_through_values(layout, qp_sparse):
    qp = qp_sparse
    build_P = SymmetricSparseBuilder(qp["P"], layout, seed=1)
    build_C = SparseBuilder(qp["C"], layout, seed=2)
    build_A = SparseBuilder(qp["A"], layout, seed=3)
    layer = dqp.QPLayer()

    def f(p_free, q, c_vals, d, a_vals, b):
        return layer(build_P(p_free), q, build_C(c_vals), d, build_A(a_vals), b)

    inputs = [build_P.free_values(), tensor(qp["q"]), build_C.values(), tensor(qp["d"]),
              build_A.values(), tensor(qp["b"])]
    assert gradcheck(f, inputs)
    assert sorted(np.flatnonzero(layer.active)) == list(qp["J"])


def test_gradcheck_sparse_seed_api_solve_type_sparse(qp_sparse):
    qp = qp_sparse
    build_P = SymmetricSparseBuilder(qp["P"], "csc")
    build_C = SparseBuilder(qp["C"], "csc")
    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="sparse", lin_solver="qdldl", empty_batch=False))

    def f(p_free, q, c_vals, d):
        z, lam, mu, _, _ = layer(build_P(p_free), q, build_C(c_vals), d)
        return z, mu

    # Only the inequalities of qp_sparse: q must be recomputed without the equality term.
    q = -(qp["P"] @ qp["z"] + qp["C"].T @ qp["mu"])
    assert gradcheck(f, [build_P.free_values(), tensor(q), build_C.values(), tensor(qp["d"])])


def test_gradcheck_batched_dense(qp_batch):
    stacked, _ = qp_batch
    layer = dqp.QPLayer()

    def f(M, q, C, d, A, b):
        return layer(psd_from_free(M), q, C, d, A, b)

    assert gradcheck(f, [tensor(stacked[k]) for k in ("M", "q", "C", "d", "A", "b")])
    assert layer.active.shape == (3, 5)


def test_gradcheck_batched_with_broadcast_shared_P_and_C(qp_shared):
    problems = qp_shared
    layer = dqp.QPLayer()

    def f(M, q, C, d):
        return layer(psd_from_free(M), q, C, d)

    inputs = [tensor(problems[0]["M"]), tensor(np.stack([qp["q"] for qp in problems])),
              tensor(problems[0]["C"]), tensor(np.stack([qp["d"] for qp in problems]))]
    assert gradcheck(f, inputs)


def test_gradcheck_batched_sparse_list():
    problems = [make_qp(5, 4, 1, seed=110 + i, n_active=2, sparse=True) for i in range(2)]
    Pb = [SymmetricSparseBuilder(qp["P"], "csc") for qp in problems]
    Cb = [SparseBuilder(qp["C"], "coo", seed=i) for i, qp in enumerate(problems)]
    Ab = [SparseBuilder(qp["A"], "csr") for qp in problems]
    layer = dqp.QPLayer()

    def f(p0, p1, c0, c1, a0, a1, q, d, b):
        return layer([Pb[0](p0), Pb[1](p1)], q, [Cb[0](c0), Cb[1](c1)], d, [Ab[0](a0), Ab[1](a1)], b)

    inputs = [Pb[0].free_values(), Pb[1].free_values(), Cb[0].values(), Cb[1].values(),
              Ab[0].values(), Ab[1].values()]
    inputs += [tensor(np.stack([qp[k] for qp in problems])) for k in "qdb"]
    assert gradcheck(f, inputs)


@pytest.mark.parametrize("qp_solver", ["osqp", "proxqp"])
def test_gradcheck_dense_single_problem_per_forward_solver(qp_solver):
    qp = make_qp(4, 5, 1, seed=105, n_active=2)
    layer = dqp.QPLayer(qp_solver=qp_solver)

    def f(M, q, C, d, A, b):
        return layer(psd_from_free(M), q, C, d, A, b)

    assert gradcheck(f, [tensor(qp[k]) for k in ("M", "q", "C", "d", "A", "b")])
