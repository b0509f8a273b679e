"""The torch modules: :class:`QPLayer` (idiomatic) and the seed-compatible
``dQP_layer`` built on it."""
from __future__ import annotations

import os
import time
import warnings
from typing import Optional

import numpy as np
import torch

from . import _settings
from ._engine import Engine
from ._function import QPFunction
from ._inputs import parse
from ._single import solve_single_dense


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
    ``QPLayer(qp_solver="osqp", eps_active=1e-6)``.
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

    def extra_repr(self) -> str:
        changed = {k: v for k, v in self.settings.items()
                   if k in _settings.DEFAULTS and v != _settings.DEFAULTS[k] and k != "solve_type"}
        text = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{self.engine!r}" + (f", {text}" if text else "")

    @property
    def threads(self) -> int:
        """Threads for a batch: n_threads, else n_cpu with omp_parallel, else every core."""
        if self.settings["n_threads"] is not None:
            return self.settings["n_threads"]
        if self.settings["omp_parallel"] and self.settings["n_cpu"]:
            return self.settings["n_cpu"]
        return os.cpu_count() or 1

    def forward(self, P, q, C=None, d=None, A=None, b=None):
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
                if solution.degenerate:
                    self._warn_if_degenerate()
                return z, lam, mu, solution.solve_time, time.perf_counter() - start
        parsed = parse(P, q, C, d, A, b, solve_type)
        spec = parsed.spec
        warm = self.last_solutions if self.settings["warm_start_from_previous"] else None
        if warm is not None and len(warm) != spec.size:
            warm = None
        options = {"threads": self.threads, "on_failure": self.settings["on_failure"], "warm": warm}
        z, lam, mu = QPFunction.apply(self.engine, spec, options, *parsed.tensors)
        self.last_solutions = options["solutions"]
        self._warn_if_degenerate()
        if spec.batch is None and not self.settings["empty_batch"]:
            z, lam, mu = z[0], lam[0], mu[0]
        outputs = tuple(t.to(dtype=parsed.dtype, device=parsed.device) for t in (z, lam, mu))
        t_solve = sum(s.solve_time for s in self.last_solutions)
        t_total = time.perf_counter() - start
        return (*outputs, t_solve, t_total)

    def _warn_if_degenerate(self) -> None:
        if self._warned_degenerate:
            return
        degenerate = [i for i, s in enumerate(self.last_solutions) if s.degenerate]
        if degenerate:
            self._warned_degenerate = True
            reason = self.last_solutions[degenerate[0]].degenerate_reason
            warnings.warn(
                f"dqp: {len(degenerate)} problem(s) of this call are degenerate ({reason}); their "
                "derivative is not unique and dqp returns one valid choice: that of the active set it polished on, or "
                "the least-squares one when that set's KKT matrix is singular (see layer.degenerate). "
                "This warning is shown once per layer.", RuntimeWarning, stacklevel=3)

    # Views of the last forward pass.
    @property
    def active(self) -> Optional[np.ndarray]:
        """Boolean mask of active inequality rows: (m,) for one problem, (B, m) for a batch."""
        if not self.last_solutions:
            return None
        masks = []
        for s in self.last_solutions:
            mask = np.zeros(s.mu.shape[0], dtype=bool)
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
        """Solver status of each problem of the last forward pass."""
        return [s.status for s in self.last_solutions]

    @property
    def degenerate(self) -> list:
        """Whether each problem of the last forward pass has a non-unique derivative."""
        return [s.degenerate for s in self.last_solutions]
