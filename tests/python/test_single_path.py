"""The single dense float64 problem takes a fast path (python/dqp/_single.py);
it must give exactly what the general batch path gives, and hand every input
it does not handle to the general path (same answers, same errors)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from conftest import make_qp, tensors


def _general(layer, P, q, C, d, A, b):
    """The same problem through the batch path: a batch of one."""
    batched = [None if t is None else t.unsqueeze(0) for t in (P, q, C, d, A, b)]
    z, lam, mu = layer(*batched)
    return z[0], lam[0], mu[0]


def _grads(outputs, inputs, weights):
    loss = sum((w * o).sum() for w, o in zip(weights, outputs))
    return torch.autograd.grad(loss, [t for t in inputs if t is not None], allow_unused=True)


@pytest.fixture
def fast_calls(monkeypatch):
    """Counts the calls the fast path answered (not handed to the general path)."""
    from dqp import _layer, _single
    answered = []

    def spy(*args):
        out = _single.solve_single_dense(*args)
        answered.append(out is not None)
        return out

    monkeypatch.setattr(_layer, "solve_single_dense", spy)
    return answered


@pytest.mark.parametrize("shape", [(6, 4, 2), (6, 5, 0), (6, 0, 3), (2, 0, 0)])
def test_single_path_equals_batch_path(shape, fast_calls):
    n, m, p = shape
    qp = make_qp(n, m, p, seed=11)
    inputs = tensors(qp)
    if m == 0:
        inputs[2] = inputs[3] = None
    if p == 0:
        inputs[4] = inputs[5] = None
    layer = dqp.QPLayer()
    fast = layer(*inputs)
    slow = _general(layer, *inputs)
    assert fast_calls == [True, False]
    rng = np.random.default_rng(0)
    weights = [torch.tensor(rng.standard_normal(o.shape)) for o in fast]
    for a, b in zip(fast, slow):
        assert a.shape == b.shape
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for ga, gb in zip(_grads(fast, inputs, weights), _grads(slow, inputs, weights)):
        torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fast[0].detach(), torch.tensor(qp["z"]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("used", [(0,), (1,), (2,), (1, 2)])
@pytest.mark.parametrize("create_graph", [False, True])
def test_fast_path_with_a_loss_of_some_outputs(used, create_graph, fast_calls):
    # Outputs the loss ignores reach backward as None (no zero tensors are
    # made): their zero gradient must still be that of the general path,
    # in the core's backward and in the recorded one (create_graph).
    qp = make_qp(6, 4, 2, seed=14)
    inputs = [torch.tensor(qp[k], requires_grad=True) for k in "PqCdAb"]
    layer = dqp.QPLayer()
    fast, slow = layer(*inputs), _general(layer, *inputs)
    assert fast_calls == [True, False]
    rng = np.random.default_rng(1)
    weights = [torch.tensor(rng.standard_normal(o.shape)) for o in fast]

    def grads(outputs):
        loss = sum((weights[i] * outputs[i]).sum() for i in used)
        return torch.autograd.grad(loss, inputs, allow_unused=True, create_graph=create_graph)

    for ga, gb in zip(grads(fast), grads(slow)):
        if gb is None:
            assert ga is None or not ga.abs().max() > 0
        else:
            torch.testing.assert_close(ga, gb, rtol=1e-10, atol=1e-10)
    assert any(g is not None and g.abs().max() > 0 for g in grads(fast))


@pytest.mark.parametrize("needs", ["q", "Cd", "PA", "b"])
def test_fast_path_with_some_inputs_needing_gradients(needs, fast_calls):
    # Only the tensors that require a gradient enter the autograd node: each
    # must get the general path's gradient, the others none.
    qp = make_qp(6, 4, 2, seed=12)
    inputs = [torch.tensor(qp[k], requires_grad=k in needs) for k in "PqCdAb"]
    layer = dqp.QPLayer()
    fast = layer(*inputs)
    slow = _general(layer, *inputs)
    assert fast_calls == [True, False]
    weights = [torch.full(o.shape, 0.5, dtype=torch.float64) for o in fast]
    wanted = [t for t in inputs if t.requires_grad]
    for ga, gb in zip(_grads(fast, wanted, weights), _grads(slow, wanted, weights)):
        torch.testing.assert_close(ga, gb, rtol=1e-12, atol=1e-12)
    assert all(t.grad is None for t in inputs)


def test_fast_path_failed_solve_gives_zero_gradients_to_the_given_inputs(fast_calls):
    # An infeasible problem with on_failure="warn": the outputs are NaN and
    # the gradient of every input that asked for one is zero.
    P = torch.eye(2, dtype=torch.float64)
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, -1.0], dtype=torch.float64, requires_grad=True)
    layer = dqp.QPLayer(on_failure="warn")
    with pytest.warns(RuntimeWarning):
        z, _, _ = layer(P, q, C, d)
    assert fast_calls == [True]
    assert torch.isnan(z).all()
    gq, gd = torch.autograd.grad(z.sum(), [q, d])
    assert torch.count_nonzero(gq) == 0 and torch.count_nonzero(gd) == 0


def test_seed_layer_keeps_the_leading_axis_on_the_fast_path():
    qp = make_qp(4, 3, 1, seed=3)
    P, q, C, d, A, b = tensors(qp)
    layer = dqp.dQP.dQP_layer(settings=dqp.dQP.build_settings(qp_solver="proxqp"))   # empty_batch=True
    z, lam, mu, _, _ = layer(P, q, C, d, A, b)
    assert z.shape == (1, 4) and lam.shape == (1, 1) and mu.shape == (1, 3)
    assert layer.nActive == len(qp["J"])


@pytest.mark.parametrize("variant", ["float32", "non_contiguous", "numpy", "no_grad"])
def test_inputs_outside_the_fast_path_still_solve(variant, fast_calls):
    qp = make_qp(5, 4, 1, seed=5)
    P, q, C, d, A, b = tensors(qp)
    expected = torch.tensor(qp["z"])
    if variant == "float32":
        P, q, C, d, A, b = (t.detach().float().requires_grad_() for t in (P, q, C, d, A, b))
    elif variant == "non_contiguous":
        C = torch.tensor(np.asfortranarray(qp["C"]), requires_grad=True)
        C = C.detach().t().contiguous().t().requires_grad_()
        assert not C.is_contiguous()
    elif variant == "numpy":
        P, C = qp["P"], qp["C"]
    layer = dqp.QPLayer()
    if variant == "no_grad":
        with torch.no_grad():
            z, lam, mu = layer(P, q, C, d, A, b)
        assert not z.requires_grad
    else:
        z, lam, mu = layer(P, q, C, d, A, b)
        z.sum().backward()
        assert q.grad is not None and torch.isfinite(q.grad).all()
    assert fast_calls == [variant in ("non_contiguous", "no_grad")]
    tol = 1e-4 if variant == "float32" else 1e-6
    torch.testing.assert_close(z.detach().double().reshape(-1), expected, rtol=tol, atol=tol)


def test_bad_input_on_the_fast_path_gets_the_general_error():
    qp = make_qp(4, 3, 0, seed=2)
    P, q, C, d = tensors(qp, "PqCd")
    with pytest.raises(ValueError, match="d must have shape"):
        dqp.QPLayer()(P, q, C, d[:2])
    bad = P.detach().clone()
    bad[0, 1] = float("nan")
    with pytest.raises(ValueError, match="P"):
        dqp.QPLayer()(bad, q, C, d)


def test_cached_views_see_in_place_changes_and_new_tensors(fast_calls):
    """Constant tensors' numpy views are reused across calls (python/dqp/_single.py): an in-place
    change, a resize or a new tensor must still reach the solver."""
    qp = make_qp(5, 4, 1, seed=21)
    P, q, C, d, A, b = tensors(qp, requires_grad=False)   # constants: the cached kind
    layer = dqp.QPLayer()
    first = layer(P, q, C, d, A, b)[0].clone()
    with torch.no_grad():
        d.mul_(0.5)                                   # in place: version counter moves
    changed = layer(P, q, C, d, A, b)[0]
    fresh = layer(P, q, C, d.clone(), A, b)[0]       # a new tensor, never cached
    assert not torch.allclose(first, changed)
    torch.testing.assert_close(changed, fresh, rtol=0, atol=0)
    d.data = torch.ones_like(d) * 2.0                 # new storage behind the same tensor
    torch.testing.assert_close(layer(P, q, C, d, A, b)[0], layer(P, q, C, d.clone(), A, b)[0], rtol=0, atol=0)
    assert all(fast_calls)


def test_dqp_layer_outputs_have_the_batch_axis_and_gradients(fast_calls):
    """The seed API's empty_batch outputs (1, n) come straight from the fast path, with gradients."""
    from dqp import dQP
    qp = make_qp(4, 3, 1, seed=22)
    P, q, C, d, A, b = tensors(qp)
    layer = dQP.dQP_layer(settings=dQP.build_settings())
    z, lam, mu, _, _ = layer(P, q, C, d, A, b)
    assert z.shape == (1, 4) and lam.shape == (1, 1) and mu.shape == (1, 3)
    (g,) = torch.autograd.grad(z.sum() + mu.sum(), [q])
    flat = dqp.QPLayer()(P, q, C, d, A, b)
    (g_flat,) = torch.autograd.grad(flat[0].sum() + flat[2].sum(), [q])
    torch.testing.assert_close(g, g_flat, rtol=0, atol=0)
    assert fast_calls == [True, True]


@pytest.mark.parametrize("case", ["single", "batch", "sparse batch"])
def test_constant_matrices_give_the_same_vector_gradients(case):
    # Constant P, C, A: the core computes only the vector gradients (no n x n
    # or m x n products); those must equal what a call that also
    # differentiates the matrices gives them.
    qp = make_qp(5, 4, 2, seed=13, sparse=case == "sparse batch")
    layer = dqp.QPLayer()
    batch = case != "single"

    def vector_grads(matrices_need_grad):
        P, C, A = (torch.tensor(qp[k], requires_grad=matrices_need_grad) for k in "PCA")
        if case == "sparse batch":
            P, C, A = (M.detach().to_sparse_coo().requires_grad_(matrices_need_grad) for M in (P, C, A))
        q, d, b = (torch.tensor(np.stack([qp[k], 1.1 * qp[k]]) if batch else qp[k], requires_grad=True)
                   for k in "qdb")
        z, lam, mu = layer(P, q, C, d, A, b)
        ((z ** 2).sum() + lam.sum() + (2 * mu).sum()).backward()
        assert (P.grad is not None) == matrices_need_grad
        return q.grad, d.grad, b.grad

    for part, full in zip(vector_grads(False), vector_grads(True)):
        assert part.abs().max() > 0
        torch.testing.assert_close(part, full, rtol=0, atol=0)


def test_core_backward_computes_only_the_wanted_gradients():
    qp = make_qp(5, 4, 2, seed=14)
    core = dqp.QPLayer().engine.core
    data = [np.ascontiguousarray(qp[k]) for k in "PqCdAb"]
    solution = core.forward_dense(*data)
    seeds = (np.ones(5), np.ones(2), np.ones(4))
    full = core.backward_dense(*data, solution, *seeds)
    part = core.backward_dense(*data, solution, *seeds, (False, True, False, True, False, False))
    assert [g is None for g in part] == [True, False, True, False, True, True]
    np.testing.assert_array_equal(part[1], full[1])
    np.testing.assert_array_equal(part[3], full[3])
