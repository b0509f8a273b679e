"""Forward solves through the qpsolvers package, for solvers with no native
adapter. Only the solve runs in Python; active set, KKT factorization and
every derivative stay in the C++ core.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import scipy.sparse as sp

from . import _core

# Solvers whose qpsolvers interface returns duals (the reference's list).
SOLVERS_WITH_DUALS = frozenset({
    "clarabel", "cvxopt", "daqp", "ecos", "gurobi", "highs", "hpipm", "kvxopt", "mosek",
    "osqp", "piqp", "proxqp", "pyqpmad", "qpalm", "qpoases", "qpswift", "qtqp", "quadprog", "scs",
})


def qpsolvers_module():
    try:
        import qpsolvers
    except ImportError as error:  # pragma: no cover - qpsolvers is a dependency
        raise ImportError("the qpsolvers bridge needs the 'qpsolvers' package: pip install qpsolvers") from error
    return qpsolvers


def tolerance_keywords(solver: str, eps_abs: Optional[float], eps_rel: Optional[float]) -> dict:
    """Map eps_abs / eps_rel onto each solver's own tolerance keywords."""
    a, r = eps_abs, eps_rel
    table = {
        "clarabel": {"tol_feas": a, "tol_gap_abs": a, "tol_gap_rel": r},
        "cvxopt": {"feastol": a},
        "kvxopt": {"feastol": a},
        "ecos": {"feastol": a},
        "daqp": {"primal_tol": a, "dual_tol": a},
        "gurobi": {"FeasibilityTol": a, "OptimalityTol": a},
        "highs": {"dual_feasibility_tolerance": a, "primal_feasibility_tolerance": a},
        "hpipm": {"tol_stat": a, "tol_eq": a, "tol_ineq": a, "tol_comp": a},
        "osqp": {"eps_abs": a, "eps_rel": r},
        "qpalm": {"eps_abs": a, "eps_rel": r},
        "scs": {"eps_abs": a, "eps_rel": r},
        "piqp": {"check_duality_gap": True, "eps_abs": a, "eps_rel": r,
                 "eps_duality_gap_abs": a, "eps_duality_gap_rel": r},
        "proxqp": {"check_duality_gap": True, "eps_abs": a, "eps_rel": r,
                   "eps_duality_gap_abs": a, "eps_duality_gap_rel": r},
        "qpswift": {"RELTOL": None if a is None else a * np.sqrt(3.0)},
    }
    keywords = table.get(solver, {})
    return {key: value for key, value in keywords.items() if value is not None}


def solve(solver: str, P, q, C, d, A, b, *, eps_abs, eps_rel, keywords: Optional[dict],
          verbose: bool, initvals: Optional[np.ndarray]):
    """Solve with qpsolvers; returns (z, lam, mu, has_duals, status)."""
    qpsolvers = qpsolvers_module()
    n, m, p = q.shape[0], d.shape[0], b.shape[0]
    problem = qpsolvers.Problem(
        P, q,
        G=C if m > 0 else None, h=d if m > 0 else None,
        A=A if p > 0 else None, b=b if p > 0 else None,
    )
    options = dict(keywords) if keywords is not None else tolerance_keywords(solver, eps_abs, eps_rel)
    try:
        result = qpsolvers.solve_problem(problem, solver=solver, initvals=initvals, verbose=verbose, **options)
    except Exception as error:  # a solver crash is a failed solve, not a crash of the layer
        return _failed(n, m, p, _core.Status.numerical_error, f"{solver} raised {type(error).__name__}: {error}")
    if result.x is None or not getattr(result, "found", True):
        return _failed(n, m, p, _core.Status.numerical_error, f"{solver} found no solution")
    z = np.asarray(result.x, dtype=np.float64).reshape(n)
    lam = result.y if p > 0 else np.zeros(0)
    mu = result.z if m > 0 else np.zeros(0)
    has_duals = (p == 0 or lam is not None) and (m == 0 or mu is not None)
    if has_duals:
        lam = np.asarray(lam, dtype=np.float64).reshape(p)
        mu = np.asarray(mu, dtype=np.float64).reshape(m)
    else:
        lam, mu = np.zeros(p), np.zeros(m)
    return z, lam, mu, has_duals, _core.Status.optimal, None


def _failed(n, m, p, status, message):
    nan = np.full
    return nan(n, np.nan), nan(p, np.nan), nan(m, np.nan), False, status, message


def as_scipy_csc(pattern, values) -> sp.csc_matrix:
    return sp.csc_matrix((values, pattern.indices, pattern.indptr), shape=(pattern.rows, pattern.cols))


def in_solver_format(solver: str, P, C, A):
    """P, C, A in the storage the solver takes, so that qpsolvers has nothing
    to convert (and no conversion warning to give: warning filters are
    process-wide, so the bridge leaves them alone)."""
    qpsolvers = qpsolvers_module()
    matrices = (P, C, A)
    if solver not in qpsolvers.sparse_solvers:
        return tuple(M.toarray() if sp.issparse(M) else M for M in matrices)
    if solver not in qpsolvers.dense_solvers:
        return tuple(M if sp.issparse(M) else sp.csc_matrix(M) for M in matrices)
    return matrices

