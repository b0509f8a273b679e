"""Maros–Meszaros problems up to n = 10⁵: dqp against the original package
(libdqp), solve alone and solve + derivative, through each package's torch
layer with sparse storage.

A separate driver rather than an option of maros_meszaros.py: that sweep
times dqp's C++ engine (no torch) for each of its 16 forward solvers in
forked children of one interpreter; this one compares *packages*, so each
run is a fresh interpreter of the package's own venv (bench/_worker_qp.py,
as batch_dense.py and structured.py do), timing the user-facing torch layer.
It reuses maros_meszaros.py's problem listing and its per-problem loss
weights.

Per problem, in its own process per implementation (killed after the
timeout, so a hung solve costs --timeout, not the run):

* dqp: ``dqp.QPLayer()`` defaults (qp_solver="auto", native, polish on;
  the solver it picked and the extension's build time are recorded), torch
  sparse CSC P, C, A;
* libdqp: ``dQP.dQP_layer(build_settings(solve_type="sparse",
  empty_batch=False))``, its sparse defaults (OSQP at its default tolerance +
  scipy SPLU); an inequality-free problem gets the no-op row 0ᵀz ≤ 1, which it
  requires;
* dqp+klu, dqp+spqr (--impls; not by default): dqp with lin_solver="klu" /
  "spqr" instead of its default reduced-KKT linear solver ("auto": sparse
  LDLᵀ with SuiteSparse's AMD ordering, KLU on a zero pivot, SPQR least
  squares for a singular K), to show what that choice costs.

--merge keeps the rows of the existing CSV and replaces those of the
(problem, implementation) pairs run now, e.g. to add a variant afterwards:
``python bench/mm_peers.py --impls dqp+spqr --merge``. The comparisons of
libdqp against dqp are made when libdqp runs (against the dqp row present).

The loss is L = wᵀz with w ~ N(0, I) fixed per problem (maros_meszaros.py's
weights, seed 0); q, d, b get gradients, the matrices are constants. Times are
medians of up to --repeats calls after a warm-up call, within --budget
seconds; a warm-up of ≥ --slow seconds is the only sample. backward = forward
+ backward − forward, call by call. The machine is shared, so the times are
indicative. A run is **failed** when the layer raises (dqp: a non-optimal
status) and **timeout** when one call takes longer than --timeout. Answers
are checked: objective and constraint violation of each z, and the libdqp z
and gradient against dqp's.

Problem selection (default): --count problems spread evenly in log n over
[smallest n, --max-n]: for each of --count log-spaced targets, the not yet
chosen problem nearest in log n (ties: smaller n, then name). --problems
names them instead, --all takes every problem with n ≤ --max-n.

    python bench/mm_peers.py --quick                 # 6 small problems, short timeout (about a minute)
    python bench/mm_peers.py                         # 24 problems, n = 2 … 93 263, 120 s per run
    python bench/mm_peers.py --max-n 5000 --timeout 60   # 24 problems, n = 2 … 5000, bounded (~15 min)
    python bench/mm_peers.py --all --timeout 300     # all 137
    python bench/mm_peers.py --problems AUG2D,CONT-200 --impls dqp
Writes results/mm_peers.{csv,md,png} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

from common import (INPUTS, RESULTS, available, command_line, dqp_version, fmt_ratio, fmt_time, machine_line,
                    median, peer_versions, progress_bar, run_worker, save_qp, write_rows)

# "dqp+NAME": dqp with lin_solver=NAME instead of its default.
IMPLS = ["dqp", "libdqp"]
ALL_IMPLS = ["dqp", "dqp+klu", "dqp+spqr", "libdqp"]
FIELDS = ["problem", "n", "m", "p", "nnz", "impl", "forward", "backward", "total", "backward_pct", "samples",
          "objective", "violation", "obj_rel_diff", "z_rel_diff", "grad_rel_diff", "degenerate", "status", "solver",
          "lin_solver", "build", "error",
          "ratio_forward", "ratio_total"]


def select(sizes: list, count: int, max_n: int) -> list:
    """`count` problems spread evenly in log n up to max_n (see the module docstring)."""
    pool = [(name, n) for name, n in sizes if n <= max_n]
    if count >= len(pool):
        return pool
    low, high = math.log(min(n for _, n in pool)), math.log(max(n for _, n in pool))
    chosen: list = []
    for k in range(count):
        target = low + (high - low) * k / max(count - 1, 1)
        chosen.append(min((p for p in pool if p not in chosen),
                          key=lambda p: (abs(math.log(p[1]) - target), p[1], p[0])))
    return sorted(chosen, key=lambda p: (p[1], p[0]))


def check(problem, z: np.ndarray) -> tuple[float, float]:
    """(objective, max constraint violation) of z."""
    objective = problem.objective(z)
    violation = 0.0
    if problem.m:
        violation = max(violation, float(np.max(problem.C @ z - problem.d, initial=0.0)))
    if problem.p:
        violation = max(violation, float(np.max(np.abs(problem.A @ z - problem.b))))
    return objective, violation


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=24, help="problems in the default selection (24)")
    parser.add_argument("--max-n", type=int, default=100000, help="largest n (100000)")
    parser.add_argument("--problems", help="comma-separated problem names instead of the selection")
    parser.add_argument("--all", action="store_true", help="every problem with n ≤ --max-n")
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=ALL_IMPLS,
                        help="implementations (default: dqp libdqp)")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md and .png from the CSV")
    parser.add_argument("--merge", action="store_true",
                        help="keep the existing CSV's other rows (same --output), replace the pairs run now")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds one call may take (120)")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls after the warm-up (3)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds of timed calls per run (10)")
    parser.add_argument("--slow", type=float, default=2.0, help="a warm-up this long is the only sample (2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the loss weights (0)")
    parser.add_argument("--data-dir", type=Path, help="folder of the .mat files (default: $DQP_MAROS_MESZAROS, else "
                        "../shared/data/maros_meszaros beside the repository)")
    parser.add_argument("--quick", action="store_true", help="6 problems with n ≤ 100, timeout 30 s")
    parser.add_argument("--output", type=Path, default=RESULTS / "mm_peers",
                        help="stem of the .csv/.md/.png results (default bench/results/mm_peers)")
    args = parser.parse_args(argv)
    if args.quick:
        args.count, args.max_n, args.timeout, args.repeats, args.budget = 6, 100, min(args.timeout, 30.0), 3, 3.0
    command = command_line("mm_peers.py", sys.argv[1:] if argv is None else argv)
    md_path = args.output.with_suffix(".md")
    if (args.merge or args.report_only) and md_path.exists():  # keep the earlier commands whose rows stay
        earlier = [piece for line in md_path.read_text().splitlines()
                   if line.startswith("Command") and "`" in line for piece in line.split("`")[1::2]]
        command = "`, then `".join(dict.fromkeys(earlier + ([] if args.report_only else [command])))
    if args.report_only:
        rows = read_rows(args.output.with_suffix(".csv"))
        if not rows:
            parser.error(f"no rows in {args.output.with_suffix('.csv')}")
        md_path.write_text(summary(rows, args, command, 0))
        plot(rows, args.output.with_suffix(".png"))
        print(md_path.read_text())
        return 0

    import dqp
    from dqp.problems import maros_meszaros_dir

    from maros_meszaros import loss_weights, problem_sizes

    # $DQP_MAROS_MESZAROS, else ../shared beside the repository (also when dqp is installed elsewhere)
    beside = Path(__file__).resolve().parents[2] / "shared" / "data" / "maros_meszaros"
    data_dir = args.data_dir or maros_meszaros_dir() or (beside if beside.is_dir() else None)
    if data_dir is None or not Path(data_dir).is_dir():
        parser.error("no Maros–Meszaros folder: pass --data-dir or set DQP_MAROS_MESZAROS")
    sizes = problem_sizes(Path(data_dir))
    if args.problems:
        wanted = [name.strip() for name in args.problems.split(",") if name.strip()]
        unknown = sorted(set(wanted) - {name for name, _ in sizes})
        if unknown:
            parser.error(f"unknown problems: {', '.join(unknown)}")
        problems = [(name, n) for name, n in sizes if name in wanted]
    elif args.all:
        problems = [(name, n) for name, n in sizes if n <= args.max_n]
    else:
        problems = select(sizes, args.count, args.max_n)
    impls = [impl for impl in args.impls if available(impl.split("+")[0])]
    if len(impls) < len(args.impls):
        print("libdqp is not installed (run bash bench/setup_peers.sh)")
    INPUTS.mkdir(parents=True, exist_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)

    rows: list = read_rows(args.output.with_suffix(".csv")) if args.merge else []
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("Maros–Meszaros", total=len(problems) * len(impls))
        for name, _ in problems:
            problem = dqp.load_problem(Path(data_dir) / f"{name}.mat")
            weights = loss_weights(name, problem.n, args.seed)
            path = INPUTS / f"mm_{name}.npz"
            save_qp(path, problem.P, problem.q, problem.C, problem.d, problem.A, problem.b, weights)
            results = {}
            for impl in impls:
                progress.update(task, description=f"{name} (n = {problem.n}) {impl}")
                extra = ("--storage", "sparse", "--slow", args.slow, "--timeout", args.timeout)
                if impl.startswith("dqp+"):
                    extra += ("--lin-solver", impl.split("+", 1)[1])
                result = run_worker(impl.split("+")[0], path, args.repeats, args.budget,
                                    args.timeout + args.budget + 30, script="_worker_qp.py", extra=extra)
                results[impl] = result
                row = {"problem": name, "n": problem.n, "m": problem.m, "p": problem.p, "nnz": problem.nnz,
                       "impl": impl, "error": result.get("error", "")}
                if "error" not in result:
                    row["forward"], row["total"] = median(result["forward"]), median(result["total"])
                    row["backward"] = median([t - f for f, t in zip(result["forward"], result["total"])])
                    row["backward_pct"] = 100 * row["backward"] / row["forward"]
                    row["samples"] = len(result["total"])
                    z = np.array(result["z"][0])
                    row["objective"], row["violation"] = check(problem, z)
                    info = result.get("info") or {}
                    row["status"] = ",".join(info.get("statuses", [])) or "solved"
                    if "degenerate" in info:
                        row["degenerate"] = bool(info["degenerate"])
                        row["solver"] = "+".join(info.get("solvers", []))
                        row["lin_solver"] = "+".join(info.get("linear_solvers", []))
                        row["build"] = info.get("build", "")
                    status = (f"fwd {fmt_time(row['forward']):>9}  bwd {fmt_time(row['backward']):>9}  "
                              f"({row['backward_pct']:.2g} %)  viol {row['violation']:.1e}")
                else:
                    status = result["error"]
                rows = [r for r in rows if (r["problem"], r["impl"]) != (name, impl)] + [row]
                progress.console.print(f"[{time.perf_counter() - started:6.0f} s] {name:<10} n={problem.n:<6} "
                                       f"{impl:<7} {status}")
                progress.advance(task)
            compare([r for r in rows if r["problem"] == name], results)
            write_rows(args.output.with_suffix(".csv"), rows, FIELDS)

    write_rows(args.output.with_suffix(".csv"), rows, FIELDS)
    text = summary(rows, args, command, len(problems))
    args.output.with_suffix(".md").write_text(text)
    plot(rows, args.output.with_suffix(".png"))
    print(text)
    print(f"wrote {args.output.with_suffix('.csv')}, .md, .png")
    return 0


def read_rows(path: Path) -> list:
    """The rows of an earlier run's CSV, typed as this script writes them."""
    import csv

    if not path.exists():
        return []
    integers, texts = {"n", "m", "p", "nnz", "samples"}, {"problem", "impl", "status", "solver", "lin_solver", "build", "error"}
    rows = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, value in raw.items():
                if key in texts:
                    row[key] = value
                elif value == "":
                    continue
                elif key == "degenerate":
                    row[key] = value == "True"
                else:
                    row[key] = int(value) if key in integers else float(value)
            rows.append(row)
    return rows


def compare(rows: list, results: dict) -> None:
    """libdqp's objective, z and ∂L/∂q against dqp's, and the time ratios, on the libdqp row (when both ran now)."""
    by_impl = {row["impl"]: row for row in rows}
    ours, theirs = by_impl.get("dqp"), by_impl.get("libdqp")
    if not ours or not theirs or ours["error"] or theirs["error"] or "dqp" not in results or "libdqp" not in results:
        return
    theirs["obj_rel_diff"] = abs(theirs["objective"] - ours["objective"]) / (1 + abs(ours["objective"]))
    z0, z1 = np.array(results["dqp"]["z"][0]), np.array(results["libdqp"]["z"][0])
    g0, g1 = np.array(results["dqp"]["grad_q"][0]), np.array(results["libdqp"]["grad_q"][0])
    theirs["z_rel_diff"] = float(np.max(np.abs(z1 - z0)) / (1 + np.max(np.abs(z0))))
    theirs["grad_rel_diff"] = float(np.max(np.abs(g1 - g0)) / (1e-12 + np.max(np.abs(g0))))
    theirs["ratio_forward"] = theirs["forward"] / ours["forward"]
    theirs["ratio_total"] = theirs["total"] / ours["total"]


def right(row: dict) -> bool:
    """libdqp's answer agrees with dqp's objective (1e-4, relative) and violates no constraint by more than 1e-4."""
    return (row.get("obj_rel_diff") is None or row["obj_rel_diff"] <= 1e-4) and (row.get("violation") or 0) <= 1e-4


def _short(error: str) -> str:
    if not error:
        return ""
    if error.startswith("timeout"):
        return "timeout"
    return "failed"


def summary(rows: list, args, command: str, count: int) -> str:
    index = {(r["problem"], r["impl"]): r for r in rows}
    names = sorted({(r["n"], r["problem"]) for r in rows})
    variants = [v for v in ALL_IMPLS if v.startswith("dqp+") and any(r["impl"] == v for r in rows)]
    counts: dict = {}
    for r in rows:
        if r.get("solver"):
            counts[r["solver"]] = counts.get(r["solver"], 0) + 1
    solvers_used = ", ".join(f"{solver} on {k} problem(s)" for solver, k in sorted(counts.items())) or "-"
    linear: dict = {}
    for r in rows:
        if r["impl"] == "dqp" and r.get("lin_solver"):
            linear[r["lin_solver"]] = linear.get(r["lin_solver"], 0) + 1
    linear_used = ", ".join(f"{solver} on {k}" for solver, k in sorted(linear.items())) or "-"
    builds = sorted({r["build"] for r in rows if r.get("build")})
    build_note = ("dqp extension built " + builds[0] + "." if len(builds) == 1 else
                  f"**The dqp extension was rebuilt by other engineers during the run** (builds: {', '.join(builds)})."
                  if builds else "")
    lines = [
        "# Maros–Meszaros: dqp against libdqp, solve and solve + derivative",
        "",
        f"Command{'s' if '`, then `' in command else ''}: `{command}`",
        "",
        f"Machine: {machine_line()}. {dqp_version()}. Peers: {peer_versions()}.",
        "",
        "**Shared machine**: 2 cores, with other engineers' jobs (a long Maros–Meszaros sweep, builds) running at "
        "the same time, so times are "
        f"indicative: each is the median of up to {args.repeats} calls after a warm-up call (a warm-up ≥ "
        f"{args.slow:g} s is the only sample). Timeout {args.timeout:g} s per call; each run in its own process. "
        + build_note,
        "",
        ("dqp+X = dqp with `lin_solver=\"X\"` instead of its default linear solver for the reduced KKT "
           "system (time of forward + backward). " if variants else "")
        + "Both through their torch layers with sparse (CSC) storage and default settings: dqp = `qp_solver='auto'` "
        f"(native; solver used: {solvers_used}; linear solver that factored K: {linear_used}) + polish; libdqp = OSQP + scipy SPLU. Loss wᵀz, w ~ N(0, I) per problem; gradients for q, d, b. "
        "backward = (forward + backward) − forward, measured at the layer, so on small problems it is mostly the "
        "torch autograd and input handling (≈ 0.2 ms), not the derivative itself (maros_meszaros.md has the engine-level "
        "figure); ratio = libdqp time / dqp time (> 1× = dqp faster). "
        "Notes: dqp's failures (its status), libdqp's answer against dqp's (relative objective difference "
        "|Δf| / (1 + |f|), relative ∂L/∂q difference) when they differ by more than 1e-4 / 1e-3, or its "
        "constraint violation when it is above 1e-4 (dqp's too); † marks a libdqp time whose answer is wrong by "
        "these measures (OSQP stopped early: a fast wrong answer, so its ratio flatters libdqp).",
        "",
        "| problem | n | nnz | dqp forward | dqp backward | backward / forward | libdqp forward | "
        "libdqp fwd + bwd | ratio forward | ratio fwd + bwd | "
        + "".join(f"{v} fwd + bwd | " for v in variants) + "notes |",
        "|---|---|---|---|---|---|---|---|---|---|" + "---|" * len(variants) + "---|",
    ]
    for n, name in names:
        ours, theirs = index.get((name, "dqp")), index.get((name, "libdqp"))
        notes = []
        cells = [name, str(n), str((ours or theirs)["nnz"])]
        if ours and not ours["error"]:
            cells += [fmt_time(ours["forward"]), fmt_time(ours["backward"]), f"{ours['backward_pct']:.2g} %"]
            if ours.get("degenerate"):
                notes.append("dqp: degenerate (least-squares derivative)")
            if ours.get("violation") is not None and ours["violation"] > 1e-4:
                notes.append(f"dqp violation {ours['violation']:.0e}")
        else:
            cells += [_short(ours["error"]) if ours else "—", "", ""]
            if ours:
                notes.append("dqp: " + ours["error"].replace("|", "/")[:90])
        if theirs and not theirs["error"]:
            mark = "" if right(theirs) else " †"
            cells += [fmt_time(theirs["forward"]) + mark, fmt_time(theirs["total"]) + mark,
                      fmt_ratio(theirs.get("ratio_forward")), fmt_ratio(theirs.get("ratio_total"))]
            if theirs.get("obj_rel_diff") is not None and theirs["obj_rel_diff"] > 1e-4:
                notes.append(f"libdqp objective off by {theirs['obj_rel_diff']:.0e}")
            if theirs.get("grad_rel_diff") is not None and theirs["grad_rel_diff"] > 1e-3:
                notes.append(f"libdqp ∂L/∂q off by {theirs['grad_rel_diff']:.0e}")
            if theirs.get("violation") is not None and theirs["violation"] > 1e-4:
                notes.append(f"libdqp violation {theirs['violation']:.0e}")
        else:
            cells += [_short(theirs["error"]) if theirs else "—", "", "", ""]
            if theirs and not theirs["error"].startswith("timeout"):
                notes.append("libdqp: " + theirs["error"].replace("|", "/")[:90])
        for variant in variants:
            other = index.get((name, variant))
            cells.append("—" if not other else fmt_time(other["total"]) if not other["error"]
                         else _short(other["error"]))
        cells.append("; ".join(notes))
        lines.append("| " + " | ".join(cells) + " |")

    ours_ok = [r for r in rows if r["impl"] == "dqp" and not r["error"]]
    theirs_ok = [r for r in rows if r["impl"] == "libdqp" and not r["error"]]
    both = [r for r in theirs_ok if r.get("ratio_total") is not None]
    agree = [r for r in both if right(r)]
    big = [r for r in ours_ok if r["n"] >= 1000]
    lines += ["", "## Summary", ""]
    count = len({r["problem"] for r in rows})
    lines.append(f"* {count} problems; dqp finished {len(ours_ok)}, libdqp {len(theirs_ok)} "
                 f"(timeouts: dqp {sum(r['impl'] == 'dqp' and r['error'].startswith('timeout') for r in rows)}, "
                 f"libdqp {sum(r['impl'] == 'libdqp' and r['error'].startswith('timeout') for r in rows)}).")
    if ours_ok:
        lines.append(f"* dqp backward / forward: median {median([r['backward_pct'] for r in ours_ok]):.2g} % over "
                     f"its {len(ours_ok)} solved problems"
                     + (f", {median([r['backward_pct'] for r in big]):.2g} % over the {len(big)} with n ≥ 1000"
                        if big else "") + f"; max {max(r['backward_pct'] for r in ours_ok):.2g} %.")
    if both:
        lines.append(f"* libdqp / dqp on the {len(both)} problems both finished: forward median "
                     f"{fmt_ratio(median([r['ratio_forward'] for r in both]))} (range "
                     f"{fmt_ratio(min(r['ratio_forward'] for r in both))} – "
                     f"{fmt_ratio(max(r['ratio_forward'] for r in both))}), forward + backward median "
                     f"{fmt_ratio(median([r['ratio_total'] for r in both]))} (range "
                     f"{fmt_ratio(min(r['ratio_total'] for r in both))} – "
                     f"{fmt_ratio(max(r['ratio_total'] for r in both))}); libdqp's answer is right (objective "
                     f"within 1e-4 of dqp's, violation ≤ 1e-4) on {len(agree)} of them.")
    if agree:
        lines.append(f"* libdqp / dqp where libdqp's answer is right ({len(agree)}: "
                     f"{', '.join(r['problem'] for r in agree)}): forward median "
                     f"{fmt_ratio(median([r['ratio_forward'] for r in agree]))}, forward + backward median "
                     f"{fmt_ratio(median([r['ratio_total'] for r in agree]))} (range "
                     f"{fmt_ratio(min(r['ratio_total'] for r in agree))} – "
                     f"{fmt_ratio(max(r['ratio_total'] for r in agree))}).")
    for variant in variants:
        done = {r["problem"]: r for r in rows if r["impl"] == variant and not r["error"]}
        paired = [done[r["problem"]]["total"] / r["total"] for r in ours_ok if r["problem"] in done]
        rescued = sorted(set(done) - {r["problem"] for r in ours_ok})
        lines.append(f"* dqp with `lin_solver=\"{variant.split('+', 1)[1]}\"` finished {len(done)}"
                     + (f"; its forward + backward time / the default's: median {median(paired):.2g}, min "
                        f"{min(paired):.2g}, max {max(paired):.2g} on the {len(paired)} both finished" if paired else "")
                     + (f"; finished where the default did not: {', '.join(rescued)}" if rescued else "") + ".")
    lines += ["", f"![times against n]({args.output.with_suffix('.png').name})", ""]
    return "\n".join(lines)


def plot(rows: list, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(13, 4.8))
    styles = {"dqp": dict(color="C0"), "dqp+klu": dict(color="C2"), "dqp+spqr": dict(color="C3"),
              "libdqp": dict(color="C1")}
    for impl in ALL_IMPLS:
        done = [r for r in rows if r["impl"] == impl and not r["error"]]
        if not done:
            continue
        axes[0].scatter([r["n"] for r in done], [r["forward"] for r in done], marker="o", label=f"{impl} forward",
                        **styles[impl])
        axes[0].scatter([r["n"] for r in done], [max(r["backward"], 1e-7) for r in done], marker="x",
                        label=f"{impl} backward", **styles[impl])
        failed = [r for r in rows if r["impl"] == impl and r["error"]]
        if failed:
            axes[0].scatter([r["n"] for r in failed], [3e-7] * len(failed), marker="v", alpha=0.6,
                            label=f"{impl} failed / timeout", **styles[impl])
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("n")
    axes[0].set_ylabel("median wall time [s]")
    axes[0].set_title("forward and backward time per problem")
    axes[0].grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    both = [r for r in rows if r["impl"] == "libdqp" and r.get("ratio_total") is not None]
    if both:
        axes[1].scatter([r["n"] for r in both], [r["ratio_forward"] for r in both], marker="o", label="forward")
        axes[1].scatter([r["n"] for r in both], [r["ratio_total"] for r in both], marker="x",
                        label="forward + backward")
        axes[1].axhline(1.0, color="k", lw=1)
        axes[1].set_xscale("log")
        axes[1].set_yscale("log")
        axes[1].legend(fontsize=8)
    axes[1].set_xlabel("n")
    axes[1].set_ylabel("libdqp time / dqp time")
    axes[1].set_title("libdqp / dqp (> 1: dqp faster)")
    axes[1].grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
