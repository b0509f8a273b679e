"""One forward solve and one backward pass of a single problem, on numpy data.

The engine holds the C++ layer. Native solvers run entirely in C++; a
qpsolvers solver runs its solve here and hands the point to the core, which
does everything else.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from . import _bridge, _core
from ._function import core_backward
from ._solvers import resolve_linear_solver, resolve_qp_solver


class Engine:
    """Forward/backward of one problem on float64 numpy arrays.

    Matrices are dense 2-D arrays or ``(pattern, values)`` pairs (CSC).
    """

    def __init__(self, settings: dict):
        self.solver_name, self.native = resolve_qp_solver(settings["qp_solver"])
        core = _core.Settings()
        core.qp_solver = self.solver_name if self.native else "external"
        fallbacks = list(settings["fallback_solvers"] or [])
        if fallbacks and not self.native:
            raise ValueError(f"fallback_solvers needs a native qp_solver; '{self.solver_name}' runs through qpsolvers")
        for name in fallbacks:
            if resolve_qp_solver(name) != (name, True):
                raise ValueError(f"fallback_solvers: '{name}' is not a native solver; native solvers are "
                                 f"{', '.join(sorted(_core.native_solvers()))}")
        core.fallback_solvers = fallbacks
        core.lin_solver = resolve_linear_solver(settings["lin_solver"])
        if settings["storage"] == "sparse" and not self.native:
            raise ValueError(f"storage='sparse' needs a native qp_solver; '{self.solver_name}' runs through "
                             "qpsolvers, which gets the data in the storage given")
        core.storage = settings["storage"]
        core.eps_abs = float(settings["eps_abs"])
        core.eps_rel = float(settings["eps_rel"])
        core.eps_active = float(settings["eps_active"])
        core.max_iter = int(settings["max_iter"])
        core.time_limit = float(settings["time_limit"] or 0.0)
        core.dual_available = settings["dual_available"] is not False
        core.normalize_constraints = bool(settings["normalize_constraints"])
        core.refine_active = bool(settings["refine_active"])
        core.polish = bool(settings["polish"])
        core.check_psd = bool(settings["check_PSD"])
        core.warm_start = bool(settings["warm_start_from_previous"])
        core.verbose = bool(settings["verbose"])
        self.settings = settings
        self.core = _core.Layer(core, native=self.native)

    def __reduce__(self):
        # The C++ layer does not pickle; its settings do, and rebuild it.
        return (Engine, (self.settings,))

    def __repr__(self) -> str:
        kind = "native" if self.native else "qpsolvers"
        return f"Engine(qp_solver='{self.solver_name}' ({kind}), lin_solver='{self.core.settings.lin_solver}')"

    def forward(self, sparse: bool, data, warm: Optional[_core.Solution] = None) -> tuple[_core.Solution, Optional[str]]:
        """Solve one problem; returns the core's Solution and a failure message (or None)."""
        P, q, C, d, A, b = data
        if self.native:
            if sparse:
                return self.core.forward_sparse(_csc(P), q, _csc(C), d, _csc(A), b, warm), None
            return self.core.forward_dense(P, q, C, d, A, b, warm), None
        # Validate before a Python solver sees the data: some crash the process
        # on what the core rejects with a message (qpalm on an empty P).
        if sparse:
            self.core.validate_sparse(_csc(P), q, _csc(C), d, _csc(A), b)
        else:
            self.core.validate_dense(P, q, C, d, A, b)
        z, lam, mu, has_duals, status, message = self._bridge_solve(sparse, data, warm)
        if sparse:
            solution = self.core.forward_from_sparse(_csc(P), q, _csc(C), d, _csc(A), b, z, lam, mu, has_duals, status)
        else:
            solution = self.core.forward_from_dense(P, q, C, d, A, b, z, lam, mu, has_duals, status)
        return solution, message

    def backward(self, sparse: bool, data, solution: _core.Solution, dz, dlam, dmu):
        P, q, C, d, A, b = data
        if sparse:
            return core_backward(self.core.backward_sparse, _csc(P), q, _csc(C), d, _csc(A), b, solution, dz, dlam, dmu)
        return core_backward(self.core.backward_dense, P, q, C, d, A, b, solution, dz, dlam, dmu)

    def forward_batch(self, sparse: bool, data, size: int, threads: int, warm):
        """Native solvers only: the whole batch in C++. Returns (solutions, Z, Lam, Mu).

        ``data`` holds arrays with a leading batch axis (per problem) or
        without (shared); sparse matrices are lists of (pattern, values).
        """
        P, q, C, d, A, b = data
        if sparse:
            P, C, A = ([_csc(item) for item in matrix] for matrix in (P, C, A))
            return _core.forward_sparse_batch(self.core, P, q, C, d, A, b, size, threads, True, warm)
        return _core.forward_dense_batch(self.core, P, q, C, d, A, b, size, threads, True, warm)

    def backward_batch(self, sparse: bool, data, solutions, dz, dlam, dmu, threads: int,
                       wanted: tuple = (True,) * 6):
        """Gradients of the six parameters; shared parameters get the batch's sum.

        ``wanted`` (six flags, in (P, q, C, d, A, b) order) picks the ones to
        compute; the others are None.
        """
        P, q, C, d, A, b = data
        if sparse:
            P, C, A = ([_csc(item) for item in matrix] for matrix in (P, C, A))
            return _core.backward_sparse_batch(self.core, P, q, C, d, A, b, solutions, dz, dlam, dmu, threads,
                                               wanted)
        return _core.backward_dense_batch(self.core, P, q, C, d, A, b, solutions, dz, dlam, dmu, threads, wanted)

    def _bridge_solve(self, sparse: bool, data, warm):
        P, q, C, d, A, b = data
        if np.isneginf(d).any():        # the core reports it: no solver needs to run
            return (np.zeros(q.shape[0]), np.zeros(b.shape[0]), np.zeros(d.shape[0]), False,
                    _core.Status.primal_infeasible, None)
        if sparse:
            P, C, A = (_bridge.as_scipy_csc(*matrix) for matrix in (P, C, A))
        # Rows with d_i = +inf never bind: the solver does not see them, their duals are zero.
        bounded = np.isfinite(d)
        m_full = d.shape[0]
        if not bounded.all():
            C, d = C[np.flatnonzero(bounded)], d[bounded]
        scale_C = scale_A = None
        if self.settings["normalize_constraints"]:
            # Same scaling as the core's native path: unit rows, duals rescaled.
            scale_C, scale_A = _row_scale(C), _row_scale(A)
            C, d = _scale_rows(C, scale_C), d * scale_C
            A, b = _scale_rows(A, scale_A), b * scale_A
        P, C, A = _bridge.in_solver_format(self.solver_name, P, C, A)
        initvals = warm.z if (warm is not None and self.settings["warm_start_from_previous"]) else None
        z, lam, mu, has_duals, status, message = _bridge.solve(
            self.solver_name, P, q, C, d, A, b,
            eps_abs=self.settings["eps_abs"], eps_rel=self.settings["eps_rel"],
            keywords=self.settings["qp_solver_keywords"], verbose=bool(self.settings["verbose"]),
            initvals=initvals)
        if scale_C is not None and has_duals:
            mu, lam = mu * scale_C, lam * scale_A
        if not bounded.all():
            full = np.zeros(m_full) if has_duals else np.full(m_full, np.nan)
            full[bounded] = mu
            mu = full
        return z, lam, mu, has_duals, status, message


def _csc(matrix):
    pattern, values = matrix
    return pattern.as_core(values)


def _row_scale(M) -> np.ndarray:
    if sp.issparse(M):
        norms = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel())
    else:
        norms = np.linalg.norm(M, axis=1)
    return np.where(norms < 1e-7, 1.0, 1.0 / np.where(norms == 0, 1.0, norms))


def _scale_rows(M, scale: np.ndarray):
    if sp.issparse(M):
        return sp.csc_matrix(sp.diags(scale) @ M)
    return M * scale[:, None]
