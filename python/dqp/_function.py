"""The torch autograd Function: a whole batch in one forward and one backward.

Forward hands float64 CPU buffers to the C++ batch engine (zero-copy; shared
parameters are viewed once, not copied), which solves on a thread pool with
the GIL released. A qpsolvers solver runs its solves here, then the core takes
over. The core's Solution objects, which own the KKT factorizations, stay in
``ctx``: backward reuses them, in C++, for the whole batch at once.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Optional

import numpy as np
import torch

from ._autodiff import Factorizations, tangents as tangents_of, vjp
from ._inputs import NAMES, Spec
from ._warnings import warn

MATRICES = ("P", "C", "A")


class QPSolveError(RuntimeError):
    """A forward solve failed; ``index`` is the batch element, ``status`` the solver's status.

    Example:
        >>> import torch, dqp
        >>> P = torch.eye(1, dtype=torch.float64)
        >>> C = torch.tensor([[1.0], [-1.0]], dtype=torch.float64)   # z ≤ -1 and z ≥ 1
        >>> d = torch.tensor([-1.0, -1.0], dtype=torch.float64)
        >>> try:
        ...     dqp.QPLayer()(P, torch.zeros(1, dtype=torch.float64), C, d)
        ... except dqp.QPSolveError as error:
        ...     print(error.index, error.status)
        0 primal_infeasible
    """

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


class CallOptions(dict):
    """The options of one layer call, and what its forward leaves behind
    ("solutions", "ok", "statuses", "factors"). A dict subclass on purpose:
    torch.func rebuilds plain dicts among a Function's inputs, which would
    lose what the forward writes; a subclass is passed through as it is."""


class QPFunction(torch.autograd.Function):
    """z, lam, mu, ids = QPFunction.apply(engine, spec, options, *tensors); shapes (B, n), (B, p), (B, m), (B,).

    A failed element (a solve that is not optimal, or with on_failure other
    than "raise" an element whose inputs hold NaN or Inf) gets NaN outputs and
    zero gradients; ``options["ok"]`` receives the per-element success list.

    ``ids`` says which solution of ``options["factors"]`` each row uses (-1:
    a failed element, whose derivatives are zero): under vmap the call is
    flattened into one bigger batch, and the derivatives find their
    factorization through it.

    Backward has two paths. A plain ``loss.backward()`` runs the core's C++
    backward for the whole batch. When autograd records the backward
    (``create_graph=True``, Hessians, torch.func), it is written in torch
    operations around :class:`~dqp._autodiff.KKTSolve` so that it can be
    differentiated again; both give the same first derivative. Forward mode
    (``jvp``) and ``vmap`` have their own rules.
    """

    @staticmethod
    def forward(engine, spec: Spec, options: dict, *tensors):
        data = batch_data(spec, tensors)
        on_failure = options["on_failure"]
        invalid = {} if on_failure == "raise" else invalid_elements(spec, tensors)
        good = [i for i in range(spec.size) if i not in invalid]
        if not invalid:
            solutions, messages, Z, Lam, Mu = _forward(engine, spec, data, options["threads"], options.get("warm"))
            sub_spec, sub_data = spec, data
        else:           # solve the valid elements only; the others stay NaN
            Z, Lam, Mu = (np.full((spec.size, width), np.nan) for width in (spec.n, spec.p, spec.m))
            solutions, messages = [None] * spec.size, [None] * spec.size
            sub_spec, sub_data = subset(spec, data, good)
            if good:
                sub_solutions, sub_messages, Zg, Lamg, Mug = _forward(
                    engine, sub_spec, sub_data, options["threads"], _subset_list(options.get("warm"), good))
                Z[good], Lam[good], Mu[good] = Zg, Lamg, Mug
                for j, i in enumerate(good):
                    solutions[i], messages[i] = sub_solutions[j], sub_messages[j]
        for i in good:
            if not solutions[i].optimal and messages[i] is None:
                messages[i] = minus_infinity_message(element(spec, data, i)[3])
        failures = [(i, "invalid_input", invalid[i]) if i in invalid else (i, solutions[i].status, messages[i])
                    for i in range(spec.size) if i in invalid or not solutions[i].optimal]
        if failures:
            _report_failures(engine, on_failure, failures, spec.batch)
            failed = [i for i, _, _ in failures]
            Z[failed], Lam[failed], Mu[failed] = np.nan, np.nan, np.nan
        ok = [i not in invalid and solutions[i].optimal for i in range(spec.size)]
        options["solutions"], options["ok"] = solutions, ok
        options["statuses"] = ["invalid_input" if i in invalid else solutions[i].status for i in range(spec.size)]
        # What backward needs, handed to setup_context through the options.
        options["backward"] = dict(engine=engine, spec=sub_spec, data=sub_data,
                                   solutions=[solutions[i] for i in good], good=good, size=spec.size, ok=ok,
                                   threads=options["threads"],
                                   batched=[spec.batched[name] for name in NAMES for _ in range(spec.counts[name])])
        shared = spec.sparse and all(spec.counts[name] == 1 for name in MATRICES)
        options["factors"] = Factorizations(engine, spec.sparse, sub_data, [solutions[i] for i in good], spec.n,
                                            spec.p, spec.m, options["threads"], spec.patterns if shared else None)
        position = {i: j for j, i in enumerate(good)}
        ids = torch.tensor([position[i] if ok[i] else -1 for i in range(spec.size)], dtype=torch.int64)
        return torch.from_numpy(Z), torch.from_numpy(Lam), torch.from_numpy(Mu), ids

    @staticmethod
    def setup_context(ctx, inputs, output):
        engine, spec, options, *tensors = inputs
        z, lam, mu, ids = output
        ctx.mark_non_differentiable(ids)
        for key, value in options["backward"].items():
            setattr(ctx, key, value)
        ctx.full_spec, ctx.factors = spec, options["factors"]
        ctx.shapes = [t.shape for t in tensors]
        ctx.save_for_backward(*tensors, z, lam, mu, ids)
        ctx.save_for_forward(*tensors, z, lam, mu, ids)

    @staticmethod
    def backward(ctx, gz, glam, gmu, _gids):
        spec, good, factors = ctx.spec, ctx.good, ctx.factors
        if torch.is_grad_enabled() or not _plain(gz, glam, gmu) or len(factors.solutions) != len(good):
            if spec.sparse and not factors.entries:
                raise _sparse_unsupported("a differentiable backward (create_graph=True, torch.func, Hessians)")
            if spec.sparse and any(need for name, need in zip(NAMES, ctx.needs_input_grad[3:]) if name in MATRICES):
                # torch's sparse tensors pass first derivatives to their
                # values but not second ones (it returns zeros): refuse
                # rather than let a Hessian come out silently zero.
                raise NotImplementedError(
                    "dqp: a differentiable backward (create_graph=True, Hessians, torch.func) in the values of "
                    "sparse matrices is not supported: torch's sparse tensors do not carry second derivatives "
                    "of their values. Second derivatives in q, d and b work with sparse matrices that do not "
                    "require grad; pass dense matrices to differentiate twice in P, C or A")
            saved = ctx.saved_tensors
            tensors, (z, lam, mu, ids) = saved[:-4], saved[-4:]
            grads = vjp(factors, ids, *tensors, z, lam, mu, gz, glam, gmu)
            return (None, None, None, *(g if need else None for g, need in zip(grads, ctx.needs_input_grad[3:])))
        if not good:
            return (None, None, None, *(torch.zeros(shape, dtype=torch.float64) for shape in ctx.shapes))
        # Failed elements pass no gradient, whatever arrives (NaN outputs
        # make NaN incoming gradients unless the loss masks them).
        failed = [j for j, i in enumerate(good) if not ctx.ok[i]]

        def rows(g, width):
            if g is None:
                return np.zeros((spec.size, width))
            out = np.ascontiguousarray(g.detach().numpy()[good], dtype=np.float64)
            out[failed] = 0.0
            return out

        # Only the gradients of inputs that need one are computed (constant
        # matrices cost nothing): a name's flag covers all its tensors.
        needs, wanted, position = ctx.needs_input_grad[3:], [], 0
        for name in NAMES:
            count = spec.counts[name]
            wanted.append(any(needs[position:position + count]))
            position += count
        grads = core_backward(ctx.engine.backward_batch, spec.sparse, ctx.data, ctx.solutions, rows(gz, spec.n),
                              rows(glam, spec.p), rows(gmu, spec.m), ctx.threads, tuple(wanted))
        out, position = [], 0
        everyone = len(good) == ctx.size
        for name, grad in zip(NAMES, grads):
            count = spec.counts[name]
            shapes = ctx.shapes[position:position + count]
            batched = ctx.batched[position]
            position += count
            if grad is None:
                out.extend([None] * count)
            elif isinstance(grad, list) or (batched and spec.sparse and name in MATRICES):
                # Batched sparse values: one tensor each (a sub-batch of one
                # comes back as a single array, like a shared matrix).
                per_element = grad if isinstance(grad, list) else [grad]
                full = [torch.zeros(shape, dtype=torch.float64) for shape in shapes]
                for j, i in enumerate(good):
                    full[i] = torch.from_numpy(np.asarray(per_element[j]))
                out.extend(full)
            elif batched and not everyone:
                full = torch.zeros(shapes[0], dtype=torch.float64)
                full[good] = torch.from_numpy(np.asarray(grad)).reshape((len(good),) + tuple(shapes[0][1:]))
                out.append(full)
            else:
                out.append(torch.from_numpy(np.asarray(grad)).reshape(shapes[0]))
        return (None, None, None, *out)

    @staticmethod
    def jvp(ctx, _engine, _spec, _options, *tangents):
        spec = ctx.full_spec
        if spec.sparse and not ctx.factors.entries:
            raise _sparse_unsupported("forward-mode AD (torch.func.jvp, jacfwd, torch.autograd.forward_ad)")
        saved = ctx.saved_tensors
        tensors, (z, lam, mu, ids) = saved[:-4], saved[-4:]
        dz, dlam, dmu = tangents_of(ctx.factors, ids, *tensors, z, lam, mu, *tangents)
        return dz, dlam, dmu, None

    @staticmethod
    def vmap(info, in_dims, engine, spec: Spec, options: dict, *tensors):
        """The vmapped dimension joins dqp's batch axis: one batched call."""
        mapped_matrix = any(dim is not None for name, dim in zip(NAMES, in_dims[3:]) if name in MATRICES)
        if spec.sparse and (mapped_matrix or any(spec.counts[name] != 1 for name in MATRICES)):
            raise NotImplementedError(
                "dqp: torch.vmap over sparse matrices is not supported (torch.vmap does not batch sparse "
                "tensors); vmap over q, d, b with the sparse matrices shared works, or pass a batch directly "
                "(a list of sparse matrices)")
        V = info.batch_size
        size = spec.size
        flat, batched = [], {}
        for name, t, dim in zip(NAMES, tensors, in_dims[3:]):
            if dim is None and not spec.batched[name]:
                flat.append(t)                               # shared by every problem: stays shared
                batched[name] = False
                continue
            if dim is None:
                t = t.unsqueeze(0).expand(V, *t.shape)
            else:
                t = t.movedim(dim, 0)
                if not spec.batched[name]:
                    t = t.unsqueeze(1).expand(V, size, *t.shape[1:]) if spec.batch is not None else t.unsqueeze(1)
            flat.append(t.reshape(V * size, *t.shape[2:]).contiguous())
            batched[name] = True
        inner = Spec(sparse=spec.sparse, batch=V * size, n=spec.n, m=spec.m, p=spec.p, batched=batched,
                     patterns=dict(spec.patterns), counts=dict(spec.counts))
        options["warm"] = None             # warm starts are per problem of the unmapped call
        z, lam, mu, ids = QPFunction.apply(engine, inner, options, *flat)
        return tuple(t.reshape(V, size, *t.shape[1:]) for t in (z, lam, mu, ids)), (0, 0, 0, 0)


def _plain(*tensors) -> bool:
    """True when none of the tensors is a torch.func wrapper (those have no numpy view)."""
    return not any(torch._C._functorch.is_functorch_wrapped_tensor(t) for t in tensors)


def _sparse_unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"dqp: {what} is not supported for a batch given as a list of sparse matrices; it is for sparse "
        "matrices shared by the batch (one torch sparse tensor each) and for dense inputs. First-order "
        "gradients (loss.backward(), torch.autograd.grad) work for every input")


def invalid_elements(spec: Spec, tensors) -> dict:
    """{element: reason} for the elements whose inputs hold values the core
    rejects: NaN or Inf, except +-inf in d (a row that is never active, or
    one that can never hold). A shared input makes every element invalid."""
    bad: dict = {}
    position = 0
    for name in NAMES:
        count = spec.counts[name]
        items = tensors[position:position + count]
        position += count
        if spec.sparse and name in MATRICES and len(items) > 1:          # batched sparse values
            flags = [bool(_not_finite(t, name).any()) for t in items]
        else:
            t = items[0]
            if t.numel() == 0:
                continue
            flag = _not_finite(t, name)
            flags = flag.reshape(spec.size, -1).any(dim=1).tolist() if spec.batched[name] else \
                [bool(flag.any())] * spec.size
        for i, flagged in enumerate(flags):
            if flagged and i not in bad:
                bad[i] = f"{name} contains NaN" + ("" if name == "d" else " or Inf")
    return bad


def _not_finite(t: torch.Tensor, name: str) -> torch.Tensor:
    return torch.isnan(t) if name == "d" else ~torch.isfinite(t)


def subset(spec: Spec, data: tuple, keep: list) -> tuple:
    """The spec and batch data of the elements ``keep``; shared inputs stay shared."""
    sub = replace(spec, batch=len(keep))
    out = []
    for name, value in zip(NAMES, data):
        if not spec.batched[name]:
            out.append(value)
        elif isinstance(value, list):
            out.append([value[i] for i in keep])
        else:
            out.append(np.ascontiguousarray(value[keep]))
    if spec.sparse:
        sub.patterns = {name: ([patterns[i] for i in keep] if isinstance(patterns, list) else patterns)
                        for name, patterns in spec.patterns.items()}
    return sub, tuple(out)


def _subset_list(values, keep):
    if values is None:
        return None
    chosen = [values[i] for i in keep]
    return None if any(v is None for v in chosen) else chosen


def minus_infinity_message(d: np.ndarray) -> Optional[str]:
    """Why a problem with d_i = -inf is infeasible, or None."""
    rows = np.flatnonzero(np.isneginf(d))
    if rows.size == 0:
        return None
    return f"d[{rows[0]}] = -inf: the row C[{rows[0]}] z <= -inf can never hold"


def failure_text(engine, index: int, status: str, message: Optional[str], batch: Optional[int]) -> str:
    where = f"problem {index} of the batch" if batch is not None else "the problem"
    if status == "invalid_input":
        return f"{where}: {message} (status 'invalid_input')"
    if status == "non_convex":
        return (f"{where}: P has negative curvature (status 'non_convex'), so the QP has no minimum a solver could "
                "certify and none was run; check_PSD=True raises with P's smallest eigenvalue")
    text = f"{where}: solver '{engine.solver_name}' returned status '{status}'"
    return text + (f" ({message})" if message else "")


def _report_failures(engine, on_failure: str, failures: list, batch: Optional[int]) -> None:
    """Raise on the first failure, or warn once for all of them (at the user's line)."""
    if on_failure == "raise":
        index, status, message = failures[0]
        raise QPSolveError(failure_text(engine, index, status, message, batch)
                           + "; set on_failure='warn' or 'nan' to continue past failed solves", index, status)
    shown = "; ".join(failure_text(engine, *failure, batch) for failure in failures[:5])
    more = f"; and {len(failures) - 5} more" if len(failures) > 5 else ""
    count = f"{len(failures)} of {batch} problems failed: " if batch is not None else ""
    warn(f"dqp: {count}{shown}{more}. Failed problems get NaN outputs and zero gradients "
         "(layer.ok masks them).")
