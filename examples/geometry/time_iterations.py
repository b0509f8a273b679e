"""Seconds per iteration of the mesh-mapping optimisation with whichever package imports as `dqp`.

Run by examples/geometry/train.py in this interpreter (dqp) and in the original
package's venv (libdqp, bench/.venv-libdqp), on the same deterministic mesh, through
the seed API that both packages share (`dQP.dQP_layer`, sparse defaults).

    python examples/geometry/time_iterations.py K ITERATIONS OUTPUT.json [--lr 0.05]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mapping import MeshMapping, optimise, seed_layer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("k", type=int, help="vertices per side of the grid")
    parser.add_argument("iterations", type=int, help="optimisation steps")
    parser.add_argument("output", type=Path, help="JSON results")
    parser.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (0.05)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    mapping = MeshMapping(args.k)
    _, records = optimise(mapping, seed_layer(), args.iterations, args.lr)
    timed = [r["seconds"] for r in records[1:-1]] or [records[0]["seconds"]]  # the first call warms up
    args.output.write_text(json.dumps({
        "k": args.k, "vertices": args.k * args.k, "seconds_per_iteration": statistics.median(timed),
        "flipped_first": records[0]["flipped"], "flipped_last": records[-1]["flipped"],
        "loss_first": records[0]["loss"], "loss_last": records[-1]["loss"]}))


if __name__ == "__main__":
    main()
