"""The MPC test set (62 robotics QPs, n = 16 … 384) through dqp and the peers,
against the forward-only floor of the fastest qpsolvers solver.

Problems: ../shared/data/mpc_qpbenchmark (qpbenchmark's MPC set: LIPMWALK0–29,
n = 16; WHLIPBAL0–29, n = 50; QUADCMPC3–4, n = 384 with 192 equalities). The
bounds lb ≤ x ≤ ub become rows of C z ≤ d, so every implementation gets the
same QP, as dense tensors (what a controller written in torch holds).

Per implementation, each in its own interpreter on identical saved inputs, all
62 problems in one process (bench/_worker_mpc.py; timing rules of
bench/_worker_qp.py, one torch thread):

* dqp: ``dqp.QPLayer()`` defaults (qp_solver="auto");
* libdqp: the original package's dense defaults (cvxopt + scipy LU), bench/.venv-libdqp;
* qplayer: ProxSuite's ``proxsuite.torch.qplayer.QPFunction``, bench/.venv-peers;
* qpth: OptNet's ``qpth.qp.QPFunction``, bench/.venv-peers;
* cvxpylayers: a ``CvxpyLayer`` with q, d, b as parameters, bench/.venv-peers.

(bench/setup_peers.sh makes the peer environments; a missing one is reported and skipped.)

Measured: forward and forward + backward of the loss wᵀz (w ~ N(0, I) per
problem, seed 0; q, d, b are the leaves), median of up to --repeats calls after
a warm-up within --budget seconds per problem; success (the layer answered and
the KKT residual of its z is below --kkt-tol) and accuracy: the KKT residual of
z (max of the primal violation and the stationarity residual with the best
non-negative duals on the rows active at z), ∂L/∂q against dqp's. The floor:
per problem, the fastest forward solve among the qpsolvers solvers that answer
it accurately (KKT check), called through ``qpsolvers.solve_qp`` in this
interpreter with its default tolerances, dense arrays for dense solvers and CSC
matrices for sparse ones (the solver is named per problem in the CSV). Summary: shifted geometric means
(shift 10 µs) of each implementation's times over its solved problems and of
the ratios to the floor.

    python bench/mpc.py --quick            # 6 problems, few repeats (about a minute)
    python bench/mpc.py                    # all 62
    python bench/mpc.py --impls dqp qpth --families LIPMWALK
    python bench/mpc.py --quick --ray      # every floor and implementation × problem as a Ray task
Writes results/mpc.{csv,md,png} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import (ENVIRONMENTS, HERE, INPUTS, RESULTS, available, command_line, dqp_version, fmt_ratio, fmt_time,
                    machine_line, median, peer_versions, progress_bar, save_qp, write_rows)

IMPLS = ["dqp", "libdqp", "qplayer", "qpth", "cvxpylayers"]
SHIFT = 1e-5
FIELDS = ["problem", "n", "m", "p", "impl", "forward", "total", "backward", "floor", "floor_solver",
          "ratio_forward", "ratio_total", "kkt", "grad_rel_diff", "success", "samples", "error"]


def find_data(explicit) -> Path:
    """--data-dir, else $DQP_MPC_DATA, else shared/data/mpc_qpbenchmark in a parent folder of the repository."""
    if explicit:
        return Path(explicit)
    if os.environ.get("DQP_MPC_DATA"):
        return Path(os.environ["DQP_MPC_DATA"])
    for parent in HERE.parents:
        candidate = parent / "shared" / "data" / "mpc_qpbenchmark"
        if candidate.is_dir():
            return candidate
    raise SystemExit("no MPC data folder: pass --data-dir or set DQP_MPC_DATA")


def load_problem(path: Path) -> dict:
    """P, q, C, d (G rows, then finite upper and lower bounds), A, b as dense arrays."""
    data = np.load(path)
    P, q = data["P"], data["q"]
    n = q.shape[0]
    C_rows, d_rows = [data["G"]], [data["h"]]
    eye = np.eye(n)
    if "ub" in data:
        finite = np.isfinite(data["ub"]) & (data["ub"] < 1e20)
        C_rows.append(eye[finite])
        d_rows.append(data["ub"][finite])
    if "lb" in data:
        finite = np.isfinite(data["lb"]) & (data["lb"] > -1e20)
        C_rows.append(-eye[finite])
        d_rows.append(-data["lb"][finite])
    A = data["A"] if "A" in data else np.zeros((0, n))
    b = data["b"] if "b" in data else np.zeros(0)
    return {"name": path.stem, "P": 0.5 * (P + P.T), "q": q, "C": np.vstack(C_rows), "d": np.concatenate(d_rows),
            "A": A, "b": b, "n": n}


def kkt_residual(problem: dict, z: np.ndarray) -> float:
    """max(primal violation, stationarity residual with the best duals λ, μ ≥ 0 on the rows active at z)."""
    from scipy.optimize import lsq_linear

    P, q, C, d, A, b = (problem[k] for k in ("P", "q", "C", "d", "A", "b"))
    slack = C @ z - d
    violation = max(float(np.max(slack, initial=0.0)), float(np.max(np.abs(A @ z - b), initial=0.0)))
    active = slack >= -1e-6 * (1.0 + np.abs(d))
    gradient = P @ z + q
    blocks = [A.T, C[active].T]
    M = np.hstack(blocks)
    if M.shape[1] == 0:
        stationarity = float(np.max(np.abs(gradient), initial=0.0))
    else:
        lower = np.concatenate([np.full(A.shape[0], -np.inf), np.zeros(int(active.sum()))])
        duals = lsq_linear(M, -gradient, bounds=(lower, np.full(M.shape[1], np.inf)), method="bvls").x
        stationarity = float(np.max(np.abs(gradient + M @ duals), initial=0.0))
    scale = 1.0 + max(float(np.max(np.abs(q), initial=0.0)), float(np.max(np.abs(d), initial=0.0)))
    return max(violation, stationarity) / scale


def floor_times(problem: dict, repeats: int, budget: float, kkt_tol: float) -> dict:
    """{solver: median forward seconds} for the qpsolvers solvers whose answer passes the KKT check: dense
    solvers on the dense arrays, sparse-only ones on CSC matrices made before the clock starts."""
    import warnings

    import qpsolvers
    import scipy.sparse as sp

    dense = tuple(problem[k] for k in ("P", "q", "C", "d", "A", "b"))
    sparse = (sp.csc_matrix(dense[0]), dense[1], sp.csc_matrix(dense[2]), dense[3], sp.csc_matrix(dense[4]), dense[5])
    times = {}
    for solver in sorted(qpsolvers.available_solvers):
        P, q, C, d, A, b = dense if solver in qpsolvers.dense_solvers else sparse
        if A.shape[0] == 0:
            A, b = None, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # an inaccurate solver is dropped by the KKT check, not printed
                z = qpsolvers.solve_qp(P, q, C, d, A, b, solver=solver)
                if z is None or kkt_residual(problem, z) > kkt_tol:
                    continue
                samples, started = [], time.perf_counter()
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    qpsolvers.solve_qp(P, q, C, d, A, b, solver=solver)
                    samples.append(time.perf_counter() - t0)
                    if time.perf_counter() - started > budget:
                        break
            times[solver] = median(samples)
        except Exception:  # a solver that cannot take the problem is not a floor candidate
            continue
    return times


def shifted_geomean(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v)]
    if not values:
        return float("nan")
    return math.exp(sum(math.log(v + SHIFT) for v in values) / len(values)) - SHIFT


def geomean(values) -> float:
    values = [v for v in values if v is not None and not math.isnan(v) and v > 0]
    return math.exp(sum(map(math.log, values)) / len(values)) if values else float("nan")


def run_impl(impl: str, paths: list, args) -> list:
    """One interpreter of `impl` over every saved problem; a list of results (an error dict on failure)."""
    import subprocess

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as manifest:
        json.dump([str(p) for p in paths], manifest)
    output = Path(manifest.name).with_suffix(".out.json")
    command = [ENVIRONMENTS[impl], str(HERE / "_worker_mpc.py"), impl, manifest.name, str(output),
               "--repeats", str(args.repeats), "--budget", str(args.budget), "--timeout", str(args.timeout)]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=""),
                                   cwd=HERE, timeout=args.timeout * len(paths) + 120)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            return [{"error": f"exit {completed.returncode}: {tail[0][:200]}"}] * len(paths)
        return json.loads(output.read_text())
    except subprocess.TimeoutExpired:
        return [{"error": "timeout of the whole run"}] * len(paths)
    finally:
        Path(manifest.name).unlink(missing_ok=True)
        output.unlink(missing_ok=True)


def floor_row(problem: dict, repeats: int, budget: float, kkt_tol: float) -> dict:
    """The problem's floor: the fastest accurate qpsolvers solver and its median forward time."""
    times = floor_times(problem, repeats, budget, kkt_tol)
    solver = min(times, key=times.get) if times else None
    return {"problem": problem["name"], "floor": times.get(solver, float("nan")), "floor_solver": solver or "none"}


def run_locally(problems: list, saved: list, impls: list, args, progress) -> tuple:
    """The floors one problem after the other, then one interpreter per implementation over every problem."""
    floor_rows, results = [], {}
    task = progress.add_task("floor (qpsolvers)", total=len(problems))
    for problem in problems:
        floor_rows.append(floor_row(problem, args.repeats, args.floor_budget, args.kkt_tol))
        progress.advance(task)
    for impl in impls:
        task = progress.add_task(impl, total=1)
        results[impl] = run_impl(impl, saved, args)
        progress.advance(task)
    return floor_rows, results


def cluster_run(job: dict):
    """One Ray task of ``--ray``: a problem's floor, or one implementation on one problem (its own interpreter
    and timeout, as run_impl runs a list of them); the problem travels with the task, not as a file."""
    problem = job["problem"]
    if job["kind"] == "floor":
        return floor_row(problem, job["repeats"], job["floor_budget"], job["kkt_tol"])
    with tempfile.TemporaryDirectory(prefix="dqp-mpc-") as folder:
        path = Path(folder) / f"mpc_{problem['name']}.npz"
        save_qp(path, problem["P"], problem["q"], problem["C"], problem["d"], problem["A"], problem["b"], problem["w"])
        return run_impl(job["impl"], [path], argparse.Namespace(**job["options"]))[0]


def run_on_ray(problems: list, impls: list, args, progress) -> tuple:
    """Every floor and every implementation × problem as its own Ray task (``--ray``); the same results as
    run_locally, in the same order."""
    from dqp import _ray

    options = {"repeats": args.repeats, "budget": args.budget, "timeout": args.timeout}
    jobs = [{"kind": "floor", "problem": problem, "repeats": args.repeats, "floor_budget": args.floor_budget,
             "kkt_tol": args.kkt_tol} for problem in problems]
    jobs += [{"kind": "impl", "impl": impl, "problem": problem, "options": options}
             for impl in impls for problem in problems]
    task = progress.add_task(f"{len(jobs)} Ray tasks", total=len(jobs))
    with _ray.connected(args.ray):
        ray = _ray.import_ray()
        progress.console.print(f"Ray cluster: {ray.cluster_resources().get('CPU', 0):g} CPUs")
        done = _ray.run_all("mpc", "cluster_run", [(job,) for job in jobs], search_path=[HERE],
                            on_result=lambda index, result: progress.advance(task),
                            on_failure=lambda error: {"error": f"Ray task failed: {type(error).__name__}"})
    floor_rows = done[:len(problems)]
    for k, row in enumerate(floor_rows):
        if "floor" not in row:                          # the floor task itself failed
            floor_rows[k] = {"problem": problems[k]["name"], "floor": float("nan"), "floor_solver": "none"}
    results = {impl: done[len(problems) * (1 + i):len(problems) * (2 + i)] for i, impl in enumerate(impls)}
    return floor_rows, results


def _number(value) -> bool:
    return isinstance(value, float) and not math.isnan(value)


def natural_key(name: str) -> tuple:
    """LIPMWALK2 before LIPMWALK10."""
    stem = name.rstrip("0123456789")
    return stem, int(name[len(stem):] or 0)


def summarize(rows: list, impls: list) -> list:
    """Per implementation: solved count, shifted geometric means of times and of ratios to the floor."""
    summary = []
    problems = sorted({r["problem"] for r in rows})
    for impl in impls:
        mine = [r for r in rows if r["impl"] == impl]
        if not mine:
            continue
        solved = [r for r in mine if r["success"]]
        summary.append({
            "impl": impl, "solved": len(solved), "total_problems": len(problems),
            "forward": shifted_geomean([r["forward"] for r in solved]),
            "total": shifted_geomean([r["total"] for r in solved]),
            "ratio_forward": geomean([r["ratio_forward"] for r in solved]),
            "ratio_total": geomean([r["ratio_total"] for r in solved]),
            "kkt_median": median([r["kkt"] for r in solved]),
            "kkt_max": max((r["kkt"] for r in solved), default=float("nan")),
            "grad_median": median([r["grad_rel_diff"] for r in solved if _number(r.get("grad_rel_diff"))]),
            "grad_max": max((r["grad_rel_diff"] for r in solved if _number(r.get("grad_rel_diff"))),
                            default=float("nan")),
        })
    return summary


def write_markdown(path: Path, summary: list, floor_rows: list, args, seconds: float) -> None:
    floor = shifted_geomean([f["floor"] for f in floor_rows])
    solvers = sorted({f["floor_solver"] for f in floor_rows})
    lines = [f"# MPC test set: dqp against the peers and the forward-only floor", "",
             f"`{command_line('mpc.py', args.argv)}`, {len(floor_rows)} problems"
             + (f", {seconds:.0f} s" if not math.isnan(seconds) else "") + "; "
             f"{machine_line()}; {dqp_version()}" + (f"; peers: {peer_versions()}" if peer_versions() else "") + ".",
             "", f"Floor (fastest accurate qpsolvers solver per problem, forward only): shifted geometric mean "
             f"{fmt_time(floor)}; solvers that were fastest: {', '.join(solvers)}.", "",
             "| implementation | solved | forward | forward + backward | forward / floor | "
             "(forward + backward) / floor | KKT residual median / max | ∂L/∂q vs dqp (rel. diff. median / max) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summary:
        lines.append(f"| {s['impl']} | {s['solved']}/{s['total_problems']} | {fmt_time(s['forward'])} | "
                     f"{fmt_time(s['total'])} | {fmt_ratio(s['ratio_forward'])} | {fmt_ratio(s['ratio_total'])} | "
                     f"{s['kkt_median']:.1e} / {s['kkt_max']:.1e} | "
                     + ("-" if s["impl"] == "dqp" or math.isnan(s["grad_max"])
                        else f"{s['grad_median']:.1e} / {s['grad_max']:.1e}") + " |")
    lines += ["", "Times: shifted geometric means (shift 10 µs) over the problems each implementation solved; "
              "ratios: geometric means of the per-problem ratios to that problem's floor."]
    path.write_text("\n".join(lines) + "\n")


def plot(path: Path, rows: list, impls: list) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    problems = sorted({r["problem"] for r in rows},
                      key=lambda name: (next(r["n"] for r in rows if r["problem"] == name), natural_key(name)))
    position = {name: i for i, name in enumerate(problems)}
    for k, impl in enumerate(impls):
        mine = [r for r in rows if r["impl"] == impl and r["success"]]
        if mine:
            ax.scatter([position[r["problem"]] for r in mine], [r["ratio_total"] for r in mine], s=10,
                       label=f"{impl} (geo. mean {fmt_ratio(geomean([r['ratio_total'] for r in mine]))})",
                       color=f"C{k}")
    ax.axhline(1.0, color="k", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_xticks(range(len(problems)))
    ax.set_xticklabels(problems, rotation=90, fontsize=5)
    ax.set_ylabel("(forward + backward) / floor")
    ax.set_title("MPC test set: forward + backward time against the fastest qpsolvers forward", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def report_only(args) -> int:
    import csv
    import shlex

    stem = RESULTS / args.output
    with open(stem.with_suffix(".csv")) as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for key in ("forward", "total", "backward", "floor", "ratio_forward", "ratio_total", "kkt", "grad_rel_diff"):
            row[key] = float(row[key]) if row.get(key) else float("nan")
        row["n"], row["success"] = int(row["n"]), row["success"] == "1"
    impls = list(dict.fromkeys(r["impl"] for r in rows))
    floor_rows = list({r["problem"]: {"floor": r["floor"], "floor_solver": r["floor_solver"]} for r in rows}.values())
    args.argv = shlex.split(args.command or "")
    write_markdown(stem.with_suffix(".md"), summarize(rows, impls), floor_rows, args, float("nan"))
    plot(stem.with_suffix(".png"), rows, impls)
    print(stem.with_suffix(".md").read_text())
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=IMPLS, help="implementations (all five)")
    parser.add_argument("--families", nargs="+", help="problem families (LIPMWALK, WHLIPBAL, QUADCMPC)")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per problem after a warm-up (50)")
    parser.add_argument("--budget", type=float, default=1.0, help="seconds of timed calls per problem (1)")
    parser.add_argument("--floor-budget", type=float, default=0.25,
                        help="seconds of timed calls per problem and qpsolvers solver (0.25)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds one call may take (60)")
    parser.add_argument("--kkt-tol", type=float, default=1e-5, help="largest KKT residual of a success (1e-5)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss weights (0)")
    parser.add_argument("--data-dir", type=Path, help="folder of the .npz problems (default: $DQP_MPC_DATA, "
                        "else shared/data/mpc_qpbenchmark beside the repository)")
    parser.add_argument("--output", default="mpc", help="stem of the results files in bench/results (mpc)")
    parser.add_argument("--quick", action="store_true", help="2 problems of each family, 5 repeats")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the .md and .png from the CSV (the command line shown is the CSV's run's, "
                             "given with --command)")
    parser.add_argument("--command", help="with --report-only: the arguments of the run that wrote the CSV")
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run each floor and each implementation × problem as a Ray task (pip install "
                             "'dqp[ray]'): no ADDRESS starts a local cluster, else 'auto', HOST:PORT or "
                             "ray://HOST:PORT (this repository at the same path on every node); same tables")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        return report_only(args)
    if args.quick:
        args.repeats, args.budget, args.floor_budget = 5, 0.2, 0.05
    data = find_data(args.data_dir)
    paths = sorted(data.glob("*.npz"), key=lambda p: natural_key(p.stem))
    if args.families:
        paths = [p for p in paths if any(p.stem.startswith(f) for f in args.families)]
    if args.quick:
        chosen, per_family = [], {}
        for p in paths:
            family = p.stem.rstrip("0123456789")
            if per_family.get(family, 0) < 2:
                chosen.append(p)
                per_family[family] = per_family.get(family, 0) + 1
        paths = chosen
    if not paths:
        raise SystemExit(f"no problems in {data}")
    RESULTS.mkdir(exist_ok=True)
    INPUTS.mkdir(exist_ok=True)
    rng = np.random.default_rng(args.seed)
    start = time.perf_counter()

    problems, saved = [], []
    for path in paths:
        problem = load_problem(path)
        problem["w"] = rng.standard_normal(problem["n"])
        target = INPUTS / f"mpc_{problem['name']}.npz"
        save_qp(target, problem["P"], problem["q"], problem["C"], problem["d"], problem["A"], problem["b"],
                problem["w"])
        problems.append(problem)
        saved.append(target)

    impls = [impl for impl in args.impls if available(impl)]
    for impl in args.impls:
        if impl not in impls:
            print(f"{impl}: its environment ({ENVIRONMENTS[impl]}) is missing, skipped (bash bench/setup_peers.sh)")
    rows = []
    with progress_bar() as progress:
        if args.ray is None:
            floor_rows, results = run_locally(problems, saved, impls, args, progress)
        else:
            floor_rows, results = run_on_ray(problems, impls, args, progress)
        for impl in impls:
            for problem, floor, result in zip(problems, floor_rows, results[impl]):
                row = {"problem": problem["name"], "n": problem["n"], "m": problem["C"].shape[0],
                       "p": problem["A"].shape[0], "impl": impl, "floor": floor["floor"],
                       "floor_solver": floor["floor_solver"], "error": result.get("error"), "success": False,
                       "samples": len(result.get("total", []))}
                if "z" in result and not result.get("error"):
                    z = np.asarray(result["z"][0])
                    row["forward"], row["total"] = median(result["forward"]), median(result["total"])
                    row["backward"] = row["total"] - row["forward"]
                    row["kkt"] = kkt_residual(problem, z) if np.all(np.isfinite(z)) else float("inf")
                    row["success"] = row["kkt"] <= args.kkt_tol
                    row["grad_q"] = np.asarray(result["grad_q"][0])
                    row["ratio_forward"] = row["forward"] / floor["floor"]
                    row["ratio_total"] = row["total"] / floor["floor"]
                    if not row["success"] and not row["error"]:
                        row["error"] = f"KKT residual {row['kkt']:.1e} > {args.kkt_tol:g}"
                rows.append(row)
            progress.console.print(f"{impl}: {sum(r['success'] for r in rows if r['impl'] == impl)}/{len(problems)} "
                                   "solved")
    reference = {r["problem"]: r.get("grad_q") for r in rows if r["impl"] == "dqp" and r["success"]}
    for row in rows:
        mine, theirs = row.pop("grad_q", None), reference.get(row["problem"])
        if mine is not None and theirs is not None:
            row["grad_rel_diff"] = float(np.linalg.norm(mine - theirs) / max(np.linalg.norm(theirs), 1e-12))
        row["success"] = int(row["success"])
    seconds = time.perf_counter() - start
    stem = RESULTS / args.output
    write_rows(stem.with_suffix(".csv"), rows, FIELDS)
    summary = summarize(rows, impls)
    write_markdown(stem.with_suffix(".md"), summary, floor_rows, args, seconds)
    plot(stem.with_suffix(".png"), rows, impls)
    print(stem.with_suffix(".md").read_text())
    print(f"wrote {stem.with_suffix('.csv')}, {stem.with_suffix('.md')} and {stem.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
