"""torch.func on the layer: grad, vjp, jacrev, jacfwd and vmap, against the
batched call, a loop and central finite differences.

Problems come from conftest.make_qp: strictly complementary, so the active
set is fixed near the test point and the solution map is smooth there.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.func import grad, jacfwd, jacrev, vjp, vmap

import dqp

from conftest import make_qp

NAMES = ("P", "q", "C", "d", "A", "b")


def _inputs(qp, dtype=torch.float64):
    return [torch.tensor(qp[k], dtype=dtype) for k in NAMES]


def _central_jacobian(f, inputs, position, eps=1e-6):
    """d f / d inputs[position] by central differences; P perturbed symmetrically."""
    x = inputs[position]
    columns = []
    for k in range(x.numel()):
        step = torch.zeros(x.numel(), dtype=x.dtype)
        step[k] = eps
        step = step.reshape(x.shape)
        if position == 0:                               # keep P symmetric
            step = 0.5 * (step + step.T)
        plus = list(inputs)
        minus = list(inputs)
        plus[position], minus[position] = x + step, x - step
        columns.append((f(*plus) - f(*minus)) / (2 * eps))
    return torch.stack(columns, dim=-1).reshape(*f(*inputs).shape, *x.shape)


def _symmetrized(J):
    """A Jacobian in P seen on symmetric perturbations (P is symmetric by contract)."""
    return 0.5 * (J + J.transpose(-1, -2))


@pytest.mark.parametrize("position", range(6), ids=NAMES)
def test_jacfwd_jacrev_jacobian_and_finite_differences_agree_for_each_parameter(position):
    qp = make_qp(4, 5, 1, seed=300, n_active=2)
    inputs = _inputs(qp)
    layer = dqp.QPLayer()

    def z_of(*args):
        return layer(*args)[0]

    def f(x):
        args = list(inputs)
        args[position] = x
        return z_of(*args)

    x = inputs[position]
    J_rev = jacrev(f)(x)
    J_fwd = jacfwd(f)(x)
    J_auto = torch.autograd.functional.jacobian(f, x)
    J_fd = _central_jacobian(z_of, inputs, position)
    if position == 0:
        J_rev, J_fwd, J_auto = (_symmetrized(J) for J in (J_rev, J_fwd, J_auto))
    assert J_fd.abs().max() > 1e-3                      # a real derivative, not a trivial zero
    torch.testing.assert_close(J_rev, J_fd, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(J_fwd, J_rev, atol=1e-10, rtol=1e-9)
    torch.testing.assert_close(J_auto, J_rev, atol=1e-10, rtol=1e-9)


def test_grad_and_vjp_match_loss_backward():
    qp = make_qp(5, 6, 2, seed=301, n_active=2)
    inputs = _inputs(qp)
    layer = dqp.QPLayer()

    def loss(q, C):
        z, lam, mu = layer(inputs[0], q, C, *inputs[3:])
        return (z ** 2).sum() + (mu * torch.arange(6.0, dtype=torch.float64)).sum()

    gq, gC = grad(loss, argnums=(0, 1))(inputs[1], inputs[2])
    q, C = inputs[1].clone().requires_grad_(), inputs[2].clone().requires_grad_()
    loss(q, C).backward()
    torch.testing.assert_close(gq, q.grad, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(gC, C.grad, atol=1e-12, rtol=1e-10)

    out, pullback = vjp(lambda q: layer(inputs[0], q, *inputs[2:])[0], inputs[1])
    v = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
    (gq_vjp,) = pullback(v)
    q = inputs[1].clone().requires_grad_()
    (layer(inputs[0], q, *inputs[2:])[0] @ v).backward()
    torch.testing.assert_close(gq_vjp, q.grad, atol=1e-12, rtol=1e-10)


def test_vmap_with_shared_and_batched_parameters_matches_the_batched_call_and_a_loop():
    problems = [make_qp(4, 5, 1, seed=310 + i, n_active=2) for i in range(3)]
    first = problems[0]
    q = torch.tensor(np.stack([qp["q"] for qp in problems]))
    d = torch.tensor(np.stack([qp["d"] for qp in problems]))
    P, C, A, b = (torch.tensor(first[k]) for k in ("P", "C", "A", "b"))
    layer = dqp.QPLayer()

    mapped = vmap(lambda q, d: layer(P, q, C, d, A, b), in_dims=(0, 0))(q, d)
    batched = layer(P, q, C, d, A, b)
    for got, want in zip(mapped, batched):
        torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-10)
    for i in range(3):
        z, lam, mu = layer(P, q[i], C, d[i], A, b)
        torch.testing.assert_close(mapped[0][i], z, atol=1e-9, rtol=1e-8)
        torch.testing.assert_close(mapped[2][i], mu, atol=1e-9, rtol=1e-8)


def test_vmap_runs_one_batched_engine_call_not_a_python_loop(monkeypatch):
    qp = make_qp(4, 5, 0, seed=320, n_active=2)
    layer = dqp.QPLayer()
    calls = []
    original = layer.engine.forward_batch

    def counting(*args, **kwargs):
        calls.append(args[2])                            # the batch size of the call
        return original(*args, **kwargs)

    monkeypatch.setattr(layer.engine, "forward_batch", counting)
    Q = torch.tensor(qp["q"]) + 0.01 * torch.arange(8, dtype=torch.float64)[:, None]
    vmap(lambda q: layer(torch.tensor(qp["P"]), q, torch.tensor(qp["C"]), torch.tensor(qp["d"]))[0])(Q)
    assert calls == [8]


def test_nested_vmap_and_vmap_over_an_already_batched_call():
    problems = [make_qp(3, 4, 0, seed=330 + i, n_active=1) for i in range(6)]
    P, C = torch.tensor(problems[0]["P"]), torch.tensor(problems[0]["C"])
    q = torch.tensor(np.stack([qp["q"] for qp in problems])).reshape(2, 3, 3)
    d = torch.tensor(np.stack([qp["d"] for qp in problems])).reshape(2, 3, 4)
    layer = dqp.QPLayer()
    flat = layer(P, q.reshape(6, 3), C, d.reshape(6, 4))[0].reshape(2, 3, 3)

    nested = vmap(vmap(lambda q, d: layer(P, q, C, d)[0]))(q, d)
    torch.testing.assert_close(nested, flat, atol=1e-12, rtol=1e-10)
    over_batch = vmap(lambda q, d: layer(P, q, C, d)[0])(q, d)   # each call is itself a batch of 3
    torch.testing.assert_close(over_batch, flat, atol=1e-12, rtol=1e-10)
    # vmap of a batched call whose vmapped parameter is shared inside each call
    Ps = torch.stack([P, 2 * P])
    shared_q = vmap(lambda P: layer(P, q[0], C, d[0])[0])(Ps)
    for k in range(2):
        torch.testing.assert_close(shared_q[k], layer(Ps[k], q[0], C, d[0])[0], atol=1e-12, rtol=1e-10)


def test_per_sample_gradients_with_vmap_of_grad_match_a_loop():
    problems = [make_qp(4, 5, 1, seed=340 + i, n_active=2) for i in range(4)]
    P, C, A = (torch.tensor(problems[0][k]) for k in ("P", "C", "A"))
    q = torch.tensor(np.stack([qp["q"] for qp in problems]))
    d = torch.tensor(np.stack([qp["d"] for qp in problems]))
    b = torch.tensor(np.stack([qp["b"] for qp in problems]))
    layer = dqp.QPLayer()

    def loss(C, q, d, b):
        z, lam, mu = layer(P, q, C, d, A, b)
        return (z ** 3).sum() + lam.sum()

    per_sample = vmap(grad(loss), in_dims=(None, 0, 0, 0))(C, q, d, b)
    for i in range(4):
        Ci = C.clone().requires_grad_()
        loss(Ci, q[i], d[i], b[i]).backward()
        torch.testing.assert_close(per_sample[i], Ci.grad, atol=1e-10, rtol=1e-8)


def test_float32_inputs_under_torch_func():
    qp = make_qp(4, 5, 1, seed=350, n_active=2)
    inputs = _inputs(qp, torch.float32)
    layer = dqp.QPLayer()
    J = jacrev(lambda q: layer(inputs[0], q, *inputs[2:])[0])(inputs[1])
    J64 = jacrev(lambda q: layer(*[t.double() for t in (inputs[0],)], q, *[t.double() for t in inputs[2:]])[0])(
        inputs[1].double())
    assert J.dtype == torch.float32
    torch.testing.assert_close(J.double(), J64, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("transform", ["vmap", "grad", "jacfwd"])
def test_sparse_matrices_under_torch_func_raise_an_error_naming_the_transforms(transform):
    # torch.func cannot read sparse tensors at all (not even captured ones).
    qp = make_qp(4, 5, 0, seed=360, n_active=2, sparse=True)
    P, C = torch.tensor(qp["P"]).to_sparse_csc(), torch.tensor(qp["C"]).to_sparse_csc()
    d, q = torch.tensor(qp["d"]), torch.tensor(qp["q"])
    layer = dqp.QPLayer()
    f = {"vmap": vmap(lambda q: layer(P, q, C, d)[0]), "grad": grad(lambda q: layer(P, q, C, d)[0].sum()),
         "jacfwd": jacfwd(lambda q: layer(P, q, C, d)[0])}[transform]
    x = q.expand(3, 4).clone() if transform == "vmap" else q
    with pytest.raises(NotImplementedError, match="torch.func"):
        f(x)
