"""Second derivatives through the layer: the recorded backward
(create_graph=True) is torch operations around the KKT solve, so Hessians,
Hessian-vector products and gradgradcheck are right on the active set."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import make_qp, psd_from_free, tensor

NAMES = ("P", "q", "C", "d", "A", "b")


def _seed_problem():
    P = 2.0 * torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64)
    return P, torch.zeros(2, dtype=torch.float64), C, d


@pytest.mark.parametrize("empty_batch", [False, True])
def test_hessian_of_the_seed_examples_optimal_value_is_the_closed_form(empty_batch):
    P, q, C, d = _seed_problem()
    layer = dQP.dQP_layer(settings=dQP.build_settings(empty_batch=empty_batch))

    def value(q):
        z = layer(P, q, C, d)[0].reshape(-1)
        return 0.5 * z @ P @ z + q @ z

    H = torch.autograd.functional.hessian(value, q)
    closed = torch.tensor([[-0.25, 0.25], [0.25, -0.25]], dtype=torch.float64)
    torch.testing.assert_close(H, closed, atol=1e-9, rtol=0)
    torch.testing.assert_close(torch.func.hessian(value)(q), closed, atol=1e-9, rtol=0)


def test_hessian_of_the_seed_examples_optimal_value_with_sparse_inputs():
    P, q, C, d = _seed_problem()
    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="sparse", empty_batch=False))
    Ps, Cs = P.to_sparse_csc(), C.to_sparse_csc()

    def value(q):
        z = layer(Ps, q, Cs, d)[0]
        return 0.5 * z @ P @ z + q @ z

    H = torch.autograd.functional.hessian(value, q)
    torch.testing.assert_close(H, torch.tensor([[-0.25, 0.25], [0.25, -0.25]], dtype=torch.float64), atol=1e-9,
                               rtol=0)


def test_second_derivatives_in_sparse_values_raise_instead_of_returning_zeros():
    # torch returns a zero Hessian through sparse tensor construction; dqp refuses.
    qp = make_qp(5, 4, 1, seed=505, n_active=2, sparse=True)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    Cs = C.to_sparse_coo().coalesce()
    values = Cs.values().clone().requires_grad_()
    C_sparse = torch.sparse_coo_tensor(Cs.indices(), values, C.shape)
    z = layer(P.to_sparse_csc(), q, C_sparse, d, A.to_sparse_csc(), b)[0]
    with pytest.raises(NotImplementedError, match="second derivatives"):
        torch.autograd.grad(z.pow(2).sum(), values, create_graph=True)
    z = layer(P.to_sparse_csc(), q, C_sparse, d, A.to_sparse_csc(), b)[0]
    (g,) = torch.autograd.grad(z.pow(2).sum(), values)        # first order is fine
    assert g.abs().max() > 1e-3


def test_sparse_hessian_in_d_matches_the_dense_one():
    qp = make_qp(5, 4, 1, seed=506, n_active=2, sparse=True)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    sparse = (P.to_sparse_csc(), C.to_sparse_csc(), A.to_sparse_csc())

    def loss(d, P, C, A):
        return layer(P, q, C, d, A, b)[0].pow(3).sum()

    H_sparse = torch.autograd.functional.hessian(lambda d: loss(d, *sparse), d)
    H_dense = torch.autograd.functional.hessian(lambda d: loss(d, P, C, A), d)
    assert H_dense.abs().max() > 1e-3
    torch.testing.assert_close(H_sparse, H_dense, atol=1e-9, rtol=1e-8)


@pytest.mark.parametrize("batch", [None, 2], ids=["single", "batch"])
def test_hessian_of_a_random_loss_matches_finite_differences_of_the_gradient(batch):
    problems = [make_qp(4, 5, 1, seed=500 + i, n_active=2) for i in range(batch or 1)]
    stack = (lambda k: torch.tensor(problems[0][k])) if batch is None else (
        lambda k: torch.tensor(np.stack([qp[k] for qp in problems])))
    P, q, C, d, A, b = (stack(k) for k in NAMES)
    layer = dqp.QPLayer()
    weights = torch.linspace(0.5, 2.0, 4, dtype=torch.float64)

    def loss(q):
        z, lam, mu = layer(P, q, C, d, A, b)
        return (weights * z ** 2).sum() + (z.sum(-1) * mu.sum(-1)).sum()

    def gradient(q):
        q = q.detach().requires_grad_()
        return torch.autograd.grad(loss(q), q)[0]

    H = torch.autograd.functional.hessian(loss, q)
    eps = 1e-6
    flat = q.reshape(-1)
    rows = []
    for k in range(flat.numel()):
        step = torch.zeros_like(flat)
        step[k] = eps
        rows.append(((gradient((flat + step).reshape(q.shape)) - gradient((flat - step).reshape(q.shape)))
                     / (2 * eps)).reshape(-1))
    H_fd = torch.stack(rows).reshape(H.shape)
    assert H_fd.abs().max() > 1e-2
    torch.testing.assert_close(H, H_fd, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(torch.func.hessian(loss)(q), H, atol=1e-10, rtol=1e-9)   # jacfwd of jacrev


def test_create_graph_gradient_has_a_graph_and_the_hvp_matches_finite_differences():
    qp = make_qp(5, 6, 2, seed=510, n_active=2)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    v = torch.linspace(-1.0, 1.0, 6, dtype=torch.float64).reshape(6, 1) * torch.ones(6, 5, dtype=torch.float64)

    def gradient_C(C):
        C = C.detach().requires_grad_()
        z = layer(P, q, C, d, A, b)[0]
        return torch.autograd.grad(z.pow(2).sum(), C, create_graph=True)[0], C

    g, leaf = gradient_C(C)
    assert g.grad_fn is not None
    (hvp,) = torch.autograd.grad((g * v).sum(), leaf)
    eps = 1e-6
    fd = (gradient_C(C + eps * v)[0] - gradient_C(C - eps * v)[0]).detach() / (2 * eps)
    assert fd.abs().max() > 1e-3
    torch.testing.assert_close(hvp, fd, atol=1e-6, rtol=1e-5)


def test_the_issue_example_hessian_is_two_jt_j_not_zero():
    qp = make_qp(4, 5, 1, seed=520, n_active=2)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    H = torch.autograd.functional.hessian(lambda q: layer(P, q, C, d, A, b)[0].pow(2).sum(), q)
    J = torch.autograd.functional.jacobian(lambda q: layer(P, q, C, d, A, b)[0], q)
    # z is affine in q on a fixed active set, so the Hessian of ‖z‖² is 2 JᵀJ.
    torch.testing.assert_close(H, 2 * J.T @ J, atol=1e-10, rtol=1e-9)
    assert H.abs().max() > 1e-2


def test_gradgradcheck_on_small_dense_problems():
    qp = make_qp(3, 4, 1, seed=530, n_active=1)
    layer = dqp.QPLayer()

    def f(M, q, C, d, A, b):
        return layer(psd_from_free(M), q, C, d, A, b)

    inputs = tuple(tensor(qp[k]) for k in ("M", "q", "C", "d", "A", "b"))
    assert torch.autograd.gradgradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_gradgradcheck_on_a_batch_with_shared_matrices():
    problems = [make_qp(3, 4, 0, seed=540 + i, n_active=1) for i in range(2)]
    M = tensor(problems[0]["M"])
    P = psd_from_free(M).detach().numpy()
    problems = [problems[0]] + [make_qp(3, 4, 0, seed=542, n_active=1, P=P, C=problems[0]["C"])]
    layer = dqp.QPLayer()

    def f(M, q, C, d):
        return layer(psd_from_free(M), q, C, d)

    q = tensor(np.stack([qp["q"] for qp in problems]))
    d = tensor(np.stack([qp["d"] for qp in problems]))
    assert torch.autograd.gradgradcheck(f, (M, q, tensor(problems[0]["C"]), d), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("batch", [None, 3], ids=["single", "batch"])
def test_recorded_and_plain_backward_agree(batch):
    problems = [make_qp(5, 6, 2, seed=550 + i, n_active=2) for i in range(batch or 1)]
    stack = (lambda k: torch.tensor(problems[0][k])) if batch is None else (
        lambda k: torch.tensor(np.stack([qp[k] for qp in problems])))
    layer = dqp.QPLayer()
    grads = []
    for create_graph in (False, True):
        inputs = [stack(k).requires_grad_() for k in NAMES]
        z, lam, mu = layer(*inputs)
        loss = z.pow(2).sum() + lam.sum() + (mu * mu).sum()
        grads.append(torch.autograd.grad(loss, inputs, create_graph=create_graph))
    for plain, recorded in zip(*grads):
        torch.testing.assert_close(recorded, plain, atol=1e-12, rtol=1e-10)


def test_float32_hessian():
    P, q, C, d = _seed_problem()
    layer = dqp.QPLayer()
    H = torch.autograd.functional.hessian(lambda q: layer(P.float(), q, C.float(), d.float())[0].pow(2).sum(),
                                          q.float())
    assert H.dtype == torch.float32
    J = torch.tensor([[-0.25, 0.25], [0.25, -0.25]])    # dz/dq of the seed problem (closed form)
    torch.testing.assert_close(H, 2 * J.T @ J, atol=1e-5, rtol=1e-5)
