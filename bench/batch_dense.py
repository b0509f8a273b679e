"""Random dense QPs in batches: dqp against the original package (libdqp),
qpth (OptNet), ProxSuite's QPLayer and cvxpylayers, side by side, forward and
forward + backward (loss Σz), median of repeats.

Problems follow the reference's randomqp_dense generator: R, q, C, A ~ U[0,1],
P = RRᵀ + 1e-4 I, m = n, p = ⌈n/2⌉, d = C·1 + 1, b = A·1 (z = 1 is strictly
feasible). Run `bash bench/setup_peers.sh` once first.

    python bench/batch_dense.py                 # the full grid (≈ 20 min)
    python bench/batch_dense.py --quick         # n = 10, 50; B = 1, 32, 128
    # the target point B = 128, n = 50 alone, more repeats:
    python bench/batch_dense.py --sizes 50 --batches 128 --repeats 20 --output bench/results/batch_target
Writes results/batch_dense.{csv,md,png} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

from common import INPUTS, RESULTS, available, command_line, dqp_version, machine_line, median, peer_versions, run_worker

IMPLS = ["dqp", "dqp-1thread", "libdqp", "libdqp-daqp", "qplayer", "qpth", "cvxpylayers"]


def make_inputs(n: int, B: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    m, p = n, math.ceil(n / 2)
    R = rng.random((B, n, n))
    P = R @ R.transpose(0, 2, 1) + 1e-4 * np.eye(n)
    q = rng.random((B, n))
    C = rng.random((B, m, n))
    A = rng.random((B, p, n))
    return {"P": P, "q": q, "C": C, "d": C.sum(axis=2) + 1.0, "A": A, "b": A.sum(axis=2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 32, 128, 512])
    parser.add_argument("--impls", nargs="+", default=IMPLS, choices=IMPLS)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=30.0, help="seconds of repeats per run")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds before a run is abandoned")
    parser.add_argument("--quick", action="store_true", help="n = 10, 50 and B = 1, 32, 128")
    parser.add_argument("--output", type=Path, default=RESULTS / "batch_dense",
                        help="stem of the .csv/.md/.png results (default bench/results/batch_dense)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.batches = [10, 50], [1, 32, 128]
    INPUTS.mkdir(parents=True, exist_ok=True)
    impls = [impl for impl in args.impls if available(impl)]
    missing = sorted(set(args.impls) - set(impls))
    if missing:
        print(f"not installed (run bench/setup_peers.sh): {', '.join(missing)}")

    rows = []
    too_slow = set()
    runs = [(n, B) for n in args.sizes for B in sorted(args.batches)]
    for step, (n, B) in enumerate(runs, 1):
        path = INPUTS / f"dense_n{n}_B{B}.npz"
        np.savez(path, **make_inputs(n, B))
        reference = None
        for impl in impls:
            if (impl, n) in too_slow:
                rows.append({"n": n, "B": B, "impl": impl, "error": "skipped: slower than the timeout at a smaller B"})
                continue
            result = run_worker(impl, path, args.repeats, args.budget, args.timeout)
            row = {"n": n, "B": B, "impl": impl}
            if "error" in result:
                row["error"] = result["error"]
                if result["error"].startswith("timeout"):
                    too_slow.add((impl, n))
            else:
                row["forward"] = median(result["forward"])
                row["total"] = median(result["total"])
                row["repeats"] = len(result["total"])
                z, g = np.array(result["z"]), np.array(result["grad_q"])
                if reference is None:
                    reference = (z, g)
                row["z_diff"] = float(np.max(np.abs(z - reference[0])))
                row["grad_diff"] = float(np.max(np.abs(g - reference[1])))
            rows.append(row)
            status = row.get("error") or f"fwd {row['forward'] * 1e3:9.2f} ms  fwd+bwd {row['total'] * 1e3:9.2f} ms"
            print(f"[{step}/{len(runs)}] n={n:<4} B={B:<4} {impl:<12} {status}", flush=True)

    write_outputs(rows, impls, args)


def write_outputs(rows, impls, args) -> None:
    args.output.parent.mkdir(parents=True, exist_ok=True)
    fields = ["n", "B", "impl", "forward", "total", "repeats", "z_diff", "grad_diff", "error"]
    with open(args.output.with_suffix(".csv"), "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)

    peers = [impl for impl in impls if impl != "dqp"]
    lines = [
        "# Random dense QPs in batches",
        "",
        f"Command: `{command_line('batch_dense.py', sys.argv[1:])}`",
        "",
        f"Machine: {machine_line()}. {dqp_version()}. Peers: {peer_versions()}.",
        "",
        "**Shared machine**: 2 cores, with other engineers' jobs running at the same time; each time is the median "
        f"of up to {args.repeats} calls after a warm-up (within {args.budget:g} s), so single ratios are noisy.",
        "",
        "Median wall time of dqp and each peer's time as a multiple of dqp's (higher = dqp faster); loss Σz.",
    ]
    index = {(r["n"], r["B"], r["impl"]): r for r in rows}
    for mode, title in (("forward", "Forward"), ("total", "Forward + backward")):
        lines += ["", f"## {title}", "", "| n | B | dqp | " + " | ".join(peers) + " |",
                  "|---|---|---|" + "---|" * len(peers)]
        for n, B in sorted({(r["n"], r["B"]) for r in rows}):
            ours = index.get((n, B, "dqp"), {})
            cells = [f"{ours[mode] * 1e3:.2f} ms" if mode in ours else ours.get("error", "-")]
            for impl in peers:
                row = index.get((n, B, impl), {})
                if mode in row and mode in ours:
                    cells.append(f"{row[mode] / ours[mode]:.1f}×")
                else:
                    cells.append("—" if not row else "failed" if "error" in row
                                 and not row["error"].startswith("skipped") else "too slow")
            lines.append(f"| {n} | {B} | " + " | ".join(cells) + " |")
    lines += ["", f"![forward + backward time against batch size]({args.output.with_suffix('.png').name})"]
    args.output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    plot(rows, impls, args.output.with_suffix(".png"))


def plot(rows, impls, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["n"] for r in rows})
    figure, axes = plt.subplots(1, len(sizes), figsize=(5 * len(sizes), 4), squeeze=False)
    for axis, n in zip(axes[0], sizes):
        for impl in impls:
            points = sorted((r["B"], r["total"]) for r in rows if r["n"] == n and r["impl"] == impl and "total" in r)
            if points:
                axis.plot(*zip(*points), marker="o", label=impl, linewidth=2.5 if impl == "dqp" else 1.2)
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_title(f"random dense QPs, n = {n}")
        axis.set_xlabel("batch size B")
        axis.set_ylabel("forward + backward [s]")
        axis.grid(True, which="both", alpha=0.3)
    axes[0][0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
