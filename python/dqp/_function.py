"""The torch autograd Function: a whole batch in one forward and one backward.

Forward hands float64 CPU buffers to the C++ core (zero-copy), one problem per
batch element, on a thread pool when asked (the core releases the GIL). The
core's Solution objects, which hold the KKT factorizations, stay in ``ctx`` so
backward reuses them. Parameters shared by the batch get the sum of the
per-problem gradients.
"""
from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from ._inputs import NAMES, Spec


class QPSolveError(RuntimeError):
    """A forward solve failed; ``index`` is the batch element, ``status`` the solver's status."""

    def __init__(self, message: str, index: int, status: str):
        super().__init__(message)
        self.index = index
        self.status = status


def _split(spec: Spec, tensors):
    """name -> list of numpy arrays (one per tensor) from the flat tensor list."""
    arrays, position = {}, 0
    for name in NAMES:
        count = spec.counts[name]
        arrays[name] = [t.detach().numpy() for t in tensors[position:position + count]]
        position += count
    return arrays


def element(spec: Spec, arrays: dict, i: int):
    """The six inputs of batch element i, as the engine takes them."""
    out = []
    for name in NAMES:
        items = arrays[name]
        if spec.sparse and name in ("P", "C", "A"):
            patterns = spec.patterns[name]
            if spec.batched[name]:
                out.append((patterns[i], items[i]))
            else:
                out.append((patterns, items[0]))
        else:
            out.append(items[0][i] if spec.batched[name] else items[0])
    return tuple(out)


def _map(function, count: int, threads: int):
    if threads <= 1 or count <= 1:
        return [function(i) for i in range(count)]
    with ThreadPoolExecutor(max_workers=min(threads, count)) as pool:
        return list(pool.map(function, range(count)))


class QPFunction(torch.autograd.Function):
    """z, lam, mu = QPFunction.apply(engine, spec, options, *tensors)."""

    @staticmethod
    def forward(ctx, engine, spec: Spec, options: dict, *tensors):
        arrays = _split(spec, tensors)
        warm = options.get("warm") or [None] * spec.size

        def solve(i):
            return engine.forward(spec.sparse, element(spec, arrays, i), warm[i] if i < len(warm) else None)

        results = _map(solve, spec.size, options["threads"])
        solutions = [solution for solution, _ in results]
        for i, (solution, message) in enumerate(results):
            if not solution.optimal:
                _report_failure(engine, options["on_failure"], i, solution.status, message, spec.batch)

        z = np.stack([s.z for s in solutions])
        lam = np.stack([s.lam for s in solutions])
        mu = np.stack([s.mu for s in solutions])
        if options["on_failure"] == "nan":
            for i, s in enumerate(solutions):
                if not s.optimal:
                    z[i], lam[i], mu[i] = np.nan, np.nan, np.nan
        ctx.engine, ctx.spec, ctx.arrays, ctx.solutions = engine, spec, arrays, solutions
        ctx.threads = options["threads"]
        ctx.tensor_shapes = [t.shape for t in tensors]
        options["solutions"] = solutions
        return torch.from_numpy(z), torch.from_numpy(lam), torch.from_numpy(mu)

    @staticmethod
    @once_differentiable
    def backward(ctx, gz, glam, gmu):
        spec, arrays, solutions = ctx.spec, ctx.arrays, ctx.solutions
        B = spec.size

        def grad_array(g, width):
            return np.zeros((B, width)) if g is None else g.detach().numpy()

        gz, glam, gmu = grad_array(gz, spec.n), grad_array(glam, spec.p), grad_array(gmu, spec.m)

        def differentiate(i):
            if not solutions[i].differentiable:
                return None
            return ctx.engine.backward(spec.sparse, element(spec, arrays, i), solutions[i],
                                       np.ascontiguousarray(gz[i]), np.ascontiguousarray(glam[i]),
                                       np.ascontiguousarray(gmu[i]))

        per_problem = _map(differentiate, B, ctx.threads)
        grads = []
        for k, name in enumerate(NAMES):
            shapes = ctx.tensor_shapes
            start = sum(spec.counts[other] for other in NAMES[:k])
            if not ctx.needs_input_grad[3 + start] and spec.counts[name] == 1:
                grads.append(None)
                continue
            grads.extend(_gather(name, k, spec, per_problem, shapes[start:start + spec.counts[name]]))
        return (None, None, None, *grads)


def _gather(name: str, k: int, spec: Spec, per_problem, shapes) -> list:
    """Gradients for the tensors of one parameter: per element, or summed if shared."""
    if spec.sparse and name in ("P", "C", "A") and spec.batched[name]:
        out = []
        for i, shape in enumerate(shapes):
            g = per_problem[i]
            out.append(torch.zeros(shape, dtype=torch.float64) if g is None else torch.from_numpy(g[k]))
        return out
    shape = shapes[0]
    if spec.batched[name]:
        total = np.zeros(tuple(shape))
        for i, g in enumerate(per_problem):
            if g is not None:
                total[i] = g[k]
    else:
        total = np.zeros(tuple(shape))
        for g in per_problem:
            if g is not None:
                total += g[k].reshape(total.shape)
    return [torch.from_numpy(total)]


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
