"""Per-call overhead of the torch layer on tiny problems (n = 2 and n = 10):
the wall time of layer(...) (forward) and of forward + backward, against the
time the C++ core spends solving (Solution.solve_time) — what the Python and
torch layers add. Median of many calls.

    python bench/overhead.py [--calls 2000] [--output results/overhead]
Writes results/overhead.{csv,md,png}: the medians, and a bar per size that
splits the forward + backward time into the solve, the core's own work
around it, and what Python and torch add.
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import time
from pathlib import Path

import torch

import dqp
from common import RESULTS, dqp_version, machine_line


def problem(n: int):
    g = torch.Generator().manual_seed(n)
    M = torch.randn(n, n, generator=g, dtype=torch.float64)
    P = M @ M.T + torch.eye(n, dtype=torch.float64)
    C = torch.randn(n, n, generator=g, dtype=torch.float64)
    z0 = torch.randn(n, generator=g, dtype=torch.float64)
    d = C @ z0 + torch.rand(n, generator=g, dtype=torch.float64)
    q = torch.randn(n, generator=g, dtype=torch.float64)
    return P, q, C, d


def measure(n: int, calls: int) -> dict:
    layer = dqp.QPLayer(n_threads=1)
    P, q, C, d = problem(n)
    forward, total, solve, core = [], [], [], []
    for i in range(calls + 50):
        qq = q.clone().requires_grad_(True)
        t0 = time.perf_counter()
        z, _, _ = layer(P, qq, C, d)
        t1 = time.perf_counter()
        z.sum().backward()
        t2 = time.perf_counter()
        if i >= 50:  # warm-up
            s = layer.last_solutions[0]
            forward.append(t1 - t0)
            total.append(t2 - t0)
            solve.append(s.solve_time)
            core.append(s.total_time)
    med = statistics.median
    return {"n": n, "forward": med(forward), "total": med(total), "solve": med(solve), "core": med(core)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per size, after 50 warm-up calls (2000)")
    parser.add_argument("--output", type=Path, default=RESULTS / "overhead",
                        help="stem of the .csv/.md/.png results (default results/overhead)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    load_before = os.getloadavg()[0]
    rows = [measure(n, args.calls) for n in (2, 10)]
    load_after = os.getloadavg()[0]
    lines = [f"Machine: {machine_line()}. {dqp_version()}. Median of {args.calls} calls, 1 thread.", "",
             f"**Shared machine**: 2 cores, other engineers' jobs running at the same time (1-minute load average "
             f"{load_before:.1f} before, {load_after:.1f} after the run).", "",
             "| n | solve (C++) | core forward (C++) | layer forward | layer fwd+bwd | forward − solve | "
             "fwd+bwd − solve |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n']} | {r['solve'] * 1e6:.1f} µs | {r['core'] * 1e6:.1f} µs | {r['forward'] * 1e6:.1f} µs | "
                     f"{r['total'] * 1e6:.1f} µs | {(r['forward'] - r['solve']) * 1e6:.1f} µs | "
                     f"{(r['total'] - r['solve']) * 1e6:.1f} µs |")
    lines += ["", f"![where the time of one call goes]({args.output.with_suffix('.png').name})"]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    with args.output.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["n", "solve", "core", "forward", "total"])
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, args.output.with_suffix(".png"))
    print("\n".join(lines))


def plot(rows, path: Path) -> None:
    """One stacked bar per size: solve, core work around it, Python/torch forward, backward."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    parts = [("solve (C++)", lambda r: r["solve"]),
             ("core work around the solve (C++)", lambda r: r["core"] - r["solve"]),
             ("Python + torch, forward", lambda r: r["forward"] - r["core"]),
             ("backward (all of it)", lambda r: r["total"] - r["forward"])]
    figure, axis = plt.subplots(figsize=(7, 4.2))
    labels = [f"n = {r['n']}" for r in rows]
    bottom = [0.0] * len(rows)
    for name, part in parts:
        heights = [max(part(r), 0.0) * 1e6 for r in rows]
        axis.barh(labels, heights, left=bottom, label=name)
        bottom = [b + h for b, h in zip(bottom, heights)]
    # The target: the forward may add at most 20 µs to the solve.
    for i, r in enumerate(rows):
        x = r["solve"] * 1e6 + 20.0
        axis.plot([x, x], [i - 0.45, i + 0.45], color="black", linestyle="--", linewidth=1.2,
                  label="target: forward ≤ solve + 20 µs" if i == 0 else None)
    axis.set_xlabel("median time of one call [µs]")
    axis.set_title("one tiny problem through the torch layer")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
