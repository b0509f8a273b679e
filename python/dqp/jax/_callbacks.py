"""The numpy side of dqp.jax: what its pure callbacks run.

Under ``vmap_method="expand_dims"`` every argument arrives with the same
number of leading batch axes, of size 1 where that argument is not batched.
The forward sends the whole batch to the C++ batch engine in one call
(unbatched parameters shared, not copied); the solve groups right-hand sides
that share a problem (``jacfwd``'s tangents) into one multi-column solve.
"""
from __future__ import annotations

import math

import numpy as np

from .. import _core
from .._engine import Engine
from .._function import _report_failures as report_failures
from .._settings import batch_threads

BASE_NDIM = (2, 1, 2, 1, 2, 1)   # P, q, C, d, A, b
NAMES = ("P", "q", "C", "d", "A", "b")


def _leading(array: np.ndarray, base: int) -> tuple:
    return array.shape[:array.ndim - base]


def _per_problem(array: np.ndarray, base: int, batch: tuple) -> np.ndarray:
    """A shared parameter as one problem's array; a batched one as (B, ...)."""
    array = np.asarray(array, dtype=np.float64)
    base_shape = array.shape[array.ndim - base:]
    if math.prod(_leading(array, base)) == 1:
        return np.ascontiguousarray(array.reshape(base_shape))
    return np.ascontiguousarray(np.broadcast_to(array, batch + base_shape).reshape((-1,) + base_shape))


def forward(engine: Engine, P, q, C, d, A, b):
    """Solve every problem; returns z, lam, mu (input dtype), the active mask and an ok flag."""
    arrays = (P, q, C, d, A, b)
    dtype = np.asarray(q).dtype
    batch = np.broadcast_shapes(*(_leading(np.asarray(a), base) for a, base in zip(arrays, BASE_NDIM)))
    size = math.prod(batch)
    data = [_per_problem(a, base, batch) for a, base in zip(arrays, BASE_NDIM)]
    n, m, p = data[1].shape[-1], data[3].shape[-1], data[5].shape[-1]
    threads = batch_threads(engine.settings)
    if engine.native:
        solutions, Z, Lam, Mu = engine.forward_batch(False, data, size, threads, None)
        messages = [None] * size
    else:
        pairs = [engine.forward(False, [x if x.ndim == base else x[i] for x, base in zip(data, BASE_NDIM)])
                 for i in range(size)]
        solutions, messages = [s for s, _ in pairs], [msg for _, msg in pairs]
        Z = np.stack([s.z for s in solutions]).reshape(size, n)
        Lam = np.stack([s.lam for s in solutions]).reshape(size, p)
        Mu = np.stack([s.mu for s in solutions]).reshape(size, m)
    Z, Lam, Mu = (np.array(x, dtype=np.float64) for x in (Z, Lam, Mu))
    active = np.zeros((size, m), dtype=bool)
    ok = np.ones(size, dtype=bool)
    failures = []
    for i, solution in enumerate(solutions):
        active[i, np.asarray(solution.active, dtype=np.int64)] = True
        if not solution.optimal:
            ok[i] = False
            failures.append((i, solution.status, messages[i]))
    if failures:
        # As the torch layer: raise, or warn once; failed problems get NaN and a zero derivative.
        report_failures(engine, engine.settings["on_failure"], failures, size if batch else None)
        Z[~ok], Lam[~ok], Mu[~ok] = np.nan, np.nan, np.nan
    return (Z.reshape(batch + (n,)).astype(dtype), Lam.reshape(batch + (p,)).astype(dtype),
            Mu.reshape(batch + (m,)).astype(dtype), active.reshape(batch + (m,)), ok.reshape(batch))


def solve(engine: Engine, P, C, A, active, rhs):
    """K⁻¹ rhs on each problem's active set (rows [z; lam; mu], mu outside the set passes through)."""
    rhs = np.asarray(rhs)
    dtype = rhs.dtype
    matrices = [(np.asarray(P), 2), (np.asarray(C), 2), (np.asarray(A), 2), (np.asarray(active), 1)]
    levels = rhs.ndim - 1
    batch = np.broadcast_shapes(rhs.shape[:-1], *(x.shape[:levels] for x, _ in matrices))
    # Axes along which some matrix or the active set changes need their own
    # factorization; the others only carry more right-hand sides.
    own = [axis for axis in range(levels) if any(x.shape[axis] > 1 for x, _ in matrices)]
    more = [axis for axis in range(levels) if axis not in own]
    problems = math.prod(batch[axis] for axis in own)
    columns = math.prod(batch[axis] for axis in more)
    order = own + more + [levels]
    width = rhs.shape[-1]
    stacked = np.broadcast_to(rhs, batch + (width,)).transpose(order).reshape(problems, columns, width)
    factor_shape = tuple(batch[axis] if axis in own else 1 for axis in range(levels))

    def per_problem(x, base, dtype=np.float64):
        base_shape = x.shape[levels:]
        return np.ascontiguousarray(np.broadcast_to(x, factor_shape + base_shape).reshape((problems,) + base_shape),
                                    dtype=dtype)

    P3, C3, A3 = (per_problem(x, base) for x, base in matrices[:3])
    mask = per_problem(matrices[3][0], 1, dtype=bool)
    out = _core.solve_on_active_sets_dense(engine.core, P3, C3, A3, mask,
                                           np.ascontiguousarray(stacked, dtype=np.float64),
                                           batch_threads(engine.settings))
    out = out.reshape(tuple(batch[axis] for axis in own) + tuple(batch[axis] for axis in more) + (width,))
    return out.transpose(np.argsort(order)).astype(dtype)
