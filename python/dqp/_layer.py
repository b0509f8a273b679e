"""The torch modules: :class:`QPLayer` (idiomatic) and the seed-compatible
``dQP_layer`` built on it."""
from __future__ import annotations

import time
from typing import Optional

import numpy as np
import torch

from . import _settings
from ._engine import Engine
from ._function import CallOptions, QPFunction
from ._inputs import parse
from ._single import solve_single_dense
from ._warnings import warn


class QPLayer(torch.nn.Module):
    """A differentiable convex QP as a torch module.

        minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d,   A z = b

    ``layer(P, q, C, d, A, b)`` returns ``(z, lam, mu)``: the solution and the
    duals of the equalities and inequalities (stationarity
    ``P z + q + Aᵀ lam + Cᵀ mu = 0``, ``mu ≥ 0``), differentiable with respect to
    every input. Any input may carry a leading batch dimension; unbatched
    inputs are shared by the batch. Sparse matrices are torch sparse tensors
    (COO, CSR or CSC; a list of them for a batch): their gradients land on
    their values. float32 inputs give float32 outputs (computed in float64).

    Options are those of :func:`dqp.dQP.build_settings`, e.g.
    ``QPLayer(qp_solver="osqp", eps_active=1e-6)``. A failed solve raises
    :class:`dqp.QPSolveError` (``on_failure="warn"``: NaN outputs, zero
    gradients, ``layer.ok``); bad input raises ValueError or TypeError naming
    the argument.

    Example:
        >>> import torch, dqp
        >>> layer = dqp.QPLayer()
        >>> P = 2 * torch.eye(2, dtype=torch.float64)
        >>> q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        >>> C = torch.tensor([[-1.0, -1.0]], dtype=torch.float64)      # z₁ + z₂ ≥ 1
        >>> d = torch.tensor([-1.0], dtype=torch.float64)
        >>> z, lam, mu = layer(P, q, C, d)
        >>> z.detach().round(decimals=8).tolist(), mu.detach().round(decimals=8).tolist()
        ([0.5, 0.5], [1.0])
        >>> (0.5 * z @ P @ z + q @ z).backward()           # the optimal value: its gradient in q is z
        >>> q.grad.round(decimals=8).tolist()
        [0.5, 0.5]
    """

    def __init__(self, **options):
        super().__init__()
        options.setdefault("empty_batch", False)
        options.setdefault("solve_type", None)
        solve_type = options.pop("solve_type")
        self.settings = _settings.build_settings(**options)
        self.settings["solve_type"] = solve_type
        self.engine = Engine(self.settings)
        self.last_solutions: list = []
        self._warned_degenerate = False

    def __getstate__(self) -> dict:
        # Pickle, deepcopy and torch.save keep the settings (the engine
        # rebuilds itself from them) and drop the last call's solutions,
        # which hold C++ factorizations.
        state = self.__dict__.copy()
        state["last_solutions"] = []
        state.pop("_statuses", None)
        state.pop("_ok", None)
        return state

    def extra_repr(self) -> str:
        changed = {k: v for k, v in self.settings.items()
                   if k in _settings.DEFAULTS and v != _settings.DEFAULTS[k] and k != "solve_type"}
        text = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{self.engine!r}" + (f", {text}" if text else "")

    @property
    def threads(self) -> int:
        """Threads for a batch: n_threads, else n_cpu with omp_parallel, else torch.get_num_threads()."""
        return _settings.batch_threads(self.settings)

    @torch.compiler.disable
    def forward(self, P, q, C=None, d=None, A=None, b=None):
        """Solve the QP(s) and return ``(z, lam, mu)``, differentiable in every input.

        Inputs (n variables, m inequalities ``C z ≤ d``, p equalities ``A z = b``):

        - ``P``: (n, n) or (B, n, n) dense; or a torch sparse tensor (COO, CSR
          or CSC) of shape (n, n), or a list of B of them. Symmetric PSD.
        - ``q``: (n,) or (B, n).
        - ``C``, ``d``: (m, n) / (B, m, n) and (m,) / (B, m); optional, together.
          ``d`` may hold ``+inf`` (the row is dropped: zero dual, zero
          gradient) and ``-inf`` (the problem is infeasible).
        - ``A``, ``b``: (p, n) / (B, p, n) and (p,) / (B, p); optional, together.

        All inputs share one dtype (float32 or float64; the solve runs in
        float64) and one device (CPU; outputs return to the input's device).

        Returns ``z`` (n,), ``lam`` (p,), ``mu`` (m,) for an unbatched call,
        or (B, n), (B, p), (B, m) when any input carries a batch axis.

        The batch rule: an input with a leading batch axis keeps it in the
        outputs, whatever its size (B = 1 included); unbatched inputs are
        shared by every problem of the batch; ``empty_batch=True`` adds an
        axis of size 1 to the outputs of a fully unbatched call; ambiguous
        shapes (a column ``q`` of shape (n, 1)) are errors.

        A failed solve raises :class:`dqp.QPSolveError` (``on_failure="raise"``),
        or gives that problem NaN outputs and zero gradients with one
        warning (``"warn"``, or its alias ``"nan"``); ``layer.ok`` masks them.
        """
        z, lam, mu, _, _ = self._run(P, q, C, d, A, b, self.settings["solve_type"])
        return z, lam, mu

    def _run(self, P, q, C, d, A, b, solve_type):
        start = time.perf_counter()
        if solve_type != "sparse":
            single = solve_single_dense(self, P, q, C, d, A, b, self.settings["empty_batch"])
            if single is not None:
                z, lam, mu, solution = single
                # Not through nn.Module.__setattr__, which costs microseconds.
                self.__dict__["last_solutions"] = [solution]
                self.__dict__["_statuses"] = None
                self.__dict__["_ok"] = [solution.optimal]
                self.__dict__["_batched"] = self.settings["empty_batch"]
                if solution.degenerate:
                    self._warn_if_degenerate()
                return z, lam, mu, solution.solve_time, time.perf_counter() - start
        parsed = parse(P, q, C, d, A, b, solve_type)
        spec = parsed.spec
        warm = self.last_solutions if self.settings["warm_start_from_previous"] else None
        if warm is not None and (len(warm) != spec.size or any(s is None for s in warm)):
            warm = None
        options = CallOptions(threads=self.threads, on_failure=self.settings["on_failure"], warm=warm)
        z, lam, mu, _ = QPFunction.apply(self.engine, spec, options, *parsed.tensors)
        self.last_solutions = options["solutions"]
        self.__dict__["_statuses"] = options["statuses"]
        self.__dict__["_ok"] = options["ok"]
        batched = spec.batch is not None or self.settings["empty_batch"]
        self.__dict__["_batched"] = batched
        self._warn_if_degenerate()
        if not batched:
            z, lam, mu = z[0], lam[0], mu[0]
        outputs = tuple(t.to(dtype=parsed.dtype, device=parsed.device) for t in (z, lam, mu))
        t_solve = sum(s.solve_time for s in self.last_solutions if s is not None)
        t_total = time.perf_counter() - start
        return (*outputs, t_solve, t_total)

    def _warn_if_degenerate(self) -> None:
        if self._warned_degenerate:
            return
        degenerate = [i for i, s in enumerate(self.last_solutions) if s is not None and s.degenerate]
        if degenerate:
            self._warned_degenerate = True
            reason = self.last_solutions[degenerate[0]].degenerate_reason
            warn(
                f"dqp: {len(degenerate)} problem(s) of this call are degenerate ({reason}); their "
                "derivative is not unique and dqp returns one valid choice: that of the active set it polished on, or "
                "the least-squares one when that set's KKT matrix is singular (see layer.degenerate). "
                "This warning is shown once per layer.")

    # Views of the last forward pass. One convention: `ok` is a bool tensor
    # shaped like the outputs' batch axis (for masking them); the rest
    # describe the problems as the seed did: `active` and `nActive` numpy,
    # `statuses` and `degenerate` lists with one entry per problem.
    @property
    def ok(self) -> Optional[torch.Tensor]:
        """Bool tensor of successes: shape (B,) when the outputs are batched, () otherwise.

        ``z[layer.ok]`` keeps the solved problems; a failed one (not
        optimal, or an invalid input under on_failure "warn"/"nan") has NaN
        outputs and zero gradients.
        """
        flags = self.__dict__.get("_ok")
        if flags is None:
            return None
        mask = torch.tensor(flags, dtype=torch.bool)
        return mask if self.__dict__.get("_batched") else mask[0]

    @property
    def active(self) -> Optional[np.ndarray]:
        """Boolean mask of active inequality rows: (m,) for one problem, (B, m) for a batch."""
        if not self.last_solutions:
            return None
        m = next((s.mu.shape[0] for s in self.last_solutions if s is not None), 0)
        masks = []
        for s in self.last_solutions:
            mask = np.zeros(m, dtype=bool)
            if s is not None:
                mask[np.asarray(s.active, dtype=np.int64)] = True
            masks.append(mask)
        return masks[0] if len(masks) == 1 else np.stack(masks)

    @property
    def nActive(self):
        """Number of active inequality rows (per problem for a batch)."""
        mask = self.active
        if mask is None:
            return None
        return int(mask.sum()) if mask.ndim == 1 else mask.sum(axis=1)

    @property
    def statuses(self) -> list:
        """Status of each problem of the last forward pass ("optimal", "primal_infeasible",
        "non_convex", "invalid_input", ...)."""
        statuses = self.__dict__.get("_statuses")
        if statuses is not None:
            return list(statuses)
        return [s.status for s in self.last_solutions]

    @property
    def storages(self) -> list:
        """The path that solved each problem of the last forward pass: "dense" or "sparse".

        With ``storage="auto"`` (the default) and the default solvers, dense
        inputs that are large and mostly zeros run on the sparse path; their
        outputs and gradients are dense all the same. None for a problem whose
        input was invalid (``on_failure`` "warn" or "nan").
        """
        return [s.storage if s is not None else None for s in self.last_solutions]

    @property
    def degenerate(self) -> list:
        """Whether each problem of the last forward pass has a non-unique derivative."""
        return [s is not None and s.degenerate for s in self.last_solutions]
