"""float32 in, float32 out: outputs and gradients keep the input dtype and
agree with the float64 computation (dqp computes in float64 internally)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import SparseBuilder, make_qp, tensors


def _loss(z, lam, mu):
    wz = torch.linspace(1.0, 2.0, z.shape[-1], dtype=z.dtype)
    return (z * wz).sum() + lam.sum() + mu.sum()


@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_float32_dense_outputs_and_gradients_are_float32_and_close_to_float64(qp_solver):
    qp = make_qp(5, 6, 2, seed=70, n_active=2)
    layer = dqp.QPLayer(qp_solver=qp_solver)
    x32 = tensors(qp, dtype=torch.float32)
    x64 = tensors(qp, dtype=torch.float64)
    out32 = layer(*x32)
    out64 = layer(*x64)
    for o in out32:
        assert o.dtype == torch.float32
    _loss(*out32).backward()
    _loss(*out64).backward()
    for a, b in zip(out32, out64):
        np.testing.assert_allclose(a.detach().double().numpy(), b.detach().numpy(), atol=1e-5, rtol=1e-4)
    for name, a, b in zip("PqCdAb", x32, x64):
        assert a.grad.dtype == torch.float32, f"gradient of {name}"
        np.testing.assert_allclose(a.grad.double().numpy(), b.grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=f"gradient of {name}")


def test_float32_batched_outputs_and_gradients_are_float32(qp_batch):
    stacked, _ = qp_batch
    x32 = tensors(stacked, dtype=torch.float32)
    x64 = tensors(stacked, dtype=torch.float64)
    layer = dqp.QPLayer()
    out32, out64 = layer(*x32), layer(*x64)
    assert all(o.dtype == torch.float32 for o in out32)
    _loss(*out32).backward()
    _loss(*out64).backward()
    for name, a, b in zip("PqCdAb", x32, x64):
        assert a.grad.dtype == torch.float32
        np.testing.assert_allclose(a.grad.double().numpy(), b.grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=f"gradient of {name}")


def test_float32_sparse_outputs_and_value_gradients_are_float32(qp_sparse):
    qp = qp_sparse
    results = {}
    for dtype in (torch.float32, torch.float64):
        builders = [SparseBuilder(qp[k], layout) for k, layout in zip("PCA", ("csc", "coo", "csr"))]
        values = [bld.values(dtype=dtype) for bld in builders]
        q, d, b = (torch.tensor(qp[k], dtype=dtype, requires_grad=True) for k in "qdb")
        out = dqp.QPLayer()(builders[0](values[0]), q, builders[1](values[1]), d, builders[2](values[2]), b)
        _loss(*out).backward()
        results[dtype] = (out, values + [q, d, b])
    out32, leaves32 = results[torch.float32]
    out64, leaves64 = results[torch.float64]
    assert all(o.dtype == torch.float32 for o in out32)
    for a, b in zip(out32, out64):
        np.testing.assert_allclose(a.detach().double().numpy(), b.detach().numpy(), atol=1e-5, rtol=1e-4)
    for name, a, b in zip("PCAqdb", leaves32, leaves64):
        assert a.grad.dtype == torch.float32, f"gradient of {name}"
        np.testing.assert_allclose(a.grad.double().numpy(), b.grad.numpy(), atol=1e-4, rtol=1e-4,
                                   err_msg=f"gradient of {name}")


def test_float32_seed_api_keeps_dtype():
    layer = dQP.dQP_layer(settings=dQP.build_settings(empty_batch=False))
    P = 2 * torch.eye(2)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], requires_grad=True)
    d = torch.tensor([-1.0, 0.0, 0.0], requires_grad=True)
    z, lam, mu, _, _ = layer(P, torch.zeros(2), C, d)
    assert z.dtype == mu.dtype == lam.dtype == torch.float32
    mu.sum().backward()
    assert C.grad.dtype == torch.float32 and d.grad.dtype == torch.float32
    np.testing.assert_allclose(d.grad.numpy(), [-1.0, 0.0, 0.0], atol=1e-6)
