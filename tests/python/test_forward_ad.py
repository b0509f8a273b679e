"""Forward mode: torch.func.jvp and the dual tensors of torch.autograd.forward_ad
give the tangents of (z, λ, μ), equal to the reverse-mode Jacobian applied to
the tangent and to central differences; inactive μ tangents are exactly 0."""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.autograd.forward_ad as fwAD
from torch.func import jvp

import dqp

from conftest import make_qp

NAMES = ("P", "q", "C", "d", "A", "b")


def _problem(seed=400, n=5, m=6, p=2, n_active=2, batch=None):
    if batch is None:
        qp = make_qp(n, m, p, seed=seed, n_active=n_active)
        return qp, [torch.tensor(qp[k]) for k in NAMES]
    problems = [make_qp(n, m, p, seed=seed + i, n_active=n_active) for i in range(batch)]
    return problems, [torch.tensor(np.stack([qp[k] for qp in problems])) for k in NAMES]


def _tangents(inputs, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = [torch.randn(t.shape, generator=g, dtype=t.dtype) for t in inputs]
    out[0] = out[0] + out[0].transpose(-1, -2)           # P stays symmetric
    return out


def _central(layer, inputs, tangents, eps=1e-6):
    plus = layer(*[x + eps * t for x, t in zip(inputs, tangents)])
    minus = layer(*[x - eps * t for x, t in zip(inputs, tangents)])
    return [(a - b) / (2 * eps) for a, b in zip(plus, minus)]


@pytest.mark.parametrize("batch", [None, 3], ids=["single", "batch"])
def test_jvp_of_all_six_parameters_matches_central_differences(batch):
    _, inputs = _problem(batch=batch)
    tangents = _tangents(inputs)
    layer = dqp.QPLayer()
    outputs, derivatives = jvp(layer, tuple(inputs), tuple(tangents))
    expected = _central(layer, inputs, tangents)
    for got, want in zip(derivatives, expected):
        assert want.abs().max() > 1e-3
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("batch", [None, 3], ids=["single", "batch"])
def test_dual_tensors_carry_tangents_through_the_layer(batch):
    problems, inputs = _problem(seed=410, batch=batch)
    tangents = _tangents(inputs, seed=1)
    layer = dqp.QPLayer()
    with fwAD.dual_level():
        duals = [fwAD.make_dual(x, t) for x, t in zip(inputs, tangents)]
        z, lam, mu = layer(*duals)
        dz, dlam, dmu = (fwAD.unpack_dual(o).tangent for o in (z, lam, mu))
    assert dz is not None and dlam is not None and dmu is not None
    expected = _central(layer, inputs, tangents)
    for got, want in zip((dz, dlam, dmu), expected):
        torch.testing.assert_close(got, want, atol=1e-6, rtol=1e-5)
    # inactive rows of μ have exactly zero tangent
    active = np.atleast_2d(layer.active)
    assert (dmu.reshape(active.shape)[torch.from_numpy(~active)] == 0).all()
    assert (dmu.reshape(active.shape)[torch.from_numpy(active)] != 0).all()


def test_dual_tangent_on_q_only_single_fast_path_is_not_none():
    qp = make_qp(4, 5, 1, seed=420, n_active=2)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    t = torch.ones(4, dtype=torch.float64)
    with fwAD.dual_level():
        z, _, _ = layer(P, fwAD.make_dual(q, t), C, d, A, b)
        dz = fwAD.unpack_dual(z).tangent
    assert dz is not None
    J = torch.autograd.functional.jacobian(lambda q: layer(P, q, C, d, A, b)[0], q)
    torch.testing.assert_close(dz, J @ t, atol=1e-10, rtol=1e-9)


def test_jacfwd_solves_all_its_tangents_in_one_batched_core_call(monkeypatch):
    qp = make_qp(4, 5, 0, seed=430, n_active=2)
    P, q, C, d = (torch.tensor(qp[k]) for k in ("P", "q", "C", "d"))
    layer = dqp.QPLayer()
    calls = []
    original = layer.engine.backward_batch

    def counting(sparse, data, solutions, dz, dlam, dmu, threads, *wanted):
        calls.append(dz.shape)
        return original(sparse, data, solutions, dz, dlam, dmu, threads, *wanted)

    monkeypatch.setattr(layer.engine, "backward_batch", counting)
    J = torch.func.jacfwd(lambda q: layer(P, q, C, d)[0])(q)
    assert calls == [(4, 4)]                             # four tangents, one call, no new factorization
    assert J.shape == (4, 4)


def test_float32_forward_mode():
    qp = make_qp(4, 5, 1, seed=440, n_active=2)
    inputs = [torch.tensor(qp[k], dtype=torch.float32) for k in NAMES]
    tangents = _tangents(inputs, seed=2)
    layer = dqp.QPLayer()
    _, derivatives = jvp(layer, tuple(inputs), tuple(tangents))
    _, exact = jvp(layer, tuple(x.double() for x in inputs), tuple(t.double() for t in tangents))
    for got, want in zip(derivatives, exact):
        assert got.dtype == torch.float32
        torch.testing.assert_close(got.double(), want, atol=1e-4, rtol=1e-4)


def test_sparse_forward_mode_matches_dense():
    # torch has no forward AD through sparse tensor construction and
    # torch.func reads no sparse tensor: dual tensors of the dense vectors.
    qp = make_qp(6, 5, 2, seed=450, n_active=2, sparse=True)
    P, q, C, d, A, b = (torch.tensor(qp[k]) for k in NAMES)
    layer = dqp.QPLayer()
    sparse = (P.to_sparse_csc(), C.to_sparse_csc(), A.to_sparse_csc())
    tangents = (torch.ones(6, dtype=torch.float64), torch.linspace(-1, 1, 5, dtype=torch.float64),
                torch.ones(2, dtype=torch.float64))

    def tangents_of(P, C, A):
        with fwAD.dual_level():
            duals = [fwAD.make_dual(x, t) for x, t in zip((q, d, b), tangents)]
            outputs = layer(P, duals[0], C, duals[1], A, duals[2])
            return [fwAD.unpack_dual(o).tangent for o in outputs]

    sparse_tangents = tangents_of(*sparse)
    dense_tangents = tangents_of(P, C, A)
    for got, want in zip(sparse_tangents, dense_tangents):
        assert want.abs().max() > 1e-3
        torch.testing.assert_close(got, want, atol=1e-9, rtol=1e-8)
