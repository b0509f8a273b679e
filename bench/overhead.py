"""Small problems end to end: forward, backward and forward + backward of one
problem at a time through ``dqp.QPLayer``, against two floors measured in the
same run:

* the forward-only time of the fastest qpsolvers solver whose answer passes
  a KKT check (``bench/mpc.py``'s floor), on the same problem;
* the C++ core's own solve time (``Solution.solve_time``) and its whole
  forward (``Solution.total_time``), to show what Python and torch add.

Problems: a random dense QP with n = 2 and n = 10 (P = MMᵀ + I, n
inequalities), and the MPC set's LIPMWALK0 (n = 16, 32 rows) and WHLIPBAL0
(n = 50, 100 rows) when ../shared/data/mpc_qpbenchmark is found. A plain torch
op with its backward (``(P @ q).sum().backward()``) is timed too, and an
empty ``autograd.Function`` with dqp's three outputs: the least any autograd
layer can cost.

    python bench/overhead.py [--calls 2000] [--output results/overhead]

Writes results/overhead.{csv,md,png}: medians, the ratios against the floors
and the targets of the performance issue (LIPMWALK0 fwd+bwd ≤ 3× the floor,
WHLIPBAL0 ≤ 1.5×, n = 10 fwd+bwd ≤ 5× the C++ solve).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import dqp
from common import HERE, RESULTS, dqp_version, machine_line

# (problem, what is compared, target ratio) from the performance issue.
TARGETS = {"LIPMWALK0": ("floor", 3.0), "WHLIPBAL0": ("floor", 1.5), "random n=10": ("solve", 5.0)}
FIELDS = ["problem", "n", "m", "p", "solve", "core", "forward", "backward", "total", "plain_torch",
          "empty_function", "floor",
          "floor_solver", "ratio_total_floor", "ratio_total_solve"]


def random_problem(n: int) -> dict:
    g = torch.Generator().manual_seed(n)
    M = torch.randn(n, n, generator=g, dtype=torch.float64)
    P = M @ M.T + torch.eye(n, dtype=torch.float64)
    C = torch.randn(n, n, generator=g, dtype=torch.float64)
    z0 = torch.randn(n, generator=g, dtype=torch.float64)
    d = C @ z0 + torch.rand(n, generator=g, dtype=torch.float64)
    q = torch.randn(n, generator=g, dtype=torch.float64)
    return {"name": f"random n={n}", "P": P.numpy(), "q": q.numpy(), "C": C.numpy(), "d": d.numpy(),
            "A": np.zeros((0, n)), "b": np.zeros(0), "n": n}


def mpc_problems(names) -> list:
    """The MPC set's problems by name (bench/mpc.py's conversion: bounds become rows of C)."""
    import mpc
    try:
        folder = mpc.find_data(None)
    except SystemExit:
        print("MPC data not found: only the random problems are measured", file=sys.stderr)
        return []
    return [mpc.load_problem(folder / f"{name}.npz") for name in names]


def measure(problem: dict, calls: int) -> dict:
    """Medians over `calls` timed calls (after 50 warm-up calls) of one problem through QPLayer."""
    layer = dqp.QPLayer(n_threads=1)
    P, q, C, d, A, b = (torch.from_numpy(np.ascontiguousarray(problem[k])) for k in ("P", "q", "C", "d", "A", "b"))
    args = (P, q, C, d) + ((A, b) if A.shape[0] else ())
    forward, backward, solve, core = [], [], [], []
    for i in range(calls + 50):
        qq = args[1].clone().requires_grad_(True)
        t0 = time.perf_counter()
        z, _, _ = layer(args[0], qq, *args[2:])
        t1 = time.perf_counter()
        z.sum().backward()
        t2 = time.perf_counter()
        if i >= 50:
            s = layer.last_solutions[0]
            forward.append(t1 - t0)
            backward.append(t2 - t1)
            solve.append(s.solve_time)
            core.append(s.total_time)
    outputs = (np.zeros(problem["q"].shape[0]), np.zeros(problem["b"].shape[0]), np.zeros(problem["d"].shape[0]))
    plain = _timed(calls, q, lambda qq: (P @ qq).sum().backward())
    empty = _timed(calls, q, lambda qq: _EmptyLayer.apply(outputs, qq)[0].sum().backward())
    med = statistics.median
    total = [f + b for f, b in zip(forward, backward)]
    return {"problem": problem["name"], "n": problem["q"].shape[0], "m": problem["d"].shape[0],
            "p": problem["b"].shape[0], "solve": med(solve), "core": med(core), "forward": med(forward),
            "backward": med(backward), "total": med(total), "plain_torch": med(plain),
            "empty_function": med(empty)}


def _timed(calls: int, q: torch.Tensor, step) -> list:
    """Times of `calls` calls of step(q with a gradient), after 50 warm-up calls."""
    times = []
    for i in range(calls + 50):
        qq = q.clone().requires_grad_(True)
        t0 = time.perf_counter()
        step(qq)
        if i >= 50:
            times.append(time.perf_counter() - t0)
    return times


class _EmptyLayer(torch.autograd.Function):
    """What any autograd layer with dqp's outputs costs with no work at all:
    three tensors out of numpy arrays, a constant gradient back."""

    @staticmethod
    def forward(ctx, outputs, q):
        ctx.set_materialize_grads(False)
        return tuple(torch.from_numpy(o) for o in outputs)

    @staticmethod
    def backward(ctx, gz, glam, gmu):
        return None, torch.ones(gz.shape[0], dtype=torch.float64)


def add_floor(row: dict, problem: dict) -> None:
    import mpc
    times = mpc.floor_times(problem, repeats=200, budget=1.0, kkt_tol=1e-6)
    if times:
        solver = min(times, key=times.get)
        row["floor"], row["floor_solver"] = times[solver], solver
    else:
        row["floor"], row["floor_solver"] = float("nan"), ""
    row["ratio_total_floor"] = row["total"] / row["floor"]
    row["ratio_total_solve"] = row["total"] / row["solve"]


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def table(rows) -> list:
    lines = ["| problem | n | C++ solve | C++ forward | layer forward | layer backward | layer fwd+bwd | "
             "plain torch op + backward | empty autograd.Function fwd+bwd | floor (fastest qpsolvers forward) | fwd+bwd / floor | fwd+bwd / solve | "
             "target |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        target = ""
        if r["problem"] in TARGETS:
            against, limit = TARGETS[r["problem"]]
            ratio = r["ratio_total_floor"] if against == "floor" else r["ratio_total_solve"]
            target = f"≤ {limit:g}× the {against}: {'met' if ratio <= limit else 'missed'}"
        lines.append(f"| {r['problem']} | {r['n']} | {us(r['solve'])} | {us(r['core'])} | {us(r['forward'])} | "
                     f"{us(r['backward'])} | {us(r['total'])} | {us(r['plain_torch'])} | {us(r['empty_function'])} | {us(r['floor'])} "
                     f"({r['floor_solver']}) | {r['ratio_total_floor']:.1f}× | {r['ratio_total_solve']:.1f}× | "
                     f"{target} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per problem, after 50 warm-up calls (2000)")
    parser.add_argument("--output", type=Path, default=RESULTS / "overhead",
                        help="stem of the .csv/.md/.png results (default results/overhead)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    problems = [random_problem(2), random_problem(10)] + mpc_problems(["LIPMWALK0", "WHLIPBAL0"])
    rows = []
    for problem in problems:
        row = measure(problem, args.calls)
        add_floor(row, problem)
        rows.append(row)
        print(f"{row['problem']}: fwd+bwd {us(row['total'])}, floor {us(row['floor'])}", file=sys.stderr)
    load_after = os.getloadavg()[0]
    lines = [f"Machine: {machine_line()}. {dqp_version()}. Median of {args.calls} calls, 1 thread; the floor is "
             "the median forward of the fastest qpsolvers solver whose answer passes the KKT check (1e-6).", "",
             f"1-minute load average {load_before:.1f} before, {load_after:.1f} after the run.", ""]
    lines += table(rows)
    lines += ["", "What no layer can go below: an autograd.Function that does nothing but return three "
              "tensors and a constant gradient costs the 'empty' column, and the C++ forward (solve, active "
              "set, factorization) costs its own column; their sum against the floor:", ""]
    lines += [f"- {r['problem']}: ({us(r['empty_function'])} + {us(r['core'])}) / {us(r['floor'])} = "
              f"{(r['empty_function'] + r['core']) / r['floor']:.1f}× the floor, before any backward work"
              for r in rows]
    lines += ["", f"![where the time of one call goes]({args.output.with_suffix('.png').name})"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    with args.output.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.output.with_suffix(".png"))
    print("\n".join(lines))


def plot(rows, path: Path) -> None:
    """One stacked bar per problem (solve, core work, Python/torch forward, backward) and the floor."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [("solve (C++)", lambda r: r["solve"]),
             ("core work around the solve (C++)", lambda r: r["core"] - r["solve"]),
             ("Python + torch, forward", lambda r: r["forward"] - r["core"]),
             ("backward (all of it)", lambda r: r["backward"])]
    figure, axis = plt.subplots(figsize=(8, 4.5))
    labels = [f"{r['problem']} (n = {r['n']})" for r in rows]
    bottom = [0.0] * len(rows)
    for name, part in parts:
        heights = [max(part(r), 0.0) * 1e6 for r in rows]
        axis.barh(labels, heights, left=bottom, label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    for i, r in enumerate(rows):
        x = r["floor"] * 1e6
        axis.plot([x, x], [i - 0.45, i + 0.45], color="black", linestyle="--", linewidth=1.2,
                  label="floor: fastest qpsolvers forward" if i == 0 else None)
        y = r["plain_torch"] * 1e6
        axis.plot([y, y], [i - 0.45, i + 0.45], color="grey", linestyle=":", linewidth=1.5,
                  label="a plain torch op + backward" if i == 0 else None)
    axis.set_xlabel("median time of one call [µs]")
    axis.set_title("one small problem through the torch layer, forward + backward")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
