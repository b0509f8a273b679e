"""``dqp.solve``: the layer's forward pass on numpy / scipy data, no torch graph."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import scipy.sparse as sp

from . import _core, _settings
from ._engine import Engine
from ._sparse import scipy_to_csc


@dataclass
class QPResult:
    """Solution of one QP: ``z``, ``lam``, ``mu`` (numpy), ``status`` ("optimal",
    "primal_infeasible", "non_convex", ...) and ``solution``, the core's object
    (active set, degeneracy flags, the solver that answered, timings)."""

    z: np.ndarray
    lam: np.ndarray
    mu: np.ndarray
    status: str
    solution: _core.Solution

    def __repr__(self) -> str:
        return (f"QPResult(status='{self.status}', n={self.z.size}, active={len(self.solution.active)}, "
                f"kkt_residual={self.solution.kkt_residual:.1e})")


def solve(P, q, C=None, d=None, A=None, b=None, **options) -> QPResult:
    """Solve one QP given as numpy arrays or scipy sparse matrices.

    Options are those of :func:`dqp.dQP.build_settings`. A failed solve is
    reported in ``status`` (it does not raise); bad input raises ValueError
    naming the argument.

    Example:
        >>> import numpy as np, dqp
        >>> result = dqp.solve(np.eye(2), np.array([-1.0, -1.0]), np.array([[1.0, 1.0]]), np.array([1.0]))
        >>> result.status, result.z.round(6).tolist(), result.mu.round(6).tolist()
        ('optimal', [0.5, 0.5], [0.5])
    """
    settings = _settings.build_settings(**options)
    engine = Engine(settings)
    q = np.ascontiguousarray(q, dtype=np.float64).reshape(-1)
    n = q.shape[0]
    d = np.zeros(0) if d is None else np.ascontiguousarray(d, dtype=np.float64).reshape(-1)
    b = np.zeros(0) if b is None else np.ascontiguousarray(b, dtype=np.float64).reshape(-1)
    sparse = sp.issparse(P)
    if sparse:
        mats = [scipy_to_csc(sp.csc_matrix(M) if M is not None else sp.csc_matrix((0, n)), name)
                for M, name in ((P, "P"), (C, "C"), (A, "A"))]
    else:
        mats = [np.ascontiguousarray(np.zeros((0, n)) if M is None else (M.toarray() if sp.issparse(M) else M),
                                     dtype=np.float64) for M in (P, C, A)]
    data = (mats[0], q, mats[1], d, mats[2], b)
    solution, _ = engine.forward(sparse, data)
    return QPResult(solution.z, solution.lam, solution.mu, solution.status, solution)
