"""Which solver should I use for my problem? ``dqp.diagnose`` and ``dqp diagnose``.

Every selected forward solver solves the problem in its own process (a crash
or a hang is reported, not fatal); then, per solver:

* status, median wall time of the forward solve and of the backward pass
  (the layer's own work included: active set, polishing, KKT factorization);
* objective, primal and dual residuals, complementarity (infinity norms);
* the active set, and its agreement with the most accurate solver's
  (symmetric difference and Jaccard index);
* the gradient of a fixed random linear loss L = wᵀz with respect to q, d
  and b, its relative difference from the most accurate solver's, and a
  central finite difference of L along a random direction of (q, d, b);
* the core's degeneracy flags (derivative not unique).

The *reference* is the optimal solver with the smallest KKT error. The
recommendation is the fastest solver (solve + derivative) whose solution,
active set and gradient agree with the reference within ``tolerance``.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional, Sequence

import numpy as np

from . import _settings
from ._diagnose_worker import Job, faults_from_environment, run_isolated, run_solver
from ._solvers import available_solvers, resolve_linear_solver, resolve_qp_solver
from .problems import Problem, as_problem

# A dense-only solver on a sparse problem gets a densified copy up to this many entries.
DENSE_LIMIT = 20_000_000
# A finite difference agreeing with the analytic derivative to this relative error passes.
FD_TOLERANCE = 1e-3
OK = "optimal"


@dataclass
class SolverResult:
    """One solver's row of the report. Times in seconds; None where not measured."""

    solver: str
    kind: str                                 # "native" or "qpsolvers"
    # "dense" or "sparse": what the solver was given; "dense→sparse" when
    # storage-aware auto solved dense data on the sparse path.
    storage: str
    status: str                               # the core's status, or timeout / crashed / error / skipped
    message: Optional[str] = None
    solve_time: Optional[float] = None        # median wall time of one forward solve
    derivative_time: Optional[float] = None   # median wall time of one backward pass
    repeats: int = 0
    objective: Optional[float] = None
    primal_residual: Optional[float] = None   # max(‖(Cz - d)₊‖∞, ‖Az - b‖∞)
    dual_residual: Optional[float] = None     # max(‖Pz + q + Aᵀλ + Cᵀμ‖∞, ‖μ₋‖∞)
    complementarity: Optional[float] = None   # ‖μ ⊙ (Cz - d)‖∞
    kkt_error: Optional[float] = None         # max of the three above
    n_active: Optional[int] = None
    active_symmetric_difference: Optional[int] = None   # vs the reference's active set
    active_jaccard: Optional[float] = None
    z_difference: Optional[float] = None      # ‖z - z_ref‖∞ / max(1, ‖z_ref‖∞)
    gradient_difference: Optional[float] = None   # ‖g - g_ref‖₂ / ‖g_ref‖₂, g = (∇q, ∇d, ∇b) of wᵀz
    fd_error: Optional[float] = None          # |finite difference - analytic| / scale
    fd_analytic: Optional[float] = None
    fd_numeric: Optional[float] = None
    degenerate: Optional[bool] = None
    degenerate_reason: Optional[str] = None
    polished: Optional[bool] = None
    duals_recovered: Optional[bool] = None
    iterations: Optional[int] = None
    agrees: Optional[bool] = None             # within tolerance of the reference (None: no reference)
    fd_direction: Optional[str] = None        # parameters moved: "q, d, b", or "q" where moving d, b failed
    fd_skipped: Optional[str] = None          # why there is no finite difference
    z: Optional[np.ndarray] = field(default=None, repr=False)
    lam: Optional[np.ndarray] = field(default=None, repr=False)
    mu: Optional[np.ndarray] = field(default=None, repr=False)
    active: Optional[list] = field(default=None, repr=False)
    gradient: Optional[dict] = field(default=None, repr=False)   # {"q", "d", "b"}

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def total_time(self) -> Optional[float]:
        if self.solve_time is None:
            return None
        return self.solve_time + (self.derivative_time or 0.0)

    def to_dict(self, arrays: bool = False) -> dict:
        out = {}
        for key, value in asdict(self).items():
            if key in ("z", "lam", "mu", "active", "gradient") and not arrays:
                continue
            out[key] = _jsonable(value)
        out["total_time"] = _jsonable(self.total_time)
        return out


@dataclass
class DiagnosticReport:
    """What :func:`diagnose` found. ``print()`` shows it, ``to_json()`` and ``plot()`` export it."""

    problem: dict                 # name, n, m, p, nnz, storage, source
    settings: dict
    results: list                 # SolverResult, fastest optimal first, failures last
    reference: Optional[str]
    recommendation: Optional[str]
    reason: str
    notes: list

    def result(self, solver: str) -> SolverResult:
        for result in self.results:
            if result.solver == solver:
                return result
        raise KeyError(f"no result for solver '{solver}'; have {[r.solver for r in self.results]}")

    def to_dict(self, arrays: bool = False) -> dict:
        return {
            "problem": _jsonable(self.problem), "settings": _jsonable(self.settings),
            "reference": self.reference, "recommendation": self.recommendation, "reason": self.reason,
            "notes": list(self.notes), "results": [r.to_dict(arrays) for r in self.results],
        }

    def to_json(self, arrays: bool = False, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(arrays), indent=indent, allow_nan=False)

    def table(self):
        """The results as a ``rich.table.Table``."""
        from ._diagnose_render import table
        return table(self)

    def print(self, console=None) -> None:
        from ._diagnose_render import print_report
        print_report(self, console)

    def plot(self, path) -> None:
        """Save a chart of time against accuracy per solver (PNG, PDF, SVG by extension)."""
        from ._diagnose_render import plot
        plot(self, path)

    def __str__(self) -> str:
        from ._diagnose_render import render_text
        return render_text(self)


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


# ---------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------

def _solver_list(solvers) -> list[str]:
    available = available_solvers()
    if solvers is None:
        native = sorted(name for name, info in available.items() if info["kind"] == "native")
        return native + sorted(name for name, info in available.items() if info["kind"] != "native")
    if isinstance(solvers, str):
        solvers = [solvers]
    names = []
    for entry in solvers:
        for name in (part.strip() for part in str(entry).split(",")):
            if not name:
                continue
            try:
                resolve_qp_solver(name)
            except ValueError as error:
                raise ValueError(f"solvers: {error}") from None
            if name not in names:
                names.append(name)
    if not names:
        raise ValueError("solvers: the list is empty")
    return names


def _storage_for(problem: Problem, solver: str, storage: str) -> tuple[Optional[str], Optional[str]]:
    """(storage to use, or None with the reason to skip).

    ``auto`` keeps the problem's storage, as the layer would: qpsolvers converts
    dense matrices for sparse-only solvers, but a dense-only solver needs a
    densified copy of a sparse problem.
    """
    info = available_solvers().get(resolve_qp_solver(solver)[0], {})
    wanted = ("sparse" if problem.sparse else "dense") if storage == "auto" else storage
    if wanted == "sparse" and not info.get("sparse", True):
        if storage == "sparse":
            return None, f"{solver} takes dense matrices only (storage='sparse' was asked)"
        wanted = "dense"
    if wanted == "dense" and problem.sparse:
        entries = problem.n * (problem.n + problem.m + problem.p)
        if entries > DENSE_LIMIT:
            return None, (f"{solver} needs dense matrices and the dense problem would have {entries:.2g} entries "
                          f"(limit {DENSE_LIMIT:.0e})")
    return wanted, None


def _median(values) -> Optional[float]:
    return float(np.median(values)) if len(values) else None


def _residuals(problem: Problem, z, lam, mu) -> dict:
    if z is None or not np.all(np.isfinite(z)):
        return {}
    slack = problem.C @ z - problem.d
    parts = {"primal_residual": [np.maximum(slack, 0.0), problem.A @ z - problem.b]}
    out = {"objective": problem.objective(z)}
    if lam is not None and mu is not None and np.all(np.isfinite(lam)) and np.all(np.isfinite(mu)):
        stationarity = problem.P @ z + problem.q + problem.A.T @ lam + problem.C.T @ mu
        parts["dual_residual"] = [stationarity, np.minimum(mu, 0.0)]
        parts["complementarity"] = [mu * slack]
    for key, arrays in parts.items():
        out[key] = max((float(np.max(np.abs(a))) for a in arrays if a.size), default=0.0)
    if len(parts) == 3:
        out["kkt_error"] = max(out[key] for key in parts)
    return out


def _relative(a: np.ndarray, b: np.ndarray, floor: float) -> float:
    scale = max(float(np.linalg.norm(b)), float(np.linalg.norm(a)), floor)
    return float(np.linalg.norm(a - b)) / scale


def _result_from(job_solver: str, kind: str, storage: str, raw: dict, problem: Problem, weights) -> SolverResult:
    solved = raw.get("solved_storage", storage)
    shown = storage if solved == storage else f"{storage}→{solved}"
    result = SolverResult(job_solver, kind, shown, raw.get("status", "error"), raw.get("message"))
    if "solve_times" not in raw:
        return result
    result.solve_time = _median(raw["solve_times"])
    result.derivative_time = _median(raw["derivative_times"])
    result.repeats = len(raw["solve_times"])
    for key in ("degenerate", "degenerate_reason", "polished", "duals_recovered", "iterations", "active"):
        setattr(result, key, raw.get(key))
    result.z, result.lam, result.mu = raw.get("z"), raw.get("lam"), raw.get("mu")
    if result.ok:
        result.n_active = len(raw["active"])
    for key, value in _residuals(problem, result.z, result.lam, result.mu).items():
        setattr(result, key, value)
    if "grad_q" in raw:
        result.gradient = {"q": raw["grad_q"], "d": raw["grad_d"], "b": raw["grad_b"]}
        result.fd_analytic, result.fd_numeric = raw["fd_analytic"], raw["fd_numeric"]
        result.fd_direction = raw.get("fd_direction")
        if result.fd_numeric is not None:
            gradient = np.concatenate([raw["grad_q"], raw["grad_d"], raw["grad_b"]])
            floor = 1e-8 * max(float(np.linalg.norm(gradient)), float(np.linalg.norm(weights)))
            result.fd_error = abs(result.fd_numeric - result.fd_analytic) / max(
                abs(result.fd_numeric), abs(result.fd_analytic), floor)
        else:
            result.fd_skipped = raw.get("fd_message")
    return result


def diagnose(problem, *, solvers: Optional[Sequence[str]] = None, repeats: int = 5,
             timeout: Optional[float] = 60.0, storage: str = "auto", tolerance: float = 1e-4,
             fd_step: float = 1e-6, seed: int = 0, isolate: bool = True,
             progress: "bool | Callable[[str, int, int], None]" = False, name: Optional[str] = None,
             **options) -> DiagnosticReport:
    """Compare forward solvers on one QP and recommend one.

    Parameters
    ----------
    problem:
        a ``.npz`` / Maros–Meszaros ``.mat`` path, a :class:`dqp.problems.Problem`,
        a dict (P, q, C, d, A, b or the reference's Q, q, G, h, A, b) or a
        ``(P, q[, C, d[, A, b]])`` tuple of numpy / scipy / torch data.
    solvers:
        names (or one comma-separated string); default every available solver.
    repeats:
        timed forward solves and backward passes per solver (the median is
        reported), after one untimed warm-up. Fewer are run when half the
        timeout has passed.
    timeout:
        seconds per solver (None: no limit); a solver over it is killed and
        reported as ``timeout``.
    storage:
        ``"auto"`` (the problem's own storage where the solver takes it),
        ``"dense"`` or ``"sparse"``.
    tolerance:
        relative agreement with the reference asked of z and of the
        gradient for a solver to be recommended.
    fd_step:
        finite-difference step, relative to the largest entry of (q, d, b).
    seed:
        seed of the random loss weights and finite-difference direction.
    isolate:
        run each solver in a child process (crashes and hangs contained,
        timeout enforced); ``False`` runs them here, without a timeout.
    progress:
        ``True`` shows a progress bar on stderr; a callable gets
        ``(solver, index, total)`` before each solver.
    **options:
        layer settings (``dqp.build_settings``) used for every solver, e.g.
        ``eps_abs=1e-8``, ``polish=False``, ``eps_active=1e-6``.
    """
    plan = _plan(problem, name, solvers, repeats, timeout, storage, tolerance, fd_step, seed, options)
    raws = {}
    with _Progress(progress, len(plan.names)) as bar:
        for index, entry in enumerate(plan.entries):
            bar.update(entry.solver, index)
            if entry.job is None:
                continue
            if isolate:
                raws[entry.solver] = run_isolated(entry.job, timeout)
            else:
                try:
                    raws[entry.solver] = run_solver(entry.job)
                except Exception as error:
                    raws[entry.solver] = {"status": "error", "message": f"{type(error).__name__}: {error}"}
        bar.update(None, len(plan.names))
    return _report(plan, raws)


@dataclass
class _Entry:
    """One solver of a plan: its job, or why it is skipped."""

    solver: str
    kind: str                         # "native" or "qpsolvers"
    storage: str                      # "dense", "sparse" or "-" (skipped)
    job: Optional[Job]
    skip: Optional[str] = None


@dataclass
class _Plan:
    """A validated diagnosis of one problem, before any solver runs."""

    problem: Problem
    names: list
    entries: list                     # _Entry per solver, in the order of names
    weights: np.ndarray
    tolerance: float
    record: dict                      # the settings the report shows


def _plan(problem, name, solvers, repeats, timeout, storage, tolerance, fd_step, seed, options) -> _Plan:
    """Check the arguments, load the problem, draw the loss and direction, and make each solver's job."""
    problem = as_problem(problem, name)
    if "qp_solver" in options:
        raise ValueError("pass solvers=[...] instead of qp_solver")
    if not isinstance(repeats, int) or isinstance(repeats, bool) or repeats < 1:
        raise ValueError(f"repeats must be an integer >= 1, got {repeats!r}")
    if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a number of seconds > 0 or None, got {timeout!r}")
    if storage not in ("auto", "dense", "sparse"):
        raise ValueError(f"storage must be 'auto', 'dense' or 'sparse', got {storage!r}")
    for label, value in (("tolerance", tolerance), ("fd_step", fd_step)):
        if not (isinstance(value, (int, float)) and 0 < value < 1):
            raise ValueError(f"{label} must be a number in (0, 1), got {value!r}")
    settings = _settings.build_settings(**options)     # validates the options once, here
    resolve_linear_solver(settings["lin_solver"])
    names = _solver_list(solvers)

    rng = np.random.default_rng(seed)
    weights = rng.standard_normal(problem.n)
    direction = [rng.standard_normal(k) for k in (problem.n, problem.m, problem.p)]
    norm = math.sqrt(sum(float(v @ v) for v in direction)) or 1.0
    direction = tuple(v / norm for v in direction)
    faults = faults_from_environment()

    entries = []
    for solver in names:
        kind = "native" if resolve_qp_solver(solver)[1] else "qpsolvers"
        chosen, skip = _storage_for(problem, solver, storage)
        if chosen is None:
            entries.append(_Entry(solver, kind, "-", None, skip))
            continue
        job = Job(problem, solver, chosen, {**settings, "qp_solver": solver}, repeats, weights, direction,
                  fd_step, budget=None if timeout is None else 0.5 * timeout, fault=faults.get(solver))
        entries.append(_Entry(solver, kind, chosen, job))
    record = {
        "solvers": names, "repeats": repeats, "timeout": timeout, "storage": storage, "tolerance": tolerance,
        "fd_step": fd_step, "fd_tolerance": FD_TOLERANCE, "seed": seed,
        "layer": {k: settings[k] for k in ("eps_abs", "eps_rel", "eps_active", "polish", "lin_solver",
                                             "normalize_constraints", "refine_active", "max_iter")},
    }
    return _Plan(problem, names, entries, weights, tolerance, record)


def _report(plan: _Plan, raws: dict) -> DiagnosticReport:
    """The report from each run solver's raw result ({solver: run_solver's dict})."""
    results = []
    for entry in plan.entries:
        if entry.job is None:
            results.append(SolverResult(entry.solver, entry.kind, "-", "skipped", entry.skip))
        else:
            results.append(_result_from(entry.solver, entry.kind, entry.storage, raws[entry.solver], plan.problem,
                                        plan.weights))
    return _analyse(plan.problem, results, plan.weights, plan.tolerance, dict(plan.record))


class _Progress:
    """A rich progress bar on stderr, a callback, or nothing."""

    def __init__(self, progress, total: int):
        self.callback = progress if callable(progress) else None
        self.bar = None
        if progress is True:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, \
                TimeElapsedColumn
            self.bar = Progress(SpinnerColumn(), TextColumn("[bold]diagnose[/] {task.description:<18}"),
                                BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=True)
            self.task = self.bar.add_task("", total=total)
        self.total = total

    def __enter__(self):
        if self.bar is not None:
            self.bar.start()
        return self

    def update(self, solver: Optional[str], index: int) -> None:
        if self.callback is not None and solver is not None:
            self.callback(solver, index, self.total)
        if self.bar is not None:
            self.bar.update(self.task, completed=index, description=solver or "done")

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()


# ---------------------------------------------------------------------------
# Analysis
# ---------------------------------------------------------------------------

def _gradient_vector(result: SolverResult) -> np.ndarray:
    return np.concatenate([result.gradient[k] for k in ("q", "d", "b")])


def _analyse(problem: Problem, results: list, weights, tolerance: float, settings: dict) -> DiagnosticReport:
    solved = [r for r in results if r.ok and r.kkt_error is not None]
    reference = min(solved, key=lambda r: r.kkt_error, default=None)
    notes = []
    if reference is not None:
        reference_active = set(reference.active)
        z_scale = max(1.0, float(np.max(np.abs(reference.z))) if reference.z.size else 1.0)
        floor = 1e-12 * float(np.linalg.norm(weights))
        for result in solved:
            active = set(result.active)
            union = active | reference_active
            result.active_symmetric_difference = len(active ^ reference_active)
            result.active_jaccard = len(active & reference_active) / len(union) if union else 1.0
            result.z_difference = float(np.max(np.abs(result.z - reference.z), initial=0.0)) / z_scale
            if result.gradient is not None and reference.gradient is not None:
                result.gradient_difference = _relative(_gradient_vector(result), _gradient_vector(reference), floor)
            result.agrees = (result.z_difference <= tolerance and result.active_symmetric_difference == 0
                             and result.gradient_difference is not None and result.gradient_difference <= tolerance)

    candidates = [r for r in solved if r.agrees]
    recommended = min(candidates, key=lambda r: r.total_time, default=None)
    if recommended is not None:
        reason = (f"the fastest (solve + derivative {_ms(recommended.total_time)}) of the "
                  f"{len(candidates)} solver{'s' if len(candidates) != 1 else ''} whose solution, active set and "
                  f"gradient agree within {tolerance:g} with the most accurate one ({reference.solver}, KKT "
                  f"error {_short(reference.kkt_error)})")
    elif reference is not None:
        reason = (f"no solver with a gradient agrees with {reference.solver}, the most accurate one, within "
                  f"{tolerance:g}")
    else:
        statuses = sorted({r.status for r in results})
        reason = f"no solver found an optimal point (statuses: {', '.join(statuses)})"
        if any(s in ("primal_infeasible", "dual_infeasible") for s in statuses):
            reason += "; the problem looks infeasible or unbounded"
        elif statuses and set(statuses) <= {"numerical_error", "primal_infeasible", "dual_infeasible"}:
            reason += "; the problem may be infeasible or unbounded"

    notes.extend(_notes(results, reference, recommended, problem))
    results.sort(key=lambda r: (not r.ok, r.total_time if r.total_time is not None else math.inf, r.solver))
    info = {"name": problem.name, "n": problem.n, "m": problem.m, "p": problem.p, "nnz": problem.nnz,
            "storage": "sparse" if problem.sparse else "dense", "source": problem.meta.get("source")}
    return DiagnosticReport(info, settings, results, reference.solver if reference else None,
                            recommended.solver if recommended else None, reason, notes)


def _notes(results, reference, recommended, problem) -> list[str]:
    notes = []
    if reference is not None and reference.degenerate:
        notes.append(f"the solution is degenerate ({reference.degenerate_reason}): the derivative is not unique; "
                     "dqp returns one valid choice (that of the active set it polished on, or the least-squares one when that "
                     "set's KKT matrix is singular), which finite differences need not match")
    elif any(r.degenerate for r in results if r.ok):
        flagged = ", ".join(r.solver for r in results if r.ok and r.degenerate)
        notes.append(f"flagged degenerate by {flagged} (not by the reference): their points are less accurate "
                     "or the problem is near-degenerate")
    bad_fd = [r for r in results if r.ok and r.fd_error is not None and r.fd_error > FD_TOLERANCE]
    if bad_fd:
        notes.append("finite differences disagree with the analytic derivative (> "
                     f"{FD_TOLERANCE:g}) for {', '.join(r.solver for r in bad_fd)}: a nearly active or weakly "
                     "active constraint, or an inaccurate solve")
    skipped = [r for r in results if r.ok and r.fd_skipped]
    if skipped:
        notes.append("no finite-difference check for " + ", ".join(f"{r.solver} ({r.fd_skipped})" for r in skipped))
    unpolished = [r.solver for r in results if r.ok and r.agrees is False and r.polished is False]
    if unpolished:
        notes.append(f"not polished and disagreeing: {', '.join(unpolished)} (the reduced KKT solve on the "
                     "identified active set did not satisfy the KKT conditions): a smaller eps_abs usually helps")
    if recommended is not None and recommended.polished is False:
        notes.append(f"{recommended.solver}'s point was not polished (the reduced KKT solve did not satisfy the "
                     "KKT conditions): consider a smaller eps_abs")
    for result in results:
        if not result.ok:
            message = f": {result.message}" if result.message else ""
            notes.append(f"{result.solver}: {result.status}{message}")
    return notes


def _short(value: float) -> str:
    return "0" if value == 0 else f"{value:.0e}"


def _ms(seconds: Optional[float]) -> str:
    if seconds is None:
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


__all__ = ["DiagnosticReport", "SolverResult", "diagnose"]
