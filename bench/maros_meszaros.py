"""The Maros–Meszaros sweep: every problem, every solver, solve and differentiate.

For each problem (n ≤ --max-n) and each forward solver, in its own process
(a crash or a hang is recorded, not fatal):

1. solve with the default settings (``dqp.build_settings(qp_solver=NAME)``):
   sparse storage for solvers that take sparse matrices, dense storage for
   dense-only solvers (only when n ≤ --dense-max-n, else the pair is skipped);
2. differentiate the random linear loss L = wᵀz, w ~ N(0, I) (seeded per
   problem, the same w for every solver): ``backward`` with dz = w, dλ = dμ = 0;
3. record the status, polishing, degeneracy, the core's KKT residual
   (infinity norm of stationarity, primal feasibility, dual feasibility and
   complementarity), forward and backward wall times, and whether the six
   gradients are finite.

A pair is **ok** (solved and differentiated) when the status is optimal, the
gradients are finite and

    kkt_residual ≤ 1e-5 · (1 + max(‖q‖∞, ‖d‖∞, ‖b‖∞))

where bounds of magnitude ≥ 9e19 (the collection's "infinite" sentinels) are
left out of the scale. Times are wall-clock seconds of ``Engine.forward`` /
``Engine.backward`` (the minimum of up to --repeats calls while their sum
stays under --time-budget; one call for slow problems). The derivative
overhead is backward time / forward time; the CSV also has the solver's own
time (``solve_time``) and the core's active-set + reduced-KKT factorization
time (``active_set_time``), which the backward pass reuses.

    python bench/maros_meszaros.py --solvers auto                # the default solver, n ≤ 10000
    python bench/maros_meszaros.py --max-n 2000 --merge          # every solver, n ≤ 2000, into the same CSV
    python bench/maros_meszaros.py --quick --solvers proxqp,osqp # n ≤ 500
    python bench/maros_meszaros.py --report-only                 # redraw the summary and plot from the CSV
    python bench/maros_meszaros.py --quick --ray                 # each pair as a task on a local Ray cluster

Writes results/maros_meszaros.{csv,md,png} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import csv
import math
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import traceback
import zlib
from datetime import datetime, timezone
from multiprocessing.connection import wait
from pathlib import Path
from typing import Optional

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
# dqp's default forward solver: the headline rows of the summary.
NATIVE = "auto"
INFINITE_BOUND = 9e19         # the collection writes ±1e20 (give or take an ulp) for "no bound"
KKT_TOLERANCE = 1e-5
OVERHEAD_MIN_N = 1000         # the derivative-overhead median is taken on problems at least this large
TARGET_SOLVED = 0.95
TARGET_OVERHEAD = 0.10

FIELDS = [
    "problem", "n", "m", "p", "nnz", "solver", "kind", "storage", "status", "ok", "message",
    "polished", "degenerate", "degenerate_reason", "duals_recovered", "iterations",
    "kkt_residual", "kkt_scale", "kkt_ok", "objective",
    "forward_time", "backward_time", "derivative_overhead", "solve_time", "active_set_time", "core_forward_time",
    "forward_repeats", "backward_repeats", "grads_finite", "grad_norm", "timeout",
]


# ---------------------------------------------------------------------------
# The measurement (runs in a child process)
# ---------------------------------------------------------------------------

def kkt_scale(problem) -> float:
    """max(‖q‖∞, ‖d‖∞, ‖b‖∞), leaving out the 'infinite' bound sentinels."""
    parts = [0.0]
    for v in (problem.q, problem.d, problem.b):
        finite = np.abs(v[np.abs(v) < INFINITE_BOUND]) if v.size else v
        if finite.size:
            parts.append(float(finite.max()))
    return max(parts)


def loss_weights(name: str, n: int, seed: int) -> np.ndarray:
    """w ~ N(0, I), fixed by (seed, problem name): the same for every solver and any problem selection."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())]).standard_normal(n)


def _repeat(function, repeats: int, budget: float):
    """(result of the fastest call, its wall time, calls): at least one call, more while the total stays under
    budget. The fastest call's result keeps the core's own timings consistent with the wall time."""
    times, best = [], None
    while True:
        tick = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - tick)
        if times[-1] == min(times):
            best = result
        if len(times) >= repeats or sum(times) * (len(times) + 1) / len(times) > budget:
            return best, min(times), len(times)


def measure(task: dict) -> dict:
    """Solve and differentiate one problem with one solver; plain data back."""
    import warnings

    import dqp
    from dqp._engine import Engine

    problem, solver, storage = task["problem"], task["solver"], task["storage"]
    sparse = storage == "sparse"
    engine = Engine(dqp.build_settings(qp_solver=solver))
    data = problem.engine_data(sparse)
    out: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # the bridged solvers' conversion notices
        (solution, message), forward_time, calls = _repeat(lambda: engine.forward(sparse, data),
                                                           task["repeats"], task["budget"])
    out.update(status=solution.status, message=message or "", polished=bool(solution.polished),
               degenerate=bool(solution.degenerate), degenerate_reason=solution.degenerate_reason
               if solution.degenerate else "", duals_recovered=bool(solution.duals_recovered),
               iterations=int(solution.iterations),
               kkt_residual=float(solution.kkt_residual) if solution.optimal else None,   # computed at optima only
               forward_time=forward_time, forward_repeats=calls, core_forward_time=float(solution.total_time),
               active_set_time=float(solution.active_set_time))
    # Native solvers time themselves inside the core; a bridged solve is the rest of the wall time.
    out["solve_time"] = float(solution.solve_time) if engine.native else max(
        forward_time - float(solution.total_time), 0.0)
    z = np.asarray(solution.z)
    if z.size == problem.n and np.all(np.isfinite(z)):
        out["objective"] = problem.objective(z)
    if not (solution.optimal and solution.differentiable):
        if solution.optimal and not out["message"]:
            out["message"] = "optimal but no KKT factorization to differentiate"
        return out

    w = task["weights"]
    dlam, dmu = np.zeros(problem.p), np.zeros(problem.m)
    grads, backward_time, calls = _repeat(lambda: engine.backward(sparse, data, solution, w, dlam, dmu),
                                          task["repeats"], task["budget"])
    flat = [np.asarray(g, dtype=np.float64).ravel() for g in grads]
    out.update(backward_time=backward_time, backward_repeats=calls,
               grads_finite=all(bool(np.all(np.isfinite(g))) for g in flat),
               grad_norm=float(math.sqrt(sum(float(g @ g) for g in flat if np.all(np.isfinite(g))))))
    return out


# ---------------------------------------------------------------------------
# Isolation: one child per (problem, solver), forked from a server that has imported dqp
# ---------------------------------------------------------------------------

def _child(connection, task: dict, log_path: str) -> None:
    import faulthandler

    log = open(log_path, "a", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 1)              # solvers print from C: redirect the descriptors
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    faulthandler.enable(log)
    try:
        result = measure(task)
    except BaseException as error:  # reported like any failure
        traceback.print_exc(file=log)
        result = {"status": "error", "message": f"{type(error).__name__}: {error}"}
    connection.send(result)
    connection.close()


_CONTEXT = None


def _context():
    global _CONTEXT
    if _CONTEXT is None:
        if "forkserver" in multiprocessing.get_all_start_methods():
            _CONTEXT = multiprocessing.get_context("forkserver")
            # Import dqp, qpsolvers and this module once, in the server.
            _CONTEXT.set_forkserver_preload(["dqp", "qpsolvers", "dqp._engine", "maros_meszaros"])
        else:
            _CONTEXT = multiprocessing.get_context("spawn")
    return _CONTEXT


def run_isolated(task: dict, timeout: float) -> dict:
    """:func:`measure` in a child process; a crash or a timeout becomes the status."""
    from dqp._diagnose_worker import _describe_exit, _tail, _without_main

    this = sys.modules.get("maros_meszaros") or sys.modules[__name__]
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    handle, log_path = tempfile.mkstemp(prefix="dqp-mm-", suffix=".log")
    os.close(handle)
    process = context.Process(target=this._child, args=(sender, task, log_path), daemon=True)
    try:
        with _without_main():
            process.start()
        sender.close()
        ready = wait([receiver, process.sentinel], timeout)
        if not ready:
            process.kill()
            process.join()
            return {"status": "timeout", "message": f"no result within {timeout:g} s; killed"}
        result = None
        if receiver in ready:
            try:
                result = receiver.recv()
            except (EOFError, OSError):
                result = None
        if result is not None:
            process.join(timeout=5)
            return result
        process.join()
        tail = _tail(log_path).replace("\n", " | ")
        return {"status": "crashed", "message": f"worker {_describe_exit(process.exitcode)}"
                                                + (f"; last output: {tail}" if tail else "")}
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
            process.join()
        try:
            os.unlink(log_path)
        except OSError:
            pass


# ---------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------

def problem_sizes(data_dir: Path) -> list[tuple[str, int]]:
    """(name, n) of every .mat file, by n then name (n read without building the problem)."""
    import scipy.io

    sizes = []
    for path in sorted(data_dir.glob("*.mat")):
        raw = scipy.io.loadmat(path, variable_names=["n"])
        sizes.append((path.stem, int(np.asarray(raw["n"]).ravel()[0])))
    return sorted(sizes, key=lambda item: (item[1], item[0]))


def solver_list(spec: Optional[str]) -> list[str]:
    import dqp
    from dqp._solvers import resolve_qp_solver

    available = dqp.available_solvers()
    if not spec:
        native = ["auto"] + sorted(name for name, info in available.items() if info["kind"] == "native")
        return native + sorted(name for name, info in available.items() if info["kind"] != "native")
    names = [name.strip() for name in spec.split(",") if name.strip()]
    for name in names:
        resolve_qp_solver(name)               # ValueError naming the available ones
    return names


def storage_for(solver: str, n: int, dense_max_n: int) -> tuple[Optional[str], str]:
    import dqp
    from dqp._solvers import resolve_qp_solver

    name = resolve_qp_solver(solver)[0]
    info = {"sparse": True} if name == "auto" else dqp.available_solvers()[name]
    if info["sparse"]:
        return "sparse", ""
    if n <= dense_max_n:
        return "dense", ""
    return None, f"dense-only solver, n = {n} > {dense_max_n}"


def judge(row: dict, scale: float) -> dict:
    row["kkt_scale"] = scale
    residual = row.get("kkt_residual")
    row["kkt_ok"] = (residual is not None and math.isfinite(residual)
                     and residual <= KKT_TOLERANCE * (1.0 + scale))
    row["ok"] = bool(row.get("status") == "optimal" and row["kkt_ok"] and row.get("grads_finite") is True)
    forward, backward = row.get("forward_time"), row.get("backward_time")
    if forward and backward is not None:
        row["derivative_overhead"] = backward / forward
    return row


def _fmt_time(seconds) -> str:
    if seconds is None or seconds == "" or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    seconds = float(seconds)
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def _fmt_float(value) -> str:
    return "-" if value is None else f"{value:.1e}"


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _pair_row(problem, name: str, solver: str, args) -> tuple[dict, Optional[dict]]:
    """The row's fixed columns and the measurement task (None for a skipped pair, its row then complete)."""
    from dqp._solvers import resolve_qp_solver

    kind = "native" if resolve_qp_solver(solver)[1] else "qpsolvers"
    row = {"problem": name, "n": problem.n, "m": problem.m, "p": problem.p, "nnz": problem.nnz,
           "solver": solver, "kind": kind, "timeout": args.timeout}
    storage, reason = storage_for(solver, problem.n, args.dense_max_n)
    if storage is None:
        row.update(storage="-", status="skipped", message=reason)
        return row, None
    row["storage"] = storage
    return row, {"problem": problem, "solver": solver, "storage": storage,
                 "weights": loss_weights(name, problem.n, args.seed), "repeats": args.repeats,
                 "budget": args.time_budget}


def _line(index: int, total: int, row: dict, wall: Optional[float], started: float) -> str:
    verdict = "ok" if row["ok"] else ("--" if row["status"] == "skipped" else "FAIL")
    flags = "".join(["P" if row.get("polished") else "", "D" if row.get("degenerate") else ""])
    return (f"[{index:4d}/{total}] {row['problem']:<10} n={row['n']:<6d} {row['solver']:<10} {row['status']:<18} "
            f"{verdict:<4} {flags:<2} kkt={_fmt_float(row.get('kkt_residual')):>8} "
            f"fwd {_fmt_time(row.get('forward_time')):>9}  bwd {_fmt_time(row.get('backward_time')):>9}"
            + (f"  ({wall:5.1f} s" if wall is not None else "  (") + f", elapsed {_clock(time.perf_counter() - started)})")


def sweep(args, problems: list[tuple[str, int]], solvers: list[str], done: dict, write) -> dict:
    """Every pair not yet done, one isolated process each (--ray: one Ray task each); the CSV rewritten after
    every pair."""
    import dqp

    rows = dict(done)
    pairs = [(name, n, solver) for name, n in problems for solver in solvers]
    todo = [pair for pair in pairs if not (args.resume and (pair[0], pair[2]) in done)]
    print(f"{len(problems)} problems × {len(solvers)} solvers = {len(pairs)} runs"
          + (f" ({len(pairs) - len(todo)} already in the CSV)" if len(todo) < len(pairs) else "")
          + f"; timeout {args.timeout:g} s per run" + (" each, as Ray tasks" if args.ray is not None else ""),
          flush=True)
    if args.ray is not None:
        return sweep_on_ray(args, problems, todo, rows, write)
    started = time.perf_counter()
    index = 0
    for name, n in problems:
        batch = [solver for (pname, _, solver) in todo if pname == name]
        if not batch:
            continue
        problem = dqp.load_problem(args.data_dir / f"{name}.mat")
        scale = kkt_scale(problem)
        for solver in batch:
            index += 1
            row, task = _pair_row(problem, name, solver, args)
            tick = time.perf_counter()
            if task is not None:
                row.update(run_isolated(task, args.timeout))
            judge(row, scale)
            rows[(name, solver)] = row
            write(rows)
            print(_line(index, len(todo), row, time.perf_counter() - tick, started), flush=True)
    return rows


def sweep_on_ray(args, problems: list[tuple[str, int]], todo: list, rows: dict, write) -> dict:
    """The pairs as Ray tasks, each running run_isolated (its own process and timeout) on a worker; rows are
    judged, written and printed as they finish, above a progress bar. Each problem is put in the object store
    once and shared by its solvers' tasks."""
    import dqp
    from dqp import _ray

    from common import progress_bar

    started = time.perf_counter()
    pending, calls, scales, count = [], [], {}, [0]
    with _ray.connected(args.ray) as ray, progress_bar() as progress:
        progress.console.print(f"Ray cluster: {ray.cluster_resources().get('CPU', 0):g} CPUs")
        bar = progress.add_task("Ray tasks", total=len(todo))

        def record(row: dict) -> None:
            judge(row, scales[row["problem"]])
            rows[(row["problem"], row["solver"])] = row
            write(rows)
            count[0] += 1
            progress.advance(bar)
            progress.console.print(_line(count[0], len(todo), row, None, started))

        for name, n in problems:
            batch = [solver for (pname, _, solver) in todo if pname == name]
            if not batch:
                continue
            problem = dqp.load_problem(args.data_dir / f"{name}.mat")
            scales[name] = kkt_scale(problem)
            shared = ray.put(problem)
            for solver in batch:
                row, task = _pair_row(problem, name, solver, args)
                if task is None:
                    record(row)
                    continue
                task["problem"] = shared            # fetched on the worker (run_task)
                pending.append(row)
                calls.append((task, args.timeout))
        _ray.run_all("maros_meszaros", "run_task", calls, search_path=[HERE],
                     on_result=lambda index, result: record({**pending[index], **result}),
                     on_failure=lambda error: {"status": "crashed",
                                               "message": f"Ray task failed: {type(error).__name__}: {error}"})
    return rows


def run_task(task: dict, timeout: float) -> dict:
    """A Ray task of --ray: ``task["problem"]`` may arrive as an object-store reference inside the dict (Ray
    resolves only top-level arguments); then run_isolated as locally."""
    import ray

    if isinstance(task["problem"], ray.ObjectRef):
        task = {**task, "problem": ray.get(task["problem"])}
    return run_isolated(task, timeout)


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

def _parse(value: str, key: str):
    if value == "":
        return None
    if key in ("ok", "polished", "degenerate", "duals_recovered", "kkt_ok", "grads_finite"):
        return value == "True"
    if key in ("n", "m", "p", "nnz", "iterations", "forward_repeats", "backward_repeats"):
        return int(value)
    if key in ("kkt_residual", "kkt_scale", "objective", "forward_time", "backward_time", "derivative_overhead",
               "solve_time", "active_set_time", "core_forward_time", "grad_norm", "timeout"):
        return float(value)
    return value


def read_csv(path: Path) -> dict:
    if not path.exists():
        return {}
    with open(path, newline="") as handle:
        return {(row["problem"], row["solver"]): {k: _parse(v, k) for k, v in row.items()}
                for row in csv.DictReader(handle)}


def write_csv(path: Path, rows: dict) -> None:
    ordered = sorted(rows.values(), key=lambda r: (r["n"], r["problem"], r["solver"] != NATIVE, r["solver"]))
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        writer.writeheader()
        for row in ordered:
            out = {}
            for key in FIELDS:
                value = row.get(key)
                if isinstance(value, float):
                    value = f"{value:.6g}" if key not in ("objective",) else f"{value:.12g}"
                out[key] = "" if value is None else str(value).replace("\n", " ")
            writer.writerow(out)
    tmp.replace(path)


def _median(values) -> Optional[float]:
    values = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(values)) if values else None


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _machine() -> str:
    try:
        sys.path.insert(0, str(HERE))
        from common import machine_line
        return machine_line()
    except Exception:  # the summary does not depend on it
        import platform
        return platform.platform()


def solver_order(rows: dict) -> list[str]:
    solvers = sorted({r["solver"] for r in rows.values()})
    return sorted(solvers, key=lambda s: (s != NATIVE, s))


def failure_kind(row: dict) -> str:
    if row["ok"]:
        return "ok"
    if row["status"] in ("timeout", "crashed", "skipped", "error"):
        return row["status"]
    if row["status"] != "optimal":
        return "failed"                       # the solver's own status: infeasible, max iterations, ...
    if row.get("grads_finite") is not True:
        return "gradient"                     # optimal, but no or non-finite gradients
    return "inaccurate"                       # optimal, but the KKT residual is above the tolerance


def write_summary(path: Path, rows: dict, plot_name: str, command: str, max_n: int) -> list[str]:
    timeouts = {}
    for r in rows.values():
        if r.get("timeout"):
            timeouts.setdefault(f"{r['timeout']:g} s", set()).add(r["solver"])
    timeout_note = "; ".join(f"{limit} for {', '.join(solver_order({(0, s): {'solver': s} for s in solvers}))}"
                             for limit, solvers in sorted(timeouts.items()))
    lines = [
        "# Maros–Meszaros sweep",
        "",
        f"Last command: `{command}` — dqp {_git_commit()}, "
        f"{datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; {_machine()}. Shared machine: times are "
        "indicative (other jobs were running). "
        + (f"Timeout per run: {timeout_note}." if timeout_note else ""),
        "",
        "Default settings for every solver (`dqp.build_settings(qp_solver=NAME)`: polish on, eps_abs 1e-6, "
        "lin_solver auto); sparse storage where the solver takes it, dense otherwise (dense only for n ≤ 2000). "
        "Loss L = wᵀz, w ~ N(0, I) fixed per problem (seed 0). Each run in its own process.",
        "",
        "**ok** = status `optimal`, all six gradients finite, and the core's KKT residual (∞-norm of "
        "stationarity, primal and dual feasibility, complementarity) ≤ 1e-5 · (1 + max(‖q‖∞, ‖d‖∞, ‖b‖∞)), "
        "bounds of magnitude ≥ 9e19 (the collection's ‘infinite’) left out of the scale. "
        "**failed** = the run finished without being ok: a non-optimal status (infeasible, iteration limit, "
        "solver error — the bridge reports a qpsolvers failure as `numerical_error`, its reason in the CSV's "
        "message), an `optimal` status whose KKT residual is above the tolerance, or missing / non-finite "
        "gradients; **timeout** and "
        "**crashed** = the worker was killed / died; **skipped** = dense-only solver with n > 2000. "
        "Times: wall time of one forward solve / one backward pass (minimum of up to 3 calls for fast problems), "
        "medians over the solver's ok runs — each solver over its own ok problems, so compare them with the "
        f"profile in `{plot_name}` rather than across rows.",
        "",
        "| solver | problems (max n) | ok | failed: status | failed: optimal, KKT > tol | failed: gradients "
        "| timeout | crashed | skipped | ok % of run | degenerate (ok) "
        "| polished (ok) | median forward | median backward | median backward / forward |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    common_names = {name for name, _ in common_problems(rows)}
    table_rows = [(solver, solver, [r for r in rows.values() if r["solver"] == solver])
                  for solver in solver_order(rows)]
    native_rows = [r for r in rows.values() if r["solver"] == NATIVE]
    if len(table_rows) > 1 and native_rows and common_names and len(common_names) < len(native_rows):
        # The native solver ran more problems: its row on the others' problems too, for comparison.
        table_rows.insert(1, (NATIVE, f"{NATIVE} (common set)",
                              [r for r in native_rows if r["problem"] in common_names]))
    for solver, label, mine in table_rows:
        count = {kind: sum(1 for r in mine if failure_kind(r) == kind)
                 for kind in ("ok", "failed", "inaccurate", "gradient", "timeout", "crashed", "skipped", "error")}
        ran = len(mine) - count["skipped"]
        good = [r for r in mine if r["ok"]]
        crashed = count["crashed"] + count["error"]
        lines.append(
            f"| {label} | {len(mine)} ({max(r['n'] for r in mine)}) | {count['ok']} | {count['failed']} | "
            f"{count['inaccurate']} | {count['gradient']} | {count['timeout']} | {crashed} | {count['skipped']} | "
            f"{100 * count['ok'] / ran if ran else 0:.0f} % | {sum(1 for r in good if r['degenerate'])} | "
            f"{sum(1 for r in good if r['polished'])} | "
            f"{_fmt_time(_median(r['forward_time'] for r in good))} | "
            f"{_fmt_time(_median(r['backward_time'] for r in good))} | "
            f"{_pct(_median(r['derivative_overhead'] for r in good))} |")

    native = [r for r in rows.values() if r["solver"] == NATIVE and r["n"] <= max_n]
    headline = []
    if native:
        good = [r for r in native if r["ok"]]
        share = len(good) / len(native)
        large = [r for r in good if r["n"] >= OVERHEAD_MIN_N]
        overhead = _median(r["derivative_overhead"] for r in large)
        # What differentiation adds beyond the bare solve: the active set and reduced-KKT factorization
        # (done in the forward pass, reused by the backward pass) plus the backward pass itself.
        added = _median((r["active_set_time"] + r["backward_time"]) / r["solve_time"]
                        for r in large if r.get("solve_time"))
        lines += [
            "",
            f"## {NATIVE} (native), default settings, n ≤ {max_n}",
            "",
            f"* **solved and differentiated: {len(good)} / {len(native)} = {100 * share:.1f} %** "
            f"(target ≥ {100 * TARGET_SOLVED:.0f} %: {'met' if share >= TARGET_SOLVED else 'not met'}); "
            f"{sum(1 for r in good if r['degenerate'])} of them flagged degenerate (least-squares derivative), "
            f"{sum(1 for r in good if r['polished'])} polished; "
            f"{sum(1 for r in good if r['forward_time'] + r['backward_time'] <= 60)} of them within 60 s "
            f"(solve + derivative).",
            f"* **median derivative overhead (backward / forward) on the {len(large)} ok problems with "
            f"n ≥ {OVERHEAD_MIN_N}: {_pct(overhead)}** (target ≤ {100 * TARGET_OVERHEAD:.0f} %: "
            f"{'met' if overhead is not None and overhead <= TARGET_OVERHEAD else 'not met'}); "
            f"max {_pct(max((r['derivative_overhead'] for r in large), default=None))}.",
            f"* for context, (active set + reduced-KKT factorization + backward) / time inside the solver, median "
            f"on the same problems: {_pct(added)}. The forward pass identifies the active set, factors the "
            f"reduced KKT matrix (which also polishes the point) and keeps the factorization for the backward "
            f"pass, so backward / forward alone understates what differentiability adds to a bare solve. The time "
            f"inside the solver includes the core's up to two tightened, warm-started re-solves when a point does "
            f"not polish (the `polished = False` rows: typically degenerate problems).",
        ]
        headline = lines[-3:]
        failures = sorted((r for r in native if not r["ok"]), key=lambda r: (r["n"], r["problem"]))
        if failures:
            lines += ["", f"Not ok ({len(failures)}):", "",
                      "| problem | n | m | p | status | KKT residual | tolerance | polished | degenerate | "
                      "forward | note |",
                      "|---|---|---|---|---|---|---|---|---|---|---|"]
            for r in failures:
                tolerance = KKT_TOLERANCE * (1 + r["kkt_scale"]) if r.get("kkt_scale") is not None else None
                residual = r.get("kkt_residual")
                note = r.get("message") or ""
                if r["status"] == "optimal" and not r.get("kkt_ok"):
                    note = (note + "; " if note else "") + "KKT residual above tolerance"
                if r["status"] == "optimal" and r.get("grads_finite") is False:
                    note = (note + "; " if note else "") + "non-finite gradient"
                lines.append(
                    f"| {r['problem']} | {r['n']} | {r['m']} | {r['p']} | {r['status']} | "
                    f"{'-' if residual is None else f'{residual:.1e}'} | "
                    f"{'-' if tolerance is None else f'{tolerance:.1e}'} | {_yes(r.get('polished'))} | "
                    f"{_yes(r.get('degenerate'))} | {_fmt_time(r.get('forward_time'))} | {note[:160]} |")
        slow = sorted(large, key=lambda r: -(r["derivative_overhead"] or 0))[:10]
        if slow:
            lines += ["", f"Largest derivative overheads (ok, n ≥ {OVERHEAD_MIN_N}):", "",
                      "| problem | n | forward | of which solver | of which active set + KKT | backward | "
                      "backward / forward |", "|---|---|---|---|---|---|---|"]
            for r in slow:
                lines.append(f"| {r['problem']} | {r['n']} | {_fmt_time(r['forward_time'])} | "
                             f"{_fmt_time(r.get('solve_time'))} | {_fmt_time(r.get('active_set_time'))} | "
                             f"{_fmt_time(r['backward_time'])} | {_pct(r['derivative_overhead'])} |")
    common = common_problems(rows)
    if len(solver_order(rows)) > 1 and common:
        cap = common_cap(rows)
        limit = f"{cap:g} s" if math.isfinite(cap) else "the timeout"
        lines += ["", f"Common set: the {len(common)} problems every solver ran (n ≤ {max(n for _, n in common)}), "
                      f"every solver under the same {limit} limit (a slower ok run counts as not solved). "
                      f"Shifted geometric mean (shift 10 ms) of forward + backward time over all of them, a "
                      f"problem not solved counting as {limit} (as in qpbenchmark).", ""]
        lines += ["| solver | ok within the limit | shifted geometric mean time |", "|---|---|---|"]
        penalty = cap if math.isfinite(cap) else max(r.get("timeout") or 60.0 for r in rows.values())
        for solver in solver_order(rows):
            times = [_total(rows.get((name, solver)), cap) for name, _ in common]
            ok = sum(1 for t in times if t is not None)
            lines.append(f"| {solver} | {ok} / {len(common)} | "
                         f"{_fmt_time(_sgm([penalty if t is None else t for t in times]))} |")
    lines += ["", f"![profile]({plot_name})", "", "Per-pair rows: `maros_meszaros.csv` (one per problem × solver).", ""]
    path.write_text("\n".join(lines))
    return headline


def _sgm(times, shift=0.01) -> Optional[float]:
    if not times:
        return None
    return float(np.exp(np.mean(np.log(np.asarray(times) + shift))) - shift)


def _pct(value) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f} %" if value >= 0.01 else f"{100 * value:.2g} %"


def _yes(value) -> str:
    return "-" if value is None else ("yes" if value else "no")


def _total(row: Optional[dict], cap: float = math.inf) -> Optional[float]:
    """Forward + backward time of an ok row (None if not ok or slower than ``cap``)."""
    if row is None or not row["ok"]:
        return None
    total = row["forward_time"] + row["backward_time"]
    return total if total <= cap else None


def common_cap(rows: dict) -> float:
    """The smallest per-run timeout: the common set compares every solver under the same limit."""
    limits = [r["timeout"] for r in rows.values() if r.get("timeout")]
    return min(limits) if limits else math.inf


def common_problems(rows: dict) -> list[tuple[str, int]]:
    """Problems that every solver ran (skipped pairs count as run: they are not ok)."""
    solvers = solver_order(rows)
    names = {}
    for r in rows.values():
        names.setdefault((r["problem"], r["n"]), set()).add(r["solver"])
    return sorted((key for key, have in names.items() if have >= set(solvers)), key=lambda k: (k[1], k[0]))


def write_plot(path: Path, rows: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    solvers = solver_order(rows)
    palette = plt.get_cmap("tab20").colors
    styles = {s: dict(color="black", lw=2.6) if s == NATIVE else
              dict(color=palette[(2 * i) % 20 + (i // 10) % 2], lw=1.4, ls=("-", "--", ":")[i % 3])
              for i, s in enumerate(solvers)}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.6))
    # Left: every problem each solver ran — how many are solved and differentiated within t seconds.
    ax = axes[0]
    for solver in solvers:
        mine = [r for r in rows.values() if r["solver"] == solver]
        times = np.sort([_total(r) for r in mine if r["ok"]])
        if not len(times):
            continue
        ax.step(np.concatenate([[times[0]], times]), np.arange(len(times) + 1), where="post",
                **styles[solver], label=f"{solver} ({len(times)}/{len(mine)}, n ≤ "
                                                             f"{max(r['n'] for r in mine)})")
    ax.set_xscale("log")
    ax.set_xlabel("forward + backward wall time per problem [s]")
    ax.set_ylabel("problems solved and differentiated (ok)")
    ax.set_title("Cumulative ok count vs time")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    # Right: performance profile on the common set.
    ax = axes[1]
    common = common_problems(rows)
    if len(solvers) > 1 and common:
        cap = common_cap(rows)
        table = np.array([[_total(rows.get((name, s)), cap) or np.inf for s in solvers] for name, _ in common])
        best = table.min(axis=1, keepdims=True)
        ratios = table / np.where(np.isfinite(best), best, 1.0)
        ratios[~np.isfinite(best).ravel()] = np.inf
        taus = np.logspace(0, 4, 400)
        for j, solver in enumerate(solvers):
            fraction = [(ratios[:, j] <= tau).mean() for tau in taus]
            ax.plot(taus, fraction, **styles[solver], label=solver)
        ax.set_xscale("log")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("τ (time / best time on the problem)")
        ax.set_ylabel("fraction of problems ok within τ × best")
        ax.set_title(f"Performance profile, {len(common)} problems all solvers ran (n ≤ "
                     f"{max(n for _, n in common)})" + (f", ok within {cap:g} s" if math.isfinite(cap) else ""),
                     fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    else:
        native = [r for r in rows.values() if r["solver"] == NATIVE and r["ok"]]
        ax.scatter([r["n"] for r in native], [r["derivative_overhead"] for r in native], s=14)
        ax.axhline(TARGET_OVERHEAD, color="r", ls="--", lw=1, label="target 10 %")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("n")
        ax.set_ylabel("backward / forward")
        ax.set_title(f"{NATIVE}: derivative overhead per problem")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("dqp on Maros–Meszaros: solve + differentiate (default settings)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------

def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-n", type=int, default=10000, help="largest number of variables (default 10000)")
    parser.add_argument("--quick", action="store_true", help="only problems with n ≤ 500")
    parser.add_argument("--problems", help="comma-separated problem names (default: all up to --max-n)")
    parser.add_argument("--solvers", help="comma-separated solvers (default: every one in dqp.available_solvers())")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per solver and problem (default 60)")
    parser.add_argument("--dense-max-n", type=int, default=2000,
                        help="largest n given to dense-only solvers (default 2000)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls for fast problems (default 3)")
    parser.add_argument("--time-budget", type=float, default=1.0,
                        help="stop repeating a call when the repeats would exceed this many seconds (default 1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss weights (default 0)")
    parser.add_argument("--data-dir", type=Path, help="folder of the .mat files (default ../shared/data/maros_meszaros)")
    parser.add_argument("--output", type=Path, default=RESULTS / "maros_meszaros",
                        help="stem of the .csv/.md/.png results (default bench/results/maros_meszaros)")
    parser.add_argument("--merge", action="store_true",
                        help="keep the CSV's other rows; rows of the pairs run now are replaced")
    parser.add_argument("--resume", action="store_true", help="with --merge: skip pairs already in the CSV")
    parser.add_argument("--report-only", action="store_true", help="rewrite the summary and plot from the CSV")
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run each problem × solver as a Ray task (pip install 'dqp[ray]'), each in its own "
                             "process with its own --timeout as locally: no ADDRESS starts a local cluster, else "
                             "'auto', HOST:PORT or ray://HOST:PORT (this repository at the same path on every node); "
                             "the same CSV")
    args = parser.parse_args(argv)
    if args.quick:
        args.max_n = min(args.max_n, 500)
    if args.resume:
        args.merge = True

    csv_path, md_path, png_path = (args.output.with_suffix(s) for s in (".csv", ".md", ".png"))
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    command = "python bench/maros_meszaros.py" + "".join(f" {a}" for a in (argv if argv is not None else sys.argv[1:]))
    summary_max_n = args.max_n

    if not args.report_only:
        # Also a module, so that the forkserver's children find measure() by name.
        sys.path.insert(0, str(HERE))
        import maros_meszaros  # noqa: F401
        from dqp.problems import maros_meszaros_dir

        beside = HERE.parent.parent / "shared" / "data" / "maros_meszaros"   # ../shared beside the repository
        args.data_dir = args.data_dir or maros_meszaros_dir() or (beside if beside.is_dir() else None)
        if args.data_dir is None or not Path(args.data_dir).is_dir():
            parser.error("no Maros–Meszaros folder: pass --data-dir or set DQP_MAROS_MESZAROS")
        args.data_dir = Path(args.data_dir)
        sizes = problem_sizes(args.data_dir)
        if args.problems:
            wanted = [name.strip() for name in args.problems.split(",") if name.strip()]
            known = dict(sizes)
            unknown = [name for name in wanted if name not in known]
            if unknown:
                parser.error(f"unknown problems: {', '.join(unknown)}")
            problems = [(name, n) for name, n in sizes if name in wanted and n <= args.max_n]
        else:
            problems = [(name, n) for name, n in sizes if n <= args.max_n]
        try:
            solvers = solver_list(args.solvers)
        except ValueError as error:
            parser.error(str(error))
        previous = read_csv(csv_path) if args.merge else {}

        def write(rows):
            write_csv(csv_path, rows)

        rows = sweep(args, problems, solvers, previous, write)
        summary_max_n = max([args.max_n] + [r["n"] for r in rows.values() if r["solver"] == NATIVE])
    else:
        rows = read_csv(csv_path)
        if not rows:
            parser.error(f"{csv_path} is empty or missing")
        summary_max_n = max(r["n"] for r in rows.values() if r["solver"] == NATIVE) if any(
            r["solver"] == NATIVE for r in rows.values()) else args.max_n
    write_csv(csv_path, rows)
    headline = write_summary(md_path, rows, png_path.name, command, summary_max_n)
    write_plot(png_path, rows)
    print(f"\nwrote {csv_path}, {md_path}, {png_path}")
    for line in headline:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
