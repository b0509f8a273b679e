"""Sparse inputs: gradients land on the caller's values, in the caller's own
pattern and entry order, for COO (any order, uncoalesced, explicit zeros),
CSR and CSC; they equal the dense gradients at the stored entries.

REFERENCE.md §5 / W10: the seed returned permuted C gradients whenever two or
more constraints were active; the worked case is pinned here.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp

from conftest import SparseBuilder, make_qp, tensor


def _loss(z, lam, mu):
    wz = torch.linspace(1.0, -1.0, z.shape[-1], dtype=z.dtype)
    wm = torch.linspace(0.5, 2.0, mu.shape[-1], dtype=mu.dtype)
    return (z * wz).sum() + (lam * 0.3).sum() + (mu * wm).sum()


def _dense_reference(qp):
    leaves = [tensor(qp[k]) for k in "PqCdAb"]
    z, lam, mu = dqp.QPLayer()(*leaves)
    _loss(z, lam, mu).backward()
    return (z, lam, mu), {k: x.grad.numpy() for k, x in zip("PqCdAb", leaves)}


@pytest.mark.parametrize("layout", ["coo", "csr", "csc"])
def test_sparse_value_gradients_equal_dense_gradients_at_stored_entries(qp_sparse, layout):
    qp = qp_sparse
    (z_ref, lam_ref, mu_ref), grads = _dense_reference(qp)
    builders = {k: SparseBuilder(qp[k], layout, seed=11) for k in "PCA"}
    values = {k: b.values() for k, b in builders.items()}
    q, d, b = (tensor(qp[k]) for k in "qdb")
    z, lam, mu = dqp.QPLayer()(builders["P"](values["P"]), q, builders["C"](values["C"]), d,
                               builders["A"](values["A"]), b)
    torch.testing.assert_close(z, z_ref.detach(), atol=1e-10, rtol=0)
    torch.testing.assert_close(mu, mu_ref.detach(), atol=1e-10, rtol=0)
    _loss(z, lam, mu).backward()
    for k, bld in builders.items():
        assert values[k].grad.shape == values[k].shape
        np.testing.assert_allclose(values[k].grad.numpy(), grads[k][bld.rows, bld.cols], atol=1e-10,
                                   err_msg=f"gradient of {k} values ({layout})")
    for k, x in zip("qdb", (q, d, b)):
        np.testing.assert_allclose(x.grad.numpy(), grads[k], atol=1e-10)


def test_sparse_C_gradient_order_with_two_active_rows_reference_worked_case():
    # REFERENCE.md §5: C_J = [[1,0,1],[1,1,0]], both rows active.
    C = np.array([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0], [0.0, 0.0, -1.0]])
    P = np.eye(3)
    z = np.array([0.5, 0.5, 0.5])
    mu = np.array([1.0, 2.0, 0.0])
    d = C @ z + np.array([0.0, 0.0, 1.0])
    q = -(P @ z + C.T @ mu)
    qp = dict(P=P, q=q, C=C, d=d, A=np.zeros((0, 3)), b=np.zeros(0))

    C_dense = tensor(C)
    zz, _, mm = dqp.QPLayer()(torch.tensor(P), torch.tensor(q), C_dense, torch.tensor(d))
    np.testing.assert_allclose(mm.detach().numpy(), mu, atol=1e-10)
    _loss(zz, torch.zeros(0, dtype=torch.float64), mm).backward()
    dense_grad = C_dense.grad.numpy()
    assert np.abs(dense_grad[0] - dense_grad[1]).max() > 1e-3  # rows differ: a permutation would show

    for layout in ("coo", "csr", "csc"):
        bld = SparseBuilder(C, layout, seed=5)
        vals = bld.values()
        zz, _, mm = dqp.QPLayer()(torch.tensor(P).to_sparse_csc(), torch.tensor(q), bld(vals), torch.tensor(d))
        _loss(zz, torch.zeros(0, dtype=torch.float64), mm).backward()
        np.testing.assert_allclose(vals.grad.numpy(), dense_grad[bld.rows, bld.cols], atol=1e-10,
                                   err_msg=layout)


def test_sparse_explicit_zero_entries_keep_their_slot_and_get_the_dense_gradient():
    qp = make_qp(4, 4, 0, seed=120, n_active=2)
    C = qp["C"]
    # Store every entry of C, then overwrite one stored value with an explicit 0
    # in a row that is active (it has a nonzero gradient there).
    row = int(qp["J"][0])
    C0 = C.copy()
    C0[row, 1] = 0.0
    qp0 = dict(qp, C=C0)
    qp0["q"] = -(qp["P"] @ qp["z"] + C0.T @ qp["mu"])
    qp0["d"] = C0 @ qp["z"] + np.where(np.isin(np.arange(4), qp["J"]), 0.0, 1.0)
    _, grads0 = _dense_reference(qp0)
    rows, cols = np.nonzero(np.ones_like(C0))
    vals = torch.tensor(C0[rows, cols], requires_grad=True)
    Cs = torch.sparse_coo_tensor(torch.tensor(np.stack([rows, cols])), vals, C0.shape)
    z, lam, mu = dqp.QPLayer()(torch.tensor(qp0["P"]).to_sparse_csc(), torch.tensor(qp0["q"]), Cs,
                               torch.tensor(qp0["d"]))
    _loss(z, lam, mu).backward()
    assert vals.grad.shape == (16,)
    np.testing.assert_allclose(vals.grad.numpy(), grads0["C"][rows, cols], atol=1e-10)
    assert abs(vals.grad[row * 4 + 1].item()) > 1e-6


def test_uncoalesced_coo_duplicates_each_get_the_entry_gradient(qp_sparse):
    qp = qp_sparse
    _, grads = _dense_reference(qp)
    C = qp["C"]
    r, c = np.nonzero(C)
    # Split every value of C into two duplicate entries (halves) in a shuffled order.
    rows = np.concatenate([r, r])
    cols = np.concatenate([c, c])
    vals0 = np.concatenate([0.5 * C[r, c], 0.5 * C[r, c]])
    perm = np.random.default_rng(3).permutation(rows.size)
    rows, cols, vals0 = rows[perm], cols[perm], vals0[perm]
    vals = torch.tensor(vals0, requires_grad=True)
    Cs = torch.sparse_coo_tensor(torch.tensor(np.stack([rows, cols])), vals, C.shape)
    assert not Cs.is_coalesced()
    P, q, d, A, b = (torch.tensor(qp[k]) for k in "PqdAb")
    z, lam, mu = dqp.QPLayer()(P.to_sparse_csc(), q, Cs, d, A.to_sparse_csr(), b)
    _loss(z, lam, mu).backward()
    np.testing.assert_allclose(vals.grad.numpy(), grads["C"][rows, cols], atol=1e-10)


def test_sparse_P_gradient_is_symmetric_in_value_order(qp_sparse):
    qp = qp_sparse
    _, grads = _dense_reference(qp)
    bld = SparseBuilder(qp["P"], "coo", seed=9)
    vals = bld.values()
    q, C, d, A, b = (torch.tensor(qp[k]) for k in "qCdAb")
    z, lam, mu = dqp.QPLayer()(bld(vals), q, C.to_sparse_csc(), d, A.to_sparse_csc(), b)
    _loss(z, lam, mu).backward()
    g = dict(zip(zip(bld.rows, bld.cols), vals.grad.numpy()))
    for (i, j), value in g.items():
        assert value == pytest.approx(g[(j, i)], abs=1e-12)
        assert value == pytest.approx(grads["P"][i, j], abs=1e-10)


def test_sparse_equality_only_and_inequality_only(qp_sparse):
    qp = qp_sparse
    P = torch.tensor(qp["P"]).to_sparse_csc()
    # equality-only: the QP min ½zᵀPz + qᵀz s.t. Az = b; check stationarity.
    q = torch.tensor(qp["q"])
    A, b = torch.tensor(qp["A"]), torch.tensor(qp["b"])
    z, lam, mu = dqp.QPLayer()(P, q, None, None, A.to_sparse_csc(), b)
    assert mu.numel() == 0
    r = qp["P"] @ z.numpy() + qp["q"] + qp["A"].T @ lam.numpy()
    np.testing.assert_allclose(r, 0.0, atol=1e-8)
    np.testing.assert_allclose(qp["A"] @ z.numpy(), qp["b"], atol=1e-8)
    # inequality-only
    q2 = torch.tensor(-(qp["P"] @ qp["z"] + qp["C"].T @ qp["mu"]))
    z, lam, mu = dqp.QPLayer()(P, q2, torch.tensor(qp["C"]).to_sparse_csc(), torch.tensor(qp["d"]))
    assert lam.numel() == 0
    np.testing.assert_allclose(z.numpy(), qp["z"], atol=1e-8)
    np.testing.assert_allclose(mu.numpy(), qp["mu"], atol=1e-8)


def test_scipy_inputs_to_numpy_solve_match_dense():
    import scipy.sparse as sp
    qp = make_qp(5, 6, 2, seed=121, n_active=2, sparse=True)
    dense = dqp.solve(qp["P"], qp["q"], qp["C"], qp["d"], qp["A"], qp["b"])
    sparse = dqp.solve(sp.csc_matrix(qp["P"]), qp["q"], sp.coo_matrix(qp["C"]), qp["d"], sp.csr_matrix(qp["A"]),
                       qp["b"])
    assert dense.status == sparse.status == "optimal"
    for a, b, ref in ((dense.z, sparse.z, qp["z"]), (dense.lam, sparse.lam, qp["lam"]),
                      (dense.mu, sparse.mu, qp["mu"])):
        np.testing.assert_allclose(a, ref, atol=1e-8)
        np.testing.assert_allclose(b, ref, atol=1e-8)


@pytest.mark.parametrize("layout", ["coo", "csr"])
def test_sparse_leaf_tensor_requiring_grad_gets_gradient_in_its_own_layout(layout):
    # The seed example's matrices, passed as sparse leaves (no separate values tensor).
    convert = {"coo": torch.Tensor.to_sparse_coo, "csr": torch.Tensor.to_sparse_csr,
               "csc": torch.Tensor.to_sparse_csc}[layout]
    P = convert(2 * torch.eye(2, dtype=torch.float64))
    C = convert(torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)).requires_grad_()
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64)
    z, lam, mu = dqp.QPLayer()(P, torch.zeros(2, dtype=torch.float64), C, d)
    z.sum().backward()
    assert C.grad is not None and C.grad.layout == C.layout
    np.testing.assert_allclose(C.grad.to_dense().numpy(), [[0.5, 0.5], [0.0, 0.0], [0.0, 0.0]], atol=1e-8)


def test_csc_leaf_tensor_requiring_grad_is_rejected_with_a_way_out():
    # torch's autograd engine cannot accumulate a gradient into a CSC leaf
    # ("Sparse CSC tensors do not have is_contiguous"), whatever the layer
    # returns: the layer must say so before solving, not fail in backward.
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64).to_sparse_csc().requires_grad_()
    P = (2 * torch.eye(2, dtype=torch.float64)).to_sparse_csc()
    with pytest.raises(ValueError, match=r"C is a sparse CSC leaf tensor.*values the leaf"):
        dqp.QPLayer()(P, torch.zeros(2, dtype=torch.float64), C, torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64))


def test_normalize_constraints_does_not_mutate_callers_sparse_list():
    qp = make_qp(5, 4, 0, seed=122, n_active=2, sparse=True)
    Cs = [torch.tensor(qp["C"] * s).to_sparse_csc() for s in (3.0, 0.2)]
    before = [c.values().clone() for c in Cs]
    P = torch.tensor(qp["P"]).to_sparse_csc()
    q = torch.tensor(np.stack([qp["q"]] * 2))
    d = torch.tensor(np.stack([qp["d"] * 3.0, qp["d"] * 0.2]))
    z, lam, mu = dqp.QPLayer(normalize_constraints=True)(P, q, Cs, d)
    for b, c in zip(before, Cs):
        assert torch.equal(b, c.values())
    np.testing.assert_allclose(z.numpy(), np.stack([qp["z"]] * 2), atol=1e-8)
    np.testing.assert_allclose(mu.numpy(), np.stack([qp["mu"] / 3.0, qp["mu"] / 0.2]), atol=1e-8)
