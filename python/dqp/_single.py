"""The fast path for the commonest call: one dense float64 CPU problem.

Tiny problems (n ≤ 10) solve in a few microseconds, so the general path's
parsing, batching and stacking would cost several times the solve. Here the
tensors go straight to the core as numpy views: the C++ side checks shapes,
values and dtypes, and anything it refuses (batches, float32, sparse, odd
shapes, CUDA) is sent back to the general path, which gives the canonical
error message if the input is truly bad. The results are identical: both
paths call the same core.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch.autograd import forward_ad

from ._autodiff import Factorizations, tangents as tangents_of, vjp
from ._function import _report_failures, core_backward, minus_infinity_message

_EMPTY_ROWS: dict = {}   # n -> ((0, n) matrix, (0,) vector), reused for absent constraints


def _empty(n: int):
    pair = _EMPTY_ROWS.get(n)
    if pair is None:
        pair = _EMPTY_ROWS[n] = (np.zeros((0, n)), np.zeros(0))
    return pair


_VIEWS: dict = {}          # id(t) -> (t, version, data pointer, numpy view), for tensors reused across calls
_VIEWS_MAX = 16
_VIEWS_MAX_ENTRIES = 4096    # numbers per cached tensor


def _host(t) -> Optional[np.ndarray]:
    """A float64 numpy view of a plain CPU tensor, or None if t is anything else.

    Layers are called again and again with the same constant tensors (P, C, A
    of a projection layer): their views are kept, keyed by identity and
    checked against the tensor's version counter, storage and shape, so an
    in-place change, a new storage or a resize is seen. The entry holds the tensor, so its id
    cannot be reused while cached.
    """
    entry = _VIEWS.get(id(t))
    if (entry is not None and entry[0] is t and entry[1] == t._version and entry[2] == t.data_ptr()
            and entry[3].shape == t.shape):
        return entry[3]
    if type(t) is not torch.Tensor and not isinstance(t, torch.Tensor):
        return None
    if t.dtype is not torch.float64 or t.layout is not torch.strided or not t.is_cpu:
        return None
    try:
        view = t.numpy(force=True)      # a view (a CPU float64 tensor has no conj/neg bit)
    except (TypeError, RuntimeError):
        return None
    # Only small constants: the saving matters for tiny problems, and an
    # entry keeps its tensor alive. Leaves with gradients change every step.
    if not t.requires_grad and view.size <= _VIEWS_MAX_ENTRIES:
        if len(_VIEWS) >= _VIEWS_MAX:
            _VIEWS.clear()
        _VIEWS[id(t)] = (t, t._version, t.data_ptr(), view)
    return view


def solve_single_dense(layer, P, q, C, d, A, b, batch_axis: bool = False):
    """(z, lam, mu, solution), or None when the inputs need the general path.

    With batch_axis the outputs have a leading axis of size 1 (the seed's
    empty_batch), made in numpy rather than by three autograd unsqueezes."""
    engine = layer.engine
    if (not engine.native or layer.settings["warm_start_from_previous"]
            or (C is None) != (d is None) or (A is None) != (b is None)):
        return None
    arrays = [_host(P), _host(q)]
    if arrays[0] is None or arrays[1] is None or arrays[0].ndim != 2 or arrays[1].ndim != 1:
        return None
    n = arrays[1].shape[0]
    for M, v in ((C, d), (A, b)):
        if M is None:
            arrays.extend(_empty(n))
            continue
        M_, v_ = _host(M), _host(v)
        if M_ is None or v_ is None or M_.ndim != 2 or v_.ndim != 1:
            return None
        arrays += (M_, v_)
    P_, q_, C_, d_, A_, b_ = arrays
    try:
        solution = engine.core.forward_dense(P_, q_, C_, d_, A_, b_)
    except (ValueError, TypeError):
        return None                      # the general path reports it, naming the argument
    z, lam, mu = solution.z, solution.lam, solution.mu
    if not solution.optimal:             # NaN outputs, zero gradients (or raise)
        _report_failures(engine, layer.settings["on_failure"],
                         [(0, solution.status, minus_infinity_message(d_))], None)
        z, lam, mu = np.full_like(z, np.nan), np.full_like(lam, np.nan), np.full_like(mu, np.nan)
    if batch_axis:
        z, lam, mu = z.reshape(1, -1), lam.reshape(1, -1), mu.reshape(1, -1)
    # Only the inputs that need a derivative go through the autograd node:
    # each argument costs apply() time, and constants (P, C, A of a
    # projection layer) are the common case. Forward-mode tangents count too.
    tensors = (P, q, C, d, A, b)
    dual = forward_ad._current_level >= 0
    if torch.is_grad_enabled() or dual:
        needs = tuple(i for i in range(6) if tensors[i] is not None and (tensors[i].requires_grad or dual))
        if needs:
            z, lam, mu = _SingleDense.apply(engine, solution, arrays, (z, lam, mu), needs,
                                            *[tensors[i] for i in needs])
            return z, lam, mu, solution
    return torch.from_numpy(z), torch.from_numpy(lam), torch.from_numpy(mu), solution


class _SingleDense(torch.autograd.Function):
    """Attaches the derivatives to an already solved single dense problem;
    ``needs`` are the positions in (P, q, C, d, A, b) of the tensors given.

    A plain backward is the core's C++ backward; a recorded one
    (create_graph, Hessians) and forward mode are those of the batch path
    (:mod:`dqp._autodiff`) on this one solution.
    """

    # The legacy forward(ctx, ...) style on purpose: apply() of a
    # setup_context Function binds its arguments with inspect.signature on
    # every call, which costs more than a tiny solve. torch.func never reaches
    # this path (its wrapped tensors have no numpy view); forward_ad and
    # create_graph work with either style.
    @staticmethod
    def forward(ctx, engine, solution, arrays, outputs, needs, *tensors):
        ctx.engine, ctx.solution, ctx.arrays, ctx.needs = engine, solution, arrays, needs
        ctx.wanted = _WANTED[needs]
        # Unused outputs (lam and mu, most often) arrive as None rather than
        # as freshly allocated zero tensors: backward uses cached zeros.
        ctx.set_materialize_grads(False)
        z, lam, mu = torch.from_numpy(outputs[0]), torch.from_numpy(outputs[1]), torch.from_numpy(outputs[2])
        ctx.save_for_backward(*tensors, z, lam, mu)
        if forward_ad._current_level >= 0:
            ctx.save_for_forward(*tensors, z, lam, mu)
        return z, lam, mu

    @staticmethod
    def backward(ctx, gz, glam, gmu):
        arrays = ctx.arrays
        sizes = (arrays[1].shape[0], arrays[5].shape[0], arrays[3].shape[0])   # n, p, m
        if not ctx.solution.optimal:         # a failed solve (on_failure warn / nan): zero gradient
            return (None,) * 5 + tuple(torch.zeros(arrays[i].shape, dtype=torch.float64) for i in ctx.needs)
        if torch.is_grad_enabled():          # create_graph: a recorded backward
            given = [torch.zeros(k, dtype=torch.float64) if g is None else g for g, k in zip((gz, glam, gmu), sizes)]
            grads = vjp(*_problem(ctx), *(g.reshape(1, -1) for g in given))
            return (None,) * 5 + tuple(grads[i] for i in ctx.needs)
        grads = core_backward(ctx.engine.core.backward_dense, *arrays, ctx.solution,
                              _host_gradient(gz, sizes[0]), _host_gradient(glam, sizes[1]),
                              _host_gradient(gmu, sizes[2]), ctx.wanted)
        return (None,) * 5 + tuple(torch.from_numpy(grads[i]) for i in ctx.needs)

    @staticmethod
    def jvp(ctx, _engine, _solution, _arrays, _outputs, _needs, *given):
        full = [None] * 6
        for i, tangent in zip(ctx.needs, given):
            full[i] = tangent
        outputs = ctx.saved_tensors[len(ctx.needs):]
        derivatives = tangents_of(*_problem(ctx), *full)
        return tuple(t.reshape(o.shape) for t, o in zip(derivatives, outputs))


class _Wanted(dict):
    """needs (positions in P, q, C, d, A, b) -> the core's six gradient flags, made once each."""

    def __missing__(self, needs: tuple) -> tuple:
        flags = self[needs] = tuple(i in needs for i in range(6))
        return flags


_WANTED = _Wanted()

_ZEROS: dict = {}   # size -> read-only zero vector, for outputs that received no gradient


def _host_gradient(g, size: int) -> np.ndarray:
    """An output's gradient as a contiguous float64 vector; zeros for None."""
    if g is None:
        zeros = _ZEROS.get(size)
        if zeros is None:
            zeros = _ZEROS[size] = np.zeros(size)
            zeros.flags.writeable = False
        return zeros
    if g.dtype is torch.float64 and g.is_contiguous() and not g.requires_grad:
        return g.numpy().reshape(-1)
    return np.ascontiguousarray(g.detach().numpy(force=True).reshape(-1), dtype=np.float64)


def _problem(ctx) -> tuple:
    """factors, ids, the six inputs and (z, lam, mu) as the batch path's derivatives take them."""
    arrays, saved = ctx.arrays, ctx.saved_tensors
    tensors = [torch.from_numpy(a) for a in arrays]
    for i, t in zip(ctx.needs, saved):
        tensors[i] = t
    outputs = [t.reshape(1, -1) for t in saved[len(ctx.needs):]]
    n, p, m = arrays[1].shape[0], arrays[5].shape[0], arrays[3].shape[0]
    factors = Factorizations(ctx.engine, False, tuple(arrays), [ctx.solution], n, p, m, 1)
    ids = torch.tensor([0 if ctx.solution.optimal else -1])      # a failed solve: zero derivatives
    return (factors, ids, *tensors, *outputs)
