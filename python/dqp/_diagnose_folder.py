"""``dqp diagnose FOLDER``: every problem of a folder, every solver, one table.

The runs (problem × solver) are independent: locally they run one after the
other, each in its own process as for one problem; with ``ray`` each is a
Ray task on a cluster (:mod:`dqp._ray`), running the same isolated worker
with the same timeout. Either way the reports are built here from the same
raw results, so the table is the same but for the times.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Optional, Sequence, Union

from .diagnose import DiagnosticReport, _plan, _report

SUFFIXES = (".npz", ".mat")
# Columns of the per-run table; those after "message" vary from run to run (wall times, and the
# recommendation: the fastest agreeing solver).
FIELDS = ["problem", "n", "m", "p", "solver", "kind", "storage", "status", "objective", "kkt_error", "n_active",
          "active_symmetric_difference", "z_difference", "gradient_difference", "fd_error", "degenerate",
          "polished", "agrees", "reference", "message", "solve_time", "derivative_time", "recommended"]
TIMING_DEPENDENT = ("solve_time", "derivative_time", "recommended")


def problem_files(folder) -> list:
    """The ``.npz`` and ``.mat`` files of ``folder``, by name; a clear error when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"problem folder: {folder} is not a directory")
    files = sorted(path for path in folder.iterdir() if path.is_file() and path.suffix.lower() in SUFFIXES)
    if not files:
        raise ValueError(f"problem folder: no .npz or .mat files in {folder}")
    return files


def diagnose_folder(folder, *, ray: Union[bool, str] = False, progress: bool = False,
                    solvers: Optional[Sequence[str]] = None, repeats: int = 5, timeout: Optional[float] = 60.0,
                    storage: str = "auto", tolerance: float = 1e-4, fd_step: float = 1e-6, seed: int = 0,
                    **options) -> list:
    """:func:`dqp.diagnose` on every problem of ``folder`` (or of a list of files): a list of reports.

    ``ray`` runs each problem × solver as a Ray task: ``True`` or ``"local"``
    on a new local cluster, ``"auto"``, ``HOST:PORT`` or ``ray://HOST:PORT``
    on a running one (an existing ``ray.init`` connection is used as it is).
    The other arguments are :func:`dqp.diagnose`'s. Every problem is loaded and checked before anything runs: a
    bad file is a ValueError naming it."""
    files = list(folder) if isinstance(folder, (list, tuple)) else problem_files(folder)
    plans = []
    for path in files:
        try:
            plans.append(_plan(path, None, solvers, repeats, timeout, storage, tolerance, fd_step, seed, options))
        except (ValueError, OSError, KeyError) as error:
            raise ValueError(f"{Path(path).name}: {error}") from None
    runs = [(k, entry) for k, plan in enumerate(plans) for entry in plan.entries if entry.job is not None]
    raws = [{} for _ in plans]
    with _bar(progress, len(runs)) as advance:
        if ray is not False:
            from . import _ray

            def failed(error: BaseException) -> dict:
                return {"status": "crashed", "message": f"Ray task failed: {type(error).__name__}: {error}"}

            def finished(index: int, raw: dict) -> None:
                k, entry = runs[index]
                advance(f"{plans[k].problem.name} {entry.solver}")

            with _ray.connected(_ray.LOCAL if ray is True else ray):
                results = _ray.run_all("dqp._diagnose_worker", "run_isolated",
                                       [(entry.job, timeout) for _, entry in runs],
                                       on_result=finished, on_failure=failed)
        else:
            from ._diagnose_worker import run_isolated

            results = []
            for k, entry in runs:
                results.append(run_isolated(entry.job, timeout))
                advance(f"{plans[k].problem.name} {entry.solver}")
    for (k, entry), raw in zip(runs, results):
        raws[k][entry.solver] = raw
    return [_report(plan, raw) for plan, raw in zip(plans, raws)]


class _bar:
    """A rich progress bar on stderr over every run (or nothing); the block gets ``advance(description)``."""

    def __init__(self, enabled: bool, total: int):
        self.progress = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(TextColumn("[bold]diagnose[/] {task.description:<24}"), BarColumn(),
                                     MofNCompleteColumn(), TimeElapsedColumn(), console=Console(stderr=True),
                                     transient=True)
            self.task = self.progress.add_task("", total=total)

    def __enter__(self):
        if self.progress is None:
            return lambda description: None
        self.progress.start()
        return lambda description: self.progress.update(self.task, advance=1, description=description)

    def __exit__(self, *exc):
        if self.progress is not None:
            self.progress.stop()


def rows(reports: Sequence[DiagnosticReport]) -> list:
    """One dict per problem × solver (FIELDS), problems in file order, solvers in the order asked."""
    out = []
    for report in reports:
        by_solver = {result.solver: result for result in report.results}
        for solver in report.settings["solvers"]:
            result = by_solver[solver].to_dict()
            row = {key: result.get(key) for key in FIELDS}
            row.update(problem=report.problem["name"], n=report.problem["n"], m=report.problem["m"],
                       p=report.problem["p"], reference=solver == report.reference,
                       recommended=solver == report.recommendation)
            out.append(row)
    return out


def write_csv(path, reports: Sequence[DiagnosticReport]) -> None:
    """The per-run table as CSV (empty cells for values not measured)."""
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        for row in rows(reports):
            writer.writerow({key: "" if value is None else value for key, value in row.items()})


def summary_table(reports: Sequence[DiagnosticReport], title: str):
    """A ``rich.table.Table``: one line per problem with its reference and recommendation."""
    from rich.table import Table

    from .diagnose import _ms

    grid = Table(title=title, header_style="bold", caption_justify="left",
                 caption="optimal: solvers with an optimal point · agree: within the tolerance of the reference "
                         "(the most accurate) · ★: the fastest agreeing one, its solve + derivative time")
    for header, justify in (("problem", "left"), ("n", "right"), ("m", "right"), ("p", "right"),
                            ("optimal", "right"), ("agree", "right"), ("reference", "left"), ("★", "left"),
                            ("time", "right")):
        grid.add_column(header, justify=justify, no_wrap=True)
    for report in reports:
        optimal = sum(1 for r in report.results if r.ok)
        agree = sum(1 for r in report.results if r.agrees)
        best = report.result(report.recommendation) if report.recommendation else None
        grid.add_row(report.problem["name"], str(report.problem["n"]), str(report.problem["m"]),
                     str(report.problem["p"]), f"{optimal}/{len(report.results)}", str(agree),
                     report.reference or "-", report.recommendation or "[red]none[/]",
                     _ms(best.total_time) if best else "-")
    return grid
