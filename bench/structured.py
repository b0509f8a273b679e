"""Structured QPs: dqp (dense and sparse storage) against libdqp, qpth,
ProxSuite's QPLayer and cvxpylayers, forward and forward + backward.

Two problem families, n variables each, matrices shared by the batch and the
vectors per batch element (a layer in a network sees the same structure with
new data):

* simplex — Euclidean projection onto the probability simplex,
      min ½‖z − y‖²  s.t.  1ᵀz = 1,  z ≥ 0
  (P = I, C = −I, A = 1ᵀ): y ~ N(0, σ²) with σ = --simplex-sigma (default 1,
  logits of unit scale as in sparsemax; the solution keeps a handful of
  entries and the rest of the n bounds are active).
* chain — a smoothed signal, a chain of n links with limited stretch,
  anchored at both ends:
      min ½‖z − y‖² + ½ρ Σ (z_{i+1} − z_i)²
      s.t. −1 ≤ z ≤ 1,  |z_{i+1} − z_i| ≤ δ,  z_1 = z_n = 0
  (tridiagonal P = I + ρ DᵀD, C = [I; −I; D; −D] with m = 4n − 2 banded rows,
  2 equalities), ρ = 2, δ = 0.23, y_i = 1.5 sin(8π t_i) + 0.5 ξ_i: both the
  box and the stretch limits have active rows at every size (δ is not a
  divisor of the bound, so no chain of active rows is linearly dependent by
  construction, as δ = 0.2 would make it).

The loss is L = Σ w ∘ z with w ~ N(0, I) fixed per problem; q, d, b are the
leaves that get gradients (the matrices are constants). Every implementation
runs in its own interpreter (bench/_worker_qp.py) on the same saved inputs;
dqp, libdqp: dense storage (strided tensors) up to --dense-max-n and sparse
storage (torch sparse CSC); qpth, QPLayer: dense only; cvxpylayers: the
matrices are scipy constants of its cvxpy problem. Each peer uses its
defaults (libdqp: cvxopt + scipy LU dense, OSQP + SPLU sparse; QPLayer:
ProxQP at ε = 1e-9; qpth: its PDIPM; cvxpylayers: its default conic solver);
dqp its default (qp_solver="auto", lin_solver="auto": the forward and
linear solvers each run used and the build of the extension are recorded in
the CSV and named in the .md). Not run by default: dqp/sparse+klu, dqp sparse
with lin_solver="klu" (--impls ... dqp/sparse+klu), from when the default
sparse LDLᵀ ordered a dense equality row badly (simplex n = 10000 timed out);
since the SuiteSparse AMD ordering the two are within noise of each other.

Timing: per run, one warm-up call and then up to --repeats calls within
--budget seconds; the whole grid is run --rounds times, interleaved, and the
table shows the median over all timed calls of all rounds (the machine is
shared: medians resist the noise, single ratios still move). A run whose
warm-up call exceeds --slow seconds uses that call as its only sample and is
not repeated in later rounds; one that exceeds --timeout (or whose process
does not finish within --timeout + --budget + 30 s) is recorded as a timeout,
and the implementation is skipped for larger n of the same family and batch.

Ratios are peer time / dqp time in the same storage (dense peers against
dqp dense, libdqp sparse and cvxpylayers against dqp sparse): > 1 means dqp
is faster. The CSV also has z and ∂L/∂q differences against dqp.

    python bench/structured.py --quick          # n = 100, B = 1, one round (about a minute)
    python bench/structured.py                  # n = 10 … 10000, B = 1 and 32 (n ≤ 1000), 3 rounds
    python bench/structured.py --rounds 1 --timeout 60 --budget 10   # the same grid, bounded (~25 min)
    python bench/structured.py --sizes 10 100 1000 --batches 1 --impls dqp/sparse libdqp/sparse
Writes results/structured.{csv,md,png} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from common import (INPUTS, RESULTS, available, command_line, dqp_version, fmt_ratio, fmt_time, machine_line,
                    median, peer_versions, progress_bar, run_worker, save_qp, write_rows)

# (label, implementation, storage); the storage dqp is compared in.
IMPLS = [
    ("dqp/dense", "dqp", "dense"),
    ("dqp/sparse", "dqp", "sparse"),
    ("dqp/sparse+klu", "dqp", "sparse"),   # lin_solver="klu" instead of the default; not run by default
    ("libdqp/dense", "libdqp", "dense"),
    ("libdqp/sparse", "libdqp", "sparse"),
    ("qplayer", "qplayer", "dense"),
    ("qpth", "qpth", "dense"),
    ("cvxpylayers", "cvxpylayers", "sparse"),
]
LABELS = [label for label, _, _ in IMPLS]
DEFAULT_LABELS = [label for label in LABELS if label != "dqp/sparse+klu"]
KINDS = ["simplex", "chain"]
FIELDS = ["kind", "n", "m", "p", "B", "impl", "storage", "forward", "backward", "total", "samples", "rounds",
          "ratio_forward", "ratio_total", "z_diff", "grad_diff", "degenerate", "active", "solver", "lin_solver", "build",
          "error"]


# ---------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------

def simplex(n: int, B: int, seed: int, sigma: float) -> dict:
    rng = np.random.default_rng([seed, 1, n, B])
    y = sigma * rng.standard_normal((B, n))
    identity = sp.identity(n, format="csc")
    return {"P": identity, "q": -y, "C": -identity, "d": np.zeros((B, n)),
            "A": sp.csc_matrix(np.ones((1, n))), "b": np.ones((B, 1)), "w": rng.standard_normal((B, n))}


def chain(n: int, B: int, seed: int, rho: float = 2.0, stretch: float = 0.23, bound: float = 1.0) -> dict:
    rng = np.random.default_rng([seed, 2, n, B])
    t = np.linspace(0.0, 1.0, n)
    y = 1.5 * np.sin(8 * np.pi * t) + 0.5 * rng.standard_normal((B, n))
    D = sp.diags([-np.ones(n - 1), np.ones(n - 1)], [0, 1], shape=(n - 1, n), format="csc")
    identity = sp.identity(n, format="csc")
    P = (identity + rho * (D.T @ D)).tocsc()
    C = sp.vstack([identity, -identity, D, -D]).tocsc()
    d = np.concatenate([np.full(2 * n, bound), np.full(2 * (n - 1), stretch)])
    A = sp.csc_matrix(([1.0, 1.0], ([0, 1], [0, n - 1])), shape=(2, n))
    return {"P": P, "q": -y, "C": C, "d": np.tile(d, (B, 1)), "A": A, "b": np.zeros((B, 2)),
            "w": rng.standard_normal((B, n))}


def make_problem(kind: str, n: int, B: int, args) -> dict:
    return simplex(n, B, args.seed, args.simplex_sigma) if kind == "simplex" else chain(n, B, args.seed)


# ---------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------

def reference_label(label: str) -> str:
    """The dqp run a peer is compared with: the same storage (cvxpylayers: sparse)."""
    return "dqp/dense" if dict((l, s) for l, _, s in IMPLS)[label] == "dense" else "dqp/sparse"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kinds", nargs="+", default=KINDS, choices=KINDS, help="problem families (default both)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000, 10000], help="values of n (10 100 1000 10000)")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32], help="batch sizes (default 1 32)")
    parser.add_argument("--batch-max-n", type=int, default=1000, help="batches B > 1 only for n ≤ this (1000)")
    parser.add_argument("--dense-max-n", type=int, default=2000,
                        help="dense storage (dqp/dense, libdqp/dense, qpth, QPLayer) only for n ≤ this (2000)")
    parser.add_argument("--cvxpylayers-max-n", type=int, default=1000, help="cvxpylayers only for n ≤ this (1000)")
    parser.add_argument("--impls", nargs="+", default=DEFAULT_LABELS, choices=LABELS,
                        help="implementations (default all but dqp/sparse+klu)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per run after the warm-up (5)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the grid, samples pooled (3)")
    parser.add_argument("--budget", type=float, default=20.0, help="seconds of timed calls per run (20)")
    parser.add_argument("--slow", type=float, default=5.0,
                        help="a warm-up call this long is the run's only sample, not repeated in later rounds (5)")
    parser.add_argument("--timeout", type=float, default=120.0,
                        help="seconds one call may take; slower runs are recorded as timeouts and the "
                             "implementation skipped at larger n (120)")
    parser.add_argument("--simplex-sigma", type=float, default=1.0, help="standard deviation of y (1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="n = 100; B = 1; one round; 3 repeats; timeout 30 s")
    parser.add_argument("--output", type=Path, default=RESULTS / "structured",
                        help="stem of the .csv/.md/.png results (default bench/results/structured)")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the .md and .png from the CSV (give the run's --timeout, --rounds, ... again)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.batches, args.rounds, args.repeats = [100], [1], 1, 3
        args.budget, args.timeout = min(args.budget, 5.0), min(args.timeout, 30.0)
    command = command_line("structured.py", sys.argv[1:] if argv is None else argv)
    if args.report_only:
        md_path = args.output.with_suffix(".md")
        earlier = [line.split("`")[1] for line in md_path.read_text().splitlines()
                   if line.startswith("Command") and "`" in line] if md_path.exists() else []
        rows = read_rows(args.output.with_suffix(".csv"))
        impls = [entry for entry in IMPLS if any(r["impl"] == entry[0] for r in rows)]
        md_path.write_text(summary(rows, impls, args, earlier[0] if earlier else command))
        plot(rows, impls, args.output.with_suffix(".png"), args.timeout)
        print(md_path.read_text())
        return 0
    INPUTS.mkdir(parents=True, exist_ok=True)
    args.output.parent.mkdir(parents=True, exist_ok=True)

    impls = [(label, impl, storage) for label, impl, storage in IMPLS if label in args.impls and available(impl)]
    missing = sorted({impl for label, impl, _ in IMPLS if label in args.impls and not available(impl)})
    if missing:
        print(f"not installed (run bash bench/setup_peers.sh): {', '.join(missing)}")
    cells = [(kind, n, B) for kind in args.kinds for n in sorted(args.sizes) for B in sorted(args.batches)
             if B == 1 or n <= args.batch_max_n]

    # Skips known before running.
    results: dict = {}
    for kind, n, B in cells:
        for label, impl, storage in impls:
            reason = None
            if storage == "dense" and n > args.dense_max_n:
                reason = f"skipped: dense storage, n > {args.dense_max_n}"
            if impl == "cvxpylayers" and n > args.cvxpylayers_max_n:
                reason = f"skipped: n > {args.cvxpylayers_max_n}"
            results[(kind, n, B, label)] = {"forward": [], "total": [], "rounds": 0, "error": reason, "done": False}

    sizes = {}
    runs = [(r, cell, entry) for r in range(args.rounds) for cell in cells for entry in impls]
    started = time.perf_counter()
    with progress_bar() as progress:
        task = progress.add_task("structured", total=len(runs))
        for round_index, (kind, n, B), (label, impl, storage) in runs:
            key = (kind, n, B, label)
            state = results[key]
            progress.update(task, description=f"round {round_index + 1}/{args.rounds} {kind} n={n} B={B} {label}")
            if state["error"] or state["done"]:
                progress.advance(task)
                continue
            path = INPUTS / f"{kind}_n{n}_B{B}_seed{args.seed}.npz"
            if (kind, n, B) not in sizes:
                problem = make_problem(kind, n, B, args)
                save_qp(path, **problem)
                sizes[(kind, n, B)] = (problem["C"].shape[0], problem["A"].shape[0])
            extra = ("--storage", storage, "--slow", args.slow, "--timeout", args.timeout)
            if label.endswith("+klu"):
                extra += ("--lin-solver", "klu")
            result = run_worker(impl, path, args.repeats, args.budget, args.timeout + args.budget + 30,
                                script="_worker_qp.py", extra=extra)
            state["rounds"] += 1
            if "error" in result and state["total"]:  # failed in a later round: keep the earlier samples
                state["done"] = True
                status = f"{result['error']} (earlier rounds' samples kept)"
            elif "error" in result:
                state["error"] = result["error"]
                if "warmup" in result:
                    state["forward"], state["total"] = [result["warmup"][0]], [result["warmup"][1]]
                if "timeout" in result["error"]:  # skip this implementation at larger n
                    for other in results:
                        if other[0] == kind and other[2] == B and other[3] == label and other[1] > n \
                                and not results[other]["total"]:
                            results[other]["error"] = results[other]["error"] or f"skipped: timeout at n = {n}"
                status = result["error"]
            else:
                state["forward"] += result["forward"]
                state["total"] += result["total"]
                if "z" not in state:
                    state["z"], state["grad_q"] = np.array(result["z"]), np.array(result["grad_q"])
                    state["info"] = result.get("info") or {}
                if result["warmup"][1] >= args.slow:
                    state["done"] = True
                status = (f"fwd {fmt_time(median(result['forward'])):>9}  fwd+bwd "
                          f"{fmt_time(median(result['total'])):>9}  ({len(result['total'])} calls)")
            progress.console.print(f"[{time.perf_counter() - started:6.0f} s] round {round_index + 1} "
                                   f"{kind:<7} n={n:<6} B={B:<3} {label:<14} {status}")
            progress.advance(task)

    rows = make_rows(results, cells, impls, sizes)
    write_rows(args.output.with_suffix(".csv"), rows, FIELDS)
    text = summary(rows, impls, args, command)
    args.output.with_suffix(".md").write_text(text)
    plot(rows, impls, args.output.with_suffix(".png"), args.timeout)
    print(text)
    print(f"wrote {args.output.with_suffix('.csv')}, .md, .png")
    return 0


def read_rows(path: Path) -> list:
    """The rows of a run's CSV, typed as make_rows makes them."""
    import csv

    integers = {"n", "m", "p", "B", "samples", "rounds", "degenerate", "active"}
    texts = {"kind", "impl", "storage", "solver", "lin_solver", "build", "error"}
    rows = []
    with open(path, newline="") as handle:
        for raw in csv.DictReader(handle):
            row = {}
            for key, value in raw.items():
                if key in texts:
                    row[key] = value
                elif value != "":
                    row[key] = int(value) if key in integers else float(value)
            rows.append(row)
    return rows


def make_rows(results: dict, cells, impls, sizes) -> list:
    rows = []
    for kind, n, B in cells:
        m, p = sizes.get((kind, n, B), (None, None))
        cell_rows = {}
        for label, impl, storage in impls:
            state = results[(kind, n, B, label)]
            row = {"kind": kind, "n": n, "m": m, "p": p, "B": B, "impl": label, "storage": storage,
                   "rounds": state["rounds"], "samples": len(state["total"]), "error": state["error"] or ""}
            if state["total"]:
                row["forward"], row["total"] = median(state["forward"]), median(state["total"])
                row["backward"] = median([t - f for f, t in zip(state["forward"], state["total"])])
            info = state.get("info") or {}
            if "degenerate" in info:
                row["degenerate"] = info["degenerate"]
                row["active"] = (info.get("active") or [None])[0]
                row["solver"] = "+".join(info.get("solvers", []))
                row["lin_solver"] = "+".join(info.get("linear_solvers", []))
                row["build"] = info.get("build", "")
            cell_rows[label] = (row, state)
        reference = next((cell_rows[l][1] for l in ("dqp/sparse", "dqp/dense")
                          if l in cell_rows and "z" in cell_rows[l][1]), None)
        for label, (row, state) in cell_rows.items():
            if reference is not None and "z" in state:
                row["z_diff"] = float(np.max(np.abs(state["z"] - reference["z"])))
                row["grad_diff"] = float(np.max(np.abs(state["grad_q"] - reference["grad_q"])))
            ref_row = cell_rows.get(reference_label(label), (None,))[0]
            if not label.startswith("dqp") and ref_row and "total" in ref_row and "total" in row \
                    and not row["error"] and not ref_row["error"]:
                row["ratio_forward"] = row["forward"] / ref_row["forward"]
                row["ratio_total"] = row["total"] / ref_row["total"]
            rows.append(row)
    return rows


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def cell_text(row: dict, mode: str) -> str:
    if row is None:
        return "—"
    if row.get("error"):
        error = row["error"]
        if error.startswith("skipped"):
            return "skipped" if "dense" in error or "n >" in error else "skipped (timeout at smaller n)"
        if error.startswith("timeout"):
            return "timeout"
        return "failed"
    if row["impl"].startswith("dqp"):
        return fmt_time(row[mode])
    ratio = row.get(f"ratio_{mode}")
    return f"{fmt_time(row[mode])} ({fmt_ratio(ratio)})" if ratio is not None else fmt_time(row[mode])


def summary(rows: list, impls, args, command: str) -> str:
    labels = [label for label, _, _ in impls]
    index = {(r["kind"], r["n"], r["B"], r["impl"]): r for r in rows}
    cells = sorted({(r["kind"], r["n"], r["B"]) for r in rows}, key=lambda c: (KINDS.index(c[0]), c[2], c[1]))
    lines = [
        "# Structured QPs: simplex projection and chain",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine_line()}. {dqp_version()}. Peers: {peer_versions()}.",
        "",
        "**Shared machine**: 2 cores, with other engineers' jobs (a long Maros–Meszaros sweep, builds) running "
        "at the same time. Every time is the "
        f"median over all timed calls of {args.rounds} interleaved round(s) of up to {args.repeats} calls each "
        f"(after one warm-up call per run; a run whose warm-up took ≥ {args.slow:g} s has that one call as its "
        "sample). Medians resist the load, but single ratios can still be off by tens of percent.",
        "",
        "Problems (matrices shared by the batch, vectors per element; loss Σ w∘z, gradients for q, d, b): "
        f"**simplex** = projection onto the probability simplex (P = I, C = −I, A = 1ᵀ; y ~ N(0, "
        f"{args.simplex_sigma:g}²)); **chain** = min ½‖z − y‖² + ρ/2 Σ(z_{{i+1}} − z_i)² s.t. |z| ≤ 1, "
        "|z_{i+1} − z_i| ≤ 0.23, z_1 = z_n = 0 (tridiagonal P, m = 4n − 2 banded rows, p = 2). "
        "See `bench/structured.py --help`.",
        "",
        "Cells: dqp's median time; for each peer its median time and, in parentheses, peer time / dqp time "
        "**in the same storage** (dense peers against dqp/dense, libdqp/sparse and cvxpylayers against dqp/sparse; "
        "> 1× = dqp faster). "
        + ("dqp/sparse+klu = dqp sparse with `lin_solver=\"klu\"` instead of the default (sparse_ldlt) for the "
           "reduced KKT system. " if "dqp/sparse+klu" in labels else "")
        + "skipped = dense storage above n = "
        f"{args.dense_max_n}, cvxpylayers above n = {args.cvxpylayers_max_n}, or the peer timed out at a smaller n; "
        f"timeout = one call over {args.timeout:g} s; failed = the run raised (message in the CSV).",
    ]
    for mode, title in (("forward", "Forward"), ("total", "Forward + backward")):
        lines += ["", f"## {title}", "", "| problem | n | B | " + " | ".join(labels) + " |",
                  "|---|---|---|" + "---|" * len(labels)]
        for kind, n, B in cells:
            lines.append(f"| {kind} | {n} | {B} | "
                         + " | ".join(cell_text(index.get((kind, n, B, label)), mode) for label in labels) + " |")
    mismatches = [r for r in rows if r.get("z_diff") is not None and (r["z_diff"] > 1e-4 or r["grad_diff"] > 1e-3)]
    failures = [r for r in rows if r.get("error") and not r["error"].startswith("skipped")]
    compared = [r for r in rows if r.get("z_diff") is not None and not r["impl"].startswith("dqp/sparse")]
    lines += ["", "## Checks", "",
              f"z and ∂L/∂q of every implementation against dqp's (sparse, else dense) on the same inputs "
              f"({len(compared)} runs compared): "
              + ("all within 1e-4 (z) and 1e-3 (∂L/∂q)." if not mismatches else "differences above 1e-4 (z) "
                 "or 1e-3 (∂L/∂q):")]
    for r in mismatches:
        lines.append(f"* {r['kind']} n = {r['n']} B = {r['B']} {r['impl']}: max |Δz| = {r['z_diff']:.1e}, "
                     f"max |Δ∂L/∂q| = {r['grad_diff']:.1e}")
    degenerate = [r for r in rows if r.get("degenerate")]
    if degenerate:
        lines += ["", "dqp flagged degenerate problems (least-squares derivative) in: " + ", ".join(
            f"{r['kind']} n = {r['n']} B = {r['B']} {r['impl']} ({r['degenerate']} of {r['B']})" for r in degenerate)
            + "."]
    if failures:
        lines += ["", "Failures and timeouts:", ""]
        lines += [f"* {r['kind']} n = {r['n']} B = {r['B']} {r['impl']}: {r['error']}" for r in failures]
    solvers = {}
    for r in rows:
        if r.get("solver"):
            solvers.setdefault((r["impl"], r["solver"] + (f" / {r['lin_solver']}" if r.get("lin_solver") else "")),
                               []).append(f"{r['kind']} n = {r['n']} B = {r['B']}")
    builds = sorted({r["build"] for r in rows if r.get("build")})
    lines += ["", "dqp's forward / linear solver (its defaults `qp_solver='auto'`, `lin_solver='auto'`, as recorded "
              "by each run): "
              + "; ".join(f"{impl}: {solver} ({', '.join(where)})" for (impl, solver), where in sorted(solvers.items()))
              + ". "
              + ("dqp extension built " + builds[0] + "." if len(builds) == 1 else
                 f"**The dqp extension was rebuilt by other engineers during the run** (builds: {', '.join(builds)}); "
                 "rows of different builds are not strictly comparable." if builds else "")]
    lines += ["", f"![times against n]({args.output.with_suffix('.png').name})", ""]
    return "\n".join(lines)


def plot(rows: list, impls, path: Path, timeout: float) -> None:
    """Median times against n for B = 1; a timed-out run is an x at the timeout."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [k for k in KINDS if any(r["kind"] == k for r in rows)]
    figure, axes = plt.subplots(2, len(kinds), figsize=(6.5 * len(kinds), 8), squeeze=False)
    for column, kind in enumerate(kinds):
        for row_index, (mode, name) in enumerate((("forward", "forward"), ("total", "forward + backward"))):
            axis = axes[row_index][column]
            for label, _, _ in impls:
                points = sorted((r["n"], r[mode]) for r in rows if r["kind"] == kind and r["impl"] == label
                                and r["B"] == 1 and r.get(mode) is not None and not r.get("error"))
                if points:
                    line, = axis.plot(*zip(*points), marker="o", label=label,
                                      linewidth=2.5 if label.startswith("dqp") else 1.2,
                                      linestyle="--" if label.endswith("dense") else "-")
                    timed_out = [r["n"] for r in rows if r["kind"] == kind and r["impl"] == label and r["B"] == 1
                                 and str(r.get("error", "")).startswith("timeout")]
                    if timed_out:
                        axis.scatter(timed_out, [timeout] * len(timed_out), marker="x", s=80,
                                     color=line.get_color(), zorder=5)
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_title(f"{kind}, B = 1: {name} (x = timeout, {timeout:g} s)")
            axis.set_xlabel("n")
            axis.set_ylabel("median wall time [s]")
            axis.grid(True, which="both", alpha=0.3)
        axes[0][column].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


if __name__ == "__main__":
    sys.exit(main())
