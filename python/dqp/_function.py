"""The torch autograd Function: a whole batch in one forward and one backward.

Forward hands float64 CPU buffers to the C++ batch engine (zero-copy; shared
parameters are viewed once, not copied), which solves on a thread pool with
the GIL released. A qpsolvers solver runs its solves here, then the core takes
over. The core's Solution objects, which own the KKT factorizations, stay in
``ctx``: backward reuses them, in C++, for the whole batch at once.
"""
from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ._inputs import NAMES, Spec

MATRICES = ("P", "C", "A")


class QPSolveError(RuntimeError):
    """A forward solve failed; ``index`` is the batch element, ``status`` the solver's status."""

    def __init__(self, message: str, index: int, status: str):
        super().__init__(message)
        self.index = index
        self.status = status


class GradientOverflowError(ValueError, OverflowError):
    """The gradients overflow double precision: the data span too many orders of
    magnitude. A ValueError (bad data), and an OverflowError for code that
    catches arithmetic errors."""


def core_backward(call, *args):
    """Runs a core backward call, raising overflow as GradientOverflowError."""
    try:
        return call(*args)
    except OverflowError as error:
        raise GradientOverflowError(str(error)) from None


def batch_data(spec: Spec, tensors) -> tuple:
    """The six parameters as the engine's batch calls take them.

    Dense: one array each, with a leading batch axis when batched. Sparse
    matrices: a list of (pattern, values), one entry when shared.
    """
    data, position = [], 0
    for name in NAMES:
        count = spec.counts[name]
        arrays = [t.detach().numpy() for t in tensors[position:position + count]]
        position += count
        if spec.sparse and name in MATRICES:
            patterns = spec.patterns[name]
            patterns = patterns if isinstance(patterns, list) else [patterns]
            data.append(list(zip(patterns, arrays)))
        else:
            data.append(arrays[0])
    return tuple(data)


def element(spec: Spec, data: tuple, i: int) -> tuple:
    """The six inputs of batch element i, for the single-problem engine calls."""
    out = []
    for name, value in zip(NAMES, data):
        if spec.sparse and name in MATRICES:
            out.append(value[i] if spec.batched[name] else value[0])
        else:
            out.append(value[i] if spec.batched[name] else value)
    return tuple(out)


def _forward(engine, spec: Spec, data: tuple, threads: int, warm):
    if engine.native:
        solutions, Z, Lam, Mu = engine.forward_batch(spec.sparse, data, spec.size, threads, warm)
        return solutions, [None] * spec.size, Z, Lam, Mu

    def solve(i):
        start = warm[i] if warm is not None else None
        return engine.forward(spec.sparse, element(spec, data, i), start)

    if threads > 1 and spec.size > 1:
        with ThreadPoolExecutor(max_workers=min(threads, spec.size)) as pool:
            results = list(pool.map(solve, range(spec.size)))
    else:
        results = [solve(i) for i in range(spec.size)]
    solutions = [solution for solution, _ in results]
    stack = lambda rows, width: np.stack(rows) if rows else np.zeros((0, width))  # noqa: E731
    return (solutions, [message for _, message in results], stack([s.z for s in solutions], spec.n),
            stack([s.lam for s in solutions], spec.p), stack([s.mu for s in solutions], spec.m))


class QPFunction(torch.autograd.Function):
    """z, lam, mu = QPFunction.apply(engine, spec, options, *tensors); shapes (B, n), (B, p), (B, m)."""

    @staticmethod
    def forward(ctx, engine, spec: Spec, options: dict, *tensors):
        data = batch_data(spec, tensors)
        solutions, messages, Z, Lam, Mu = _forward(engine, spec, data, options["threads"], options.get("warm"))
        failed = [i for i, s in enumerate(solutions) if not s.optimal]
        for i in failed:
            _report_failure(engine, options["on_failure"], i, solutions[i].status, messages[i], spec.batch)
        if failed and options["on_failure"] == "nan":
            Z[failed], Lam[failed], Mu[failed] = np.nan, np.nan, np.nan
        ctx.engine, ctx.spec, ctx.data, ctx.solutions = engine, spec, data, solutions
        ctx.threads = options["threads"]
        ctx.shapes = [t.shape for t in tensors]
        options["solutions"] = solutions
        return torch.from_numpy(Z), torch.from_numpy(Lam), torch.from_numpy(Mu)

    @staticmethod
    @once_differentiable
    def backward(ctx, gz, glam, gmu):
        spec = ctx.spec

        def rows(g, width):
            if g is None:
                return np.zeros((spec.size, width))
            return np.ascontiguousarray(g.detach().numpy(), dtype=np.float64)

        grads = core_backward(ctx.engine.backward_batch, spec.sparse, ctx.data, ctx.solutions, rows(gz, spec.n),
                              rows(glam, spec.p), rows(gmu, spec.m), ctx.threads)
        out, position = [], 0
        for name, grad in zip(NAMES, grads):
            count = spec.counts[name]
            shapes = ctx.shapes[position:position + count]
            position += count
            if isinstance(grad, list):          # batched sparse values: one tensor each
                out.extend(torch.from_numpy(g) for g in grad)
            else:
                out.append(torch.from_numpy(np.asarray(grad)).reshape(shapes[0]))
        return (None, None, None, *out)


def _report_failure(engine, on_failure: str, index: int, status: str, message: Optional[str],
                    batch: Optional[int]) -> None:
    where = f"problem {index} of the batch" if batch is not None else "the problem"
    text = f"{where}: solver '{engine.solver_name}' returned status '{status}'"
    if message:
        text += f" ({message})"
    if on_failure == "raise":
        raise QPSolveError(text + "; set on_failure='warn' or 'nan' to continue past failed solves",
                           index, status)
    warnings.warn(text + "; its outputs are " + ("NaN" if on_failure == "nan" else "the solver's")
                  + " and its gradient is zero", RuntimeWarning, stacklevel=4)
