"""Batches: a batched call equals a Python loop over single problems (outputs
and gradients), unbatched parameters broadcast exactly like replicated ones,
and sparse batches are lists of sparse tensors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import SparseBuilder, make_qp, tensor, tensors

NAMES = "PqCdAb"


def _loss(z, lam, mu):
    """A loss touching every output with distinct weights."""
    wz = torch.linspace(1.0, 2.0, z.shape[-1], dtype=z.dtype)
    wm = torch.linspace(-1.0, 1.0, mu.shape[-1], dtype=mu.dtype)
    return (z * wz).sum() + (lam ** 2).sum() + (mu * wm).sum()


def _grads(xs):
    return [x.grad.clone() for x in xs]


@pytest.mark.parametrize("n_threads", [1, 2])
def test_batched_dense_equals_loop_over_single_problems(qp_batch, n_threads):
    stacked, problems = qp_batch
    layer = dqp.QPLayer(n_threads=n_threads)
    batched = tensors(stacked, NAMES)
    z, lam, mu = layer(*batched)
    assert z.shape == (3, 4) and lam.shape == (3, 1) and mu.shape == (3, 5)
    _loss(z, lam, mu).backward()
    for i, qp in enumerate(problems):
        single = tensors(qp, NAMES)
        zi, li, mi = dqp.QPLayer()(*single)
        _loss(zi, li, mi).backward()
        torch.testing.assert_close(zi, z[i], rtol=0, atol=1e-10)
        torch.testing.assert_close(li, lam[i], rtol=0, atol=1e-10)
        torch.testing.assert_close(mi, mu[i], rtol=0, atol=1e-10)
        for name, xs, xb in zip(NAMES, single, batched):
            torch.testing.assert_close(xs.grad, xb.grad[i], rtol=0, atol=1e-10, msg=f"gradient of {name}[{i}]")


def test_batched_active_mask_and_counts_per_problem(qp_batch):
    stacked, problems = qp_batch
    layer = dQP.dQP_layer(settings=dQP.build_settings())
    layer(*tensors(stacked, NAMES, requires_grad=False))
    assert layer.active.shape == (3, 5)
    for i, qp in enumerate(problems):
        assert list(np.flatnonzero(layer.active[i])) == list(qp["J"])
    assert list(layer.nActive) == [len(qp["J"]) for qp in problems]


def test_broadcast_shared_P_C_A_equals_replicated_inputs():
    first = make_qp(4, 5, 1, seed=30, n_active=2)
    problems = [first] + [make_qp(4, 5, 1, seed=31 + i, n_active=2, P=first["P"], C=first["C"], A=first["A"])
                          for i in range(2)]
    B = len(problems)
    layer = dqp.QPLayer()

    shared = [tensor(first["P"]), tensor(np.stack([qp["q"] for qp in problems])), tensor(first["C"]),
              tensor(np.stack([qp["d"] for qp in problems])), tensor(first["A"]),
              tensor(np.stack([qp["b"] for qp in problems]))]
    z, lam, mu = layer(*shared)
    _loss(z, lam, mu).backward()

    replicated = [tensor(np.stack([qp[k] for qp in problems])) for k in NAMES]
    z2, lam2, mu2 = layer(*replicated)
    _loss(z2, lam2, mu2).backward()

    torch.testing.assert_close(z, z2, rtol=0, atol=1e-10)
    torch.testing.assert_close(lam, lam2, rtol=0, atol=1e-10)
    torch.testing.assert_close(mu, mu2, rtol=0, atol=1e-10)
    for name, s, r in zip(NAMES, shared, replicated):
        expected = r.grad if name in "qdb" else r.grad.sum(0)
        assert s.grad.shape == s.shape, f"gradient of {name} must have the caller's shape"
        torch.testing.assert_close(s.grad, expected, rtol=0, atol=1e-10, msg=f"gradient of {name}")
    assert B == z.shape[0]


def test_broadcast_unbatched_q_with_batched_d_equals_replicated():
    first = make_qp(4, 5, 0, seed=40, n_active=2)
    # Same P, C, q; different d (slack rows shifted, active rows kept).
    ds = np.stack([first["d"] + np.where(np.isin(np.arange(5), first["J"]), 0.0, 0.1 * i) for i in range(3)])
    layer = dqp.QPLayer()
    P, q, C, d = tensor(first["P"]), tensor(first["q"]), tensor(first["C"]), tensor(ds)
    z, lam, mu = layer(P, q, C, d)
    _loss(z, lam, mu).backward()
    Pr, qr, Cr = (tensor(np.stack([first[k]] * 3)) for k in "PqC")
    dr = tensor(ds)
    z2, lam2, mu2 = layer(Pr, qr, Cr, dr)
    _loss(z2, lam2, mu2).backward()
    torch.testing.assert_close(z, z2, rtol=0, atol=1e-10)
    torch.testing.assert_close(q.grad, qr.grad.sum(0), rtol=0, atol=1e-10)
    torch.testing.assert_close(P.grad, Pr.grad.sum(0), rtol=0, atol=1e-10)
    torch.testing.assert_close(C.grad, Cr.grad.sum(0), rtol=0, atol=1e-10)
    torch.testing.assert_close(d.grad, dr.grad, rtol=0, atol=1e-10)


def test_batch_vectors_with_trailing_unit_axis_are_accepted(qp_batch):
    stacked, _ = qp_batch
    layer = dqp.QPLayer()
    P, C, A = (tensor(stacked[k]) for k in "PCA")
    q, d, b = (tensor(stacked[k][..., None]) for k in "qdb")
    z, lam, mu = layer(P, q, C, d, A, b)
    np.testing.assert_allclose(z.detach().numpy(), stacked["z"], atol=1e-8)
    z.sum().backward()
    assert q.grad.shape == q.shape and d.grad.shape == d.shape and b.grad.shape == b.shape


def test_batch_of_one_vectors_keep_the_axis_and_get_gradients_in_callers_shape(qp_mixed):
    # (1, k) vectors are a batch of one (the batch rule); columns (k, 1) are
    # errors (tests/python/test_batch_shapes.py).
    P, C, A = (tensor(qp_mixed[k]) for k in "PCA")
    q, d, b = (tensor(qp_mixed[k].reshape(1, -1)) for k in "qdb")
    z, lam, mu = dqp.QPLayer()(P, q, C, d, A, b)
    assert z.shape == (1, 5)
    _loss(z, lam, mu).backward()
    for x in (q, d, b):
        assert x.grad.shape == x.shape


def _sparse_problem_tensors(qp, layouts=("csc", "coo", "csr")):
    builders = [SparseBuilder(qp[k], layout, seed=7) for k, layout in zip("PCA", layouts)]
    values = [bld.values() for bld in builders]
    return builders, values


def test_batched_sparse_lists_equal_loop_over_single_problems():
    problems = [make_qp(5, 4, 1, seed=50 + i, n_active=2, sparse=True) for i in range(3)]
    layer = dqp.QPLayer()
    per = [_sparse_problem_tensors(qp) for qp in problems]
    mats = [[bld(v) for bld, v in zip(b, vals)] for b, vals in per]
    q, d, b = (tensor(np.stack([qp[k] for qp in problems])) for k in "qdb")
    z, lam, mu = layer([m[0] for m in mats], q, [m[1] for m in mats], d, [m[2] for m in mats], b)
    _loss(z, lam, mu).backward()
    for i, qp in enumerate(problems):
        builders, values = _sparse_problem_tensors(qp)
        qi, di, bi = (tensor(qp[k]) for k in "qdb")
        zi, li, mi = layer(builders[0](values[0]), qi, builders[1](values[1]), di, builders[2](values[2]), bi)
        _loss(zi, li, mi).backward()
        torch.testing.assert_close(zi, z[i], rtol=0, atol=1e-10)
        torch.testing.assert_close(mi, mu[i], rtol=0, atol=1e-10)
        for name, single, batched in zip("PCA", values, per[i][1]):
            torch.testing.assert_close(single.grad, batched.grad, rtol=0, atol=1e-10, msg=f"gradient of {name}[{i}]")
        for name, single, batched in zip("qdb", (qi, di, bi), (q, d, b)):
            torch.testing.assert_close(single.grad, batched.grad[i], rtol=0, atol=1e-10, msg=f"gradient of {name}[{i}]")


def test_sparse_shared_matrices_broadcast_equal_replicated_list():
    first = make_qp(5, 4, 0, seed=60, n_active=2, sparse=True)
    problems = [first] + [make_qp(5, 4, 0, seed=61 + i, n_active=2, P=first["P"], C=first["C"]) for i in range(2)]
    layer = dqp.QPLayer()
    bP, bC = SparseBuilder(first["P"], "csc"), SparseBuilder(first["C"], "csc")
    vP, vC = bP.values(), bC.values()
    q, d = (tensor(np.stack([qp[k] for qp in problems])) for k in "qd")
    z, lam, mu = layer(bP(vP), q, bC(vC), d)
    _loss(z, lam, mu).backward()

    vPs = [bP.values() for _ in problems]
    vCs = [bC.values() for _ in problems]
    q2, d2 = (tensor(np.stack([qp[k] for qp in problems])) for k in "qd")
    z2, lam2, mu2 = layer([bP(v) for v in vPs], q2, [bC(v) for v in vCs], d2)
    _loss(z2, lam2, mu2).backward()
    torch.testing.assert_close(z, z2, rtol=0, atol=1e-10)
    torch.testing.assert_close(vP.grad, sum(v.grad for v in vPs), rtol=0, atol=1e-10)
    torch.testing.assert_close(vC.grad, sum(v.grad for v in vCs), rtol=0, atol=1e-10)
    torch.testing.assert_close(q.grad, q2.grad, rtol=0, atol=1e-10)


def test_batch_with_identical_active_sets_but_different_P_equals_loop():
    # A factorization shared across the batch would only be valid for a shared P.
    base = make_qp(4, 5, 0, seed=70, n_active=2)
    rng = np.random.default_rng(71)
    Ps, qs = [], []
    for _ in range(3):
        M = rng.standard_normal((4, 4))
        P = M @ M.T + np.eye(4)
        Ps.append(P)
        qs.append(-(P @ base["z"] + base["C"].T @ base["mu"]))
    layer = dqp.QPLayer(n_threads=2)
    P, q, C, d = tensor(np.stack(Ps)), tensor(np.stack(qs)), tensor(base["C"]), tensor(base["d"])
    z, lam, mu = layer(P, q, C, d)
    assert (layer.active == layer.active[0]).all()
    _loss(z, lam, mu).backward()
    for i in range(3):
        Pi, qi, Ci, di = tensor(Ps[i]), tensor(qs[i]), tensor(base["C"]), tensor(base["d"])
        zi, li, mi = dqp.QPLayer()(Pi, qi, Ci, di)
        _loss(zi, li, mi).backward()
        torch.testing.assert_close(zi, z[i], atol=1e-10, rtol=0)
        torch.testing.assert_close(Pi.grad, P.grad[i], atol=1e-10, rtol=0)
        torch.testing.assert_close(qi.grad, q.grad[i], atol=1e-10, rtol=0)


@pytest.mark.parametrize("options", [dict(omp_parallel=True, n_cpu=2), dict(qp_solver="osqp", n_threads=2),
                                     dict(dual_available=False, n_threads=2)])
def test_parallel_batch_options_equal_serial(qp_batch, options):
    stacked, _ = qp_batch
    xs = tensors(stacked, NAMES)
    z, lam, mu = dqp.QPLayer(**options)(*xs)
    _loss(z, lam, mu).backward()
    ys = tensors(stacked, NAMES)
    z2, lam2, mu2 = dqp.QPLayer()(*ys)
    _loss(z2, lam2, mu2).backward()
    torch.testing.assert_close(z, z2, atol=1e-8, rtol=0)
    torch.testing.assert_close(mu, mu2, atol=1e-8, rtol=0)
    for x, y in zip(xs, ys):
        torch.testing.assert_close(x.grad, y.grad, atol=1e-8, rtol=0)


def test_leading_batch_of_one_keeps_its_axis_whatever_empty_batch(qp_mixed):
    for layer in (dqp.QPLayer(), dqp.QPLayer(empty_batch=True)):
        z, lam, mu = layer(*(tensor(qp_mixed[k][None], requires_grad=False) for k in NAMES))
        assert z.shape == (1, 5) and lam.shape == (1, 2) and mu.shape == (1, 6)


def _same_active_set_problems(base, count, seed):
    """Problems sharing P, C and the active set of ``base``, with different z*, μ* (so q, d differ)."""
    rng = np.random.default_rng(seed)
    J = base["J"]
    out = []
    for _ in range(count):
        z = rng.standard_normal(base["P"].shape[0])
        mu = np.zeros(base["C"].shape[0])
        mu[J] = rng.uniform(0.5, 1.5, J.size)
        slack = np.where(np.isin(np.arange(mu.size), J), 0.0, rng.uniform(0.5, 1.5, mu.size))
        out.append(dict(base, z=z, mu=mu, d=base["C"] @ z + slack, q=-(base["P"] @ z + base["C"].T @ mu)))
    return out


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_shared_matrices_and_identical_active_sets_equal_loop(storage):
    # The case where one factorization of K can serve the whole batch.
    base = make_qp(5, 6, 0, seed=72, n_active=2, sparse=(storage == "sparse"))
    problems = _same_active_set_problems(base, 4, seed=73)
    conv = (lambda x: x.to_sparse_csc()) if storage == "sparse" else (lambda x: x)
    P, C = tensor(base["P"], requires_grad=False), tensor(base["C"], requires_grad=False)
    q, d = (tensor(np.stack([qp[k] for qp in problems])) for k in "qd")
    layer = dqp.QPLayer(n_threads=2)
    z, lam, mu = layer(conv(P), q, conv(C), d)
    assert (layer.active == layer.active[0]).all()
    _loss(z, lam, mu).backward()
    for i, qp in enumerate(problems):
        np.testing.assert_allclose(z[i].detach().numpy(), qp["z"], atol=1e-8)
        np.testing.assert_allclose(mu[i].detach().numpy(), qp["mu"], atol=1e-8)
        qi, di = tensor(qp["q"]), tensor(qp["d"])
        zi, li, mi = dqp.QPLayer()(conv(P), qi, conv(C), di)
        _loss(zi, li, mi).backward()
        torch.testing.assert_close(qi.grad, q.grad[i], atol=1e-10, rtol=0)
        torch.testing.assert_close(di.grad, d.grad[i], atol=1e-10, rtol=0)


def test_sparse_list_same_pattern_different_values_same_active_set_equals_loop():
    # Same sparsity pattern and active set, but different P values: K differs per problem.
    base = make_qp(5, 4, 0, seed=74, n_active=2, sparse=True)
    rng = np.random.default_rng(75)
    problems = []
    for _ in range(3):
        P = base["P"].copy()
        P[np.nonzero(P)] *= 1.0 + 0.3 * rng.random()
        problems.append(dict(base, P=P, q=-(P @ base["z"] + base["C"].T @ base["mu"])))
    builders = [SparseBuilder(qp["P"], "csc") for qp in problems]
    values = [bld.values() for bld in builders]
    q = tensor(np.stack([qp["q"] for qp in problems]))
    C, d = tensor(base["C"], requires_grad=False).to_sparse_csc(), tensor(base["d"])
    layer = dqp.QPLayer(n_threads=2)
    z, lam, mu = layer([bld(v) for bld, v in zip(builders, values)], q, C, d)
    assert (layer.active == layer.active[0]).all()
    _loss(z, lam, mu).backward()
    for i, qp in enumerate(problems):
        vi = builders[i].values()
        qi = tensor(qp["q"])
        zi, li, mi = dqp.QPLayer()(builders[i](vi), qi, C, tensor(base["d"]))
        _loss(zi, li, mi).backward()
        torch.testing.assert_close(zi, z[i], atol=1e-10, rtol=0)
        torch.testing.assert_close(vi.grad, values[i].grad, atol=1e-10, rtol=0)
        torch.testing.assert_close(qi.grad, q.grad[i], atol=1e-10, rtol=0)
