"""Storage-aware ``auto``: dense inputs solved and differentiated on the sparse path.

``storage="sparse"`` sends any dense input there (what ``auto`` does for large,
mostly-zero ones), so the equivalence is tested on small problems, fast; the
rule itself on one problem just past its size threshold. Outputs and all six
gradients must equal the dense path's, and the gradient in P, C, A stays dense
(every entry, not only the non-zeros').
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp

from conftest import make_qp, tensors


def _sparse_rows(rows, cols, per_row, seed):
    """A matrix with `per_row` random non-zeros in each row."""
    rng = np.random.default_rng(seed)
    M = np.zeros((rows, cols))
    for i in range(rows):
        M[i, rng.choice(cols, per_row, replace=False)] = rng.standard_normal(per_row)
    return M


def _mostly_zeros(n, seed):
    """Tridiagonal P, two non-zeros per row of C and A: 2.7 per row of [P; C; A]."""
    m, p = n // 2, n // 6
    return make_qp(n, m, p, seed=seed, n_active=n // 5, sparse=True,
                   C=_sparse_rows(m, n, 2, seed + 1), A=_sparse_rows(p, n, 2, seed + 2))


def _loss(z, lam, mu):
    wz = torch.linspace(1.0, -1.0, z.shape[-1], dtype=z.dtype)
    wl = torch.linspace(0.2, 0.7, lam.shape[-1], dtype=lam.dtype)
    wm = torch.linspace(0.5, 2.0, mu.shape[-1], dtype=mu.dtype)
    return (z * wz).sum() + (lam * wl).sum() + (mu * wm).sum()


def _solve(storage, inputs, **options):
    leaves = [x.detach().clone().requires_grad_() for x in inputs]
    layer = dqp.QPLayer(storage=storage, **options)
    z, lam, mu = layer(*leaves)
    _loss(z, lam, mu).backward()
    return layer, (z.detach(), lam.detach(), mu.detach()), [x.grad for x in leaves]


def _assert_same(a, b, atol):
    (outputs_a, grads_a), (outputs_b, grads_b) = a, b
    for name, x, y in zip(("z", "lam", "mu"), outputs_a, outputs_b):
        torch.testing.assert_close(x, y, atol=atol, rtol=0, msg=f"{name} differs between the paths")
    for name, x, y in zip("PqCdAb", grads_a, grads_b):
        assert x.layout == torch.strided and x.shape == y.shape, f"gradient of {name}: {x.layout} {x.shape}"
        torch.testing.assert_close(x, y, atol=atol, rtol=0, msg=f"gradient of {name} differs between the paths")


def test_sparse_path_gives_the_dense_paths_outputs_and_all_six_gradients():
    qp = _mostly_zeros(24, seed=0)
    inputs = tensors(qp, requires_grad=False)
    dense_layer, *dense = _solve("input", inputs)
    sparse_layer, *sparse = _solve("sparse", inputs)
    assert dense_layer.storages == ["dense"] and sparse_layer.storages == ["sparse"]
    assert sparse_layer.last_solutions[0].storage == "sparse"
    assert "storage=sparse" in repr(sparse_layer.last_solutions[0])
    _assert_same(sparse, dense, atol=1e-9)
    # Dense gradients, not the pattern's: P's gradient has entries where P is zero.
    grad_P = sparse[1][0]
    assert (grad_P[torch.from_numpy(qp["P"] == 0)] != 0).any()
    np.testing.assert_allclose(sparse[0][0].numpy(), qp["z"], atol=1e-9)


def test_sparse_path_on_a_batch_with_shared_and_batched_inputs():
    problems = [make_qp(12, 8, 3, seed=40 + i, n_active=3) for i in range(3)]
    stacked = {k: np.stack([qp[k] for qp in problems]) for k in "PqCdAb"}
    # P per problem (3-D), C and A shared would change the problems: all batched.
    inputs = tensors(stacked, requires_grad=False)
    dense_layer, *dense = _solve("input", inputs)
    sparse_layer, *sparse = _solve("sparse", inputs)
    assert sparse_layer.storages == ["sparse"] * 3 and dense_layer.storages == ["dense"] * 3
    _assert_same(sparse, dense, atol=1e-9)
    # Shared P, C, A (one factorization cache for the batch), q batched.
    shared = [inputs[0][0], inputs[1], inputs[2][0], inputs[3][0], inputs[4][0], inputs[5][0]]
    _, *dense = _solve("input", shared)
    sparse_layer, *sparse = _solve("sparse", shared)
    assert sparse_layer.storages == ["sparse"] * 3
    _assert_same(sparse, dense, atol=1e-9)


def test_sparse_path_in_float32_returns_float32():
    qp = _mostly_zeros(20, seed=3)
    inputs = tensors(qp, dtype=torch.float32, requires_grad=False)
    _, *dense = _solve("input", inputs)
    layer, outputs, grads = _solve("sparse", inputs)
    assert layer.storages == ["sparse"]
    assert all(x.dtype == torch.float32 for x in (*outputs, *grads))
    _assert_same((outputs, grads), dense, atol=1e-4)


def test_sparse_path_gradient_matches_central_finite_differences():
    qp = _mostly_zeros(16, seed=5)
    inputs = tensors(qp, requires_grad=False)
    _, _, grads = _solve("sparse", inputs)
    layer = dqp.QPLayer(storage="sparse")
    rng = np.random.default_rng(6)
    directions = [torch.from_numpy(rng.standard_normal(x.shape)) for x in inputs]
    directions[0] = directions[0] + directions[0].T          # P stays symmetric: a dense symmetric step
    h = 1e-6

    def loss_at(step):
        with torch.no_grad():
            return _loss(*layer(*[x + step * e for x, e in zip(inputs, directions)])).item()

    numeric = (loss_at(h) - loss_at(-h)) / (2 * h)
    analytic = sum(float((g * e).sum()) for g, e in zip(grads, directions))
    assert layer.storages == ["sparse"]
    assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_auto_takes_the_sparse_path_only_for_large_mostly_zero_dense_data():
    qp = _mostly_zeros(120, seed=7)
    inputs = tensors(qp, requires_grad=False)
    layer = dqp.QPLayer()
    layer(*inputs)
    assert layer.storages == ["sparse"]
    np.testing.assert_allclose(layer.last_solutions[0].z, qp["z"], atol=1e-8)
    # The same data with storage="input", an explicit solver or a linear solver of the user's: dense.
    for options in (dict(storage="input"), dict(qp_solver="piqp"), dict(lin_solver="lu")):
        other = dqp.QPLayer(**options)
        other(*inputs)
        assert other.storages == ["dense"], options
    # A full P, or fewer than 100 variables: dense.
    full = dict(qp, P=qp["P"] + 0.01)
    layer(*tensors(full, requires_grad=False))
    assert layer.storages == ["dense"]
    layer(*tensors(_mostly_zeros(60, seed=8), requires_grad=False))
    assert layer.storages == ["dense"]


def test_auto_on_the_sparse_path_gives_the_dense_paths_gradients():
    inputs = tensors(_mostly_zeros(120, seed=9), requires_grad=False)
    layer, *auto = _solve("auto", inputs)
    assert layer.storages == ["sparse"]
    _assert_same(auto, _solve("input", inputs)[1:], atol=1e-8)


def test_sparse_inputs_report_the_sparse_path():
    qp = make_qp(6, 5, 2, seed=3, n_active=2, sparse=True)
    P, q, C, d, A, b = tensors(qp, requires_grad=False)
    layer = dqp.QPLayer()
    layer(P.to_sparse_csc(), q, C.to_sparse_csc(), d, A.to_sparse_csc(), b)
    assert layer.storages == ["sparse"]


@pytest.mark.parametrize("options, match", [
    (dict(storage="compressed"), "storage must be 'auto', 'input' or 'sparse'"),
    (dict(storage="sparse", qp_solver="daqp"), "storage 'sparse' needs a forward solver that takes sparse"),
    (dict(storage="sparse", lin_solver="lu"), "storage 'sparse' needs a linear solver that takes sparse"),
    (dict(storage="sparse", qp_solver="quadprog"), "storage='sparse' needs a native qp_solver"),
])
def test_bad_storage_settings_name_the_setting(options, match):
    with pytest.raises(ValueError, match=match):
        dqp.QPLayer(**options)
