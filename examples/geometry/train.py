"""Learn a mesh's Laplacian edge weights so that its harmonic map flips no triangle (a bilevel problem).

The inner problem is a sparse QP solved by dqp (see mapping.py): the harmonic
map of a triangulated square onto a non-convex flower-shaped region, boundary
fixed by linear equality constraints. The outer loss penalises flipped and
nearly flipped triangles; its gradient reaches the edge weights through the
values of the QP's sparse P, in P's own pattern.

    python examples/geometry/train.py [--k 30] [--iterations 80] [--sizes 20 100] [--out DIR] [--quick]

Writes into the output folder: geometry_before_after.png (the map with the
initial uniform weights and with the learned ones, flipped triangles in red),
geometry_flips.png (flipped triangles and loss per iteration), geometry.csv
(per iteration) and geometry_timing.csv: seconds per iteration at the --sizes
(k × k vertices) for dqp and, when bench/.venv-libdqp exists (made by
bench/setup_peers.sh), for the original package on the same mesh; the script
says so when it does not.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from mapping import MeshMapping, optimise, seed_layer  # noqa: E402

LIBDQP_PYTHON = HERE.parent.parent / "bench" / ".venv-libdqp" / "bin" / "python"
warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")


def draw(ax, mapping: MeshMapping, z: torch.Tensor, title: str) -> None:
    from matplotlib.collections import PolyCollection

    positions = mapping.positions(z.detach()).numpy()
    triangles = mapping.triangles.numpy()
    corners = positions[triangles]
    u, v = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    flipped = (u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]) <= 0
    colours = np.where(flipped[:, None], np.array([[0.85, 0.1, 0.1, 1.0]]), np.array([[0.8, 0.86, 0.95, 1.0]]))
    ax.add_collection(PolyCollection(corners, facecolors=colours, edgecolors="0.35", linewidths=0.2))
    ax.autoscale_view()
    ax.set_aspect("equal")
    ax.set_axis_off()
    ax.set_title(f"{title}: {int(flipped.sum())} flipped (red)", fontsize=9)


def time_sizes(sizes: list, iterations: int, lr: float, timeout: float) -> list:
    """Seconds per iteration for dqp (this interpreter) and libdqp (its venv, if present) at each size."""
    rows = []
    interpreters = [("dqp", sys.executable)]
    if LIBDQP_PYTHON.exists():
        interpreters.append(("libdqp", str(LIBDQP_PYTHON)))
    else:
        print(f"libdqp is not installed ({LIBDQP_PYTHON} missing; bash bench/setup_peers.sh makes it): "
              "timing dqp only")
    for k in sizes:
        for name, python in interpreters:
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
                output = Path(handle.name)
            command = [python, str(HERE / "time_iterations.py"), str(k), str(iterations), str(output), "--lr", str(lr)]
            env = dict(os.environ, PYTHONPATH="")
            try:
                completed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout)
            except subprocess.TimeoutExpired:
                completed = subprocess.CompletedProcess(command, 1, "", f"timeout after {timeout:.0f} s")
            if completed.returncode == 0:
                rows.append({"package": name, **json.loads(output.read_text())})
            else:
                tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
                rows.append({"package": name, "k": k, "vertices": k * k, "error": tail[0][:200]})
            output.unlink(missing_ok=True)
            row = rows[-1]
            print(f"  {name:<7} {k * k:>6} vertices: " + (f"{row['seconds_per_iteration'] * 1e3:8.1f} ms per iteration, "
                  f"flipped {row['flipped_first']} -> {row['flipped_last']} in {iterations} iterations"
                  if "error" not in row else f"failed: {row['error']}"))
    return rows


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Learn Laplacian edge weights so that a harmonic map flips no triangle.")
    parser.add_argument("--k", type=int, default=30, help="vertices per side of the trained mesh (30: 900 vertices)")
    parser.add_argument("--iterations", type=int, default=80, help="Adam steps (80)")
    parser.add_argument("--lr", type=float, default=0.05, help="Adam learning rate on the log weights (0.05)")
    parser.add_argument("--sizes", type=int, nargs="*", default=[20, 100],
                        help="k of the meshes timed against libdqp (20 100: 400 and 10 000 vertices); none to skip")
    parser.add_argument("--timing-iterations", type=int, default=5, help="steps per timing run (5)")
    parser.add_argument("--timing-timeout", type=float, default=900.0,
                        help="seconds one timing run may take before it is reported as a timeout (900)")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder (examples/geometry/output)")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test (k = 12, 25 steps, no timing)")
    args = parser.parse_args(argv)
    if args.quick:
        args.k, args.iterations, args.sizes = 12, 25, []
    if args.k < 3:
        parser.error(f"--k must be at least 3, got {args.k}")
    args.out.mkdir(parents=True, exist_ok=True)

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    mapping = MeshMapping(args.k)
    solve = seed_layer()
    with Progress(TextColumn(f"mesh {args.k}×{args.k}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("flipped {task.fields[flipped]}")) as progress:
        task = progress.add_task("", total=args.iterations + 1, flipped="?")
        theta, records = optimise(mapping, solve, args.iterations, args.lr,
                                  lambda r: progress.update(task, advance=1, flipped=r["flipped"]))
    with torch.no_grad():
        z_before = solve(*mapping.qp(torch.zeros_like(theta)))
        z_after = solve(*mapping.qp(theta))

    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    draw(axes[0], mapping, z_before, "uniform weights (Tutte)")
    draw(axes[1], mapping, z_after, f"learned weights ({args.iterations} steps)")
    fig.suptitle(f"Harmonic map of a {args.k}×{args.k} grid onto a flower, edge weights learned through dqp", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out / "geometry_before_after.png", dpi=130)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["iteration"] for r in records], [r["flipped"] for r in records], color="C3", label="flipped triangles")
    ax.set_xlabel("iteration")
    ax.set_ylabel("flipped triangles", color="C3")
    twin = ax.twinx()
    twin.semilogy([r["iteration"] for r in records], [max(r["loss"], 1e-12) for r in records], color="C0")
    twin.set_ylabel("flip penalty", color="C0")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out / "geometry_flips.png", dpi=130)
    plt.close(fig)

    with open(args.out / "geometry.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["iteration", "loss", "flipped", "seconds"])
        writer.writeheader()
        for r in records:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in r.items()})
    per_iteration = float(np.median([r["seconds"] for r in records[1:-1]])) if len(records) > 2 else records[0]["seconds"]
    print(f"{args.k * args.k} vertices, {len(mapping.triangles)} triangles, {mapping.edge_count} learned edge weights: "
          f"flipped {records[0]['flipped']} -> {records[-1]['flipped']}, penalty {records[0]['loss']:.3g} -> "
          f"{records[-1]['loss']:.3g}; {per_iteration * 1e3:.1f} ms per iteration")

    timing = []
    if args.sizes:
        print(f"seconds per iteration (forward + backward + step, median of {args.timing_iterations - 1}):")
        timing = time_sizes(args.sizes, args.timing_iterations, args.lr, args.timing_timeout)
        with open(args.out / "geometry_timing.csv", "w", newline="") as handle:
            fields = ["package", "k", "vertices", "seconds_per_iteration", "flipped_first", "flipped_last",
                      "loss_first", "loss_last", "error"]
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in timing:
                writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
    print(f"wrote {args.out}/geometry_before_after.png, geometry_flips.png, geometry.csv"
          + (", geometry_timing.csv" if timing else ""))
    return {"flipped_first": records[0]["flipped"], "flipped_last": records[-1]["flipped"],
            "loss_first": records[0]["loss"], "loss_last": records[-1]["loss"], "timing": timing}


if __name__ == "__main__":
    main()
