"""Dense inputs on the dense and on the sparse path: where the crossover lies,
and what storage-aware ``auto`` gives on the MPC problems QUADCMPC3/4.

Forward + backward of the loss sum(z) (q, d, b are the leaves), one torch
thread, median of --repeats calls after a warm-up, all in this process:

* random problems (fixed seed): P = S + Sᵀ + diag (diagonally dominant),
  m = n inequality and p = n/4 equality rows, each entry non-zero with
  probability `density` (at least one per row); the same dense tensors solved
  with ``storage="input"`` (dense path) and ``storage="sparse"``. The column
  ``per_row`` is auto's measure, non-zeros of [P; C; A] per row; auto takes the
  sparse path at n ≥ 100 and per_row ≤ 3 (include/dqp/storage.hpp).
* QUADCMPC3/4 (../shared/data/mpc_qpbenchmark, bounds as rows of C) as dense
  tensors with ``storage="input"`` and with the default ``"auto"``, and as
  sparse CSC tensors: the ratio auto / sparse is the issue's target (≤ 2).

    python bench/storage.py --quick        # a few sizes (about a minute)
    python bench/storage.py                # the full sweep
    python bench/storage.py --mpc-only     # QUADCMPC3/4 alone (bench/targets.py)
Writes results/storage.{csv,md} (--output to change the stem).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import dqp
from common import RESULTS, command_line, machine_line, median, write_rows
from mpc import find_data, load_problem

FIELDS = ["case", "n", "m", "p", "per_row", "dense_ms", "sparse_ms", "auto_ms", "auto_storage", "dense_over_sparse"]


def random_problem(n: int, density: float, rng) -> list:
    m, p = n, n // 4

    def rows(count):
        M = np.where(rng.random((count, n)) < density, rng.standard_normal((count, n)), 0.0)
        M[np.arange(count), rng.integers(0, n, count)] = rng.standard_normal(count)
        return M

    S = np.where(rng.random((n, n)) < density / 2, rng.standard_normal((n, n)), 0.0)
    P = S + S.T
    P += np.diag(np.abs(P).sum(axis=1) + 1.0)
    C, A = rows(m), rows(p)
    z0 = rng.standard_normal(n)
    d = C @ z0 + np.where(rng.random(m) < 0.5, 0.0, rng.random(m))
    return [torch.tensor(x) for x in (P, rng.standard_normal(n), C, d, A, A @ z0)]


def seconds(layer, P, q, C, d, A, b, repeats: int) -> float:
    """Median forward + backward time; the first call is a warm-up."""
    times = []
    for _ in range(repeats + 1):
        leaves = [x.detach().clone().requires_grad_() for x in (q, d, b)]
        start = time.perf_counter()
        z, _, _ = layer(P, leaves[0], C, leaves[1], A, leaves[2])
        z.sum().backward()
        times.append(time.perf_counter() - start)
    return median(times[1:])


def per_row(P, C, A) -> float:
    return sum(int((M != 0).sum()) for M in (P, C, A)) / (P.shape[0] + C.shape[0] + A.shape[0])


def row(case, data, dense, sparse, auto=None, auto_storage="") -> dict:
    P, _, C, _, A, _ = data
    return {"case": case, "n": P.shape[0], "m": C.shape[0], "p": A.shape[0], "per_row": f"{per_row(P, C, A):.2f}",
            "dense_ms": f"{dense * 1e3:.2f}", "sparse_ms": f"{sparse * 1e3:.2f}",
            "auto_ms": "" if auto is None else f"{auto * 1e3:.2f}", "auto_storage": auto_storage,
            "dense_over_sparse": f"{dense / sparse:.2f}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="n = 100, 400 and three densities")
    parser.add_argument("--mpc-only", action="store_true", help="QUADCMPC3/4 only (no random grid)")
    parser.add_argument("--repeats", type=int, default=5, help="timed calls per case (median)")
    parser.add_argument("--data-dir", help="MPC data folder (default: shared/data/mpc_qpbenchmark)")
    parser.add_argument("--output", default=str(RESULTS / "storage"), help="stem of the CSV and Markdown files")
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore", category=RuntimeWarning)     # degenerate-problem notices
    warnings.filterwarnings("ignore", category=UserWarning)        # torch's sparse beta notices
    dense_layer, sparse_layer, auto_layer = (dqp.QPLayer(storage=s, on_failure="warn")
                                             for s in ("input", "sparse", "auto"))
    rows = []
    sizes = [] if args.mpc_only else [100, 400] if args.quick else [100, 200, 400, 800]
    densities = [0.0, 0.005, 0.02] if args.quick else [0.0, 0.002, 0.005, 0.01, 0.02, 0.05]
    rng = np.random.default_rng(0)
    for n in sizes:
        for density in densities:
            data = random_problem(n, density, rng)
            repeats = args.repeats if n <= 400 else max(1, args.repeats // 2)
            dense = seconds(dense_layer, *data, repeats)
            sparse = seconds(sparse_layer, *data, repeats)
            auto_layer(*data)
            rows.append(row(f"random density {density}", data, dense, sparse, auto_storage=auto_layer.storages[0]))
            print(rows[-1], flush=True)
    folder = find_data(args.data_dir)
    for name in ("QUADCMPC3", "QUADCMPC4"):
        problem = load_problem(folder / f"{name}.npz")
        data = [torch.tensor(problem[k]) for k in ("P", "q", "C", "d", "A", "b")]
        dense = seconds(dense_layer, *data, args.repeats)
        auto = seconds(auto_layer, *data, args.repeats)
        storage = auto_layer.storages[0]
        as_sparse = [x.to_sparse_csc() if i in (0, 2, 4) else x for i, x in enumerate(data)]
        sparse = seconds(auto_layer, *as_sparse, args.repeats)
        rows.append(row(name, data, dense, sparse, auto, storage))
        rows[-1]["auto_over_sparse_input"] = f"{auto / sparse:.2f}"
        print(rows[-1], flush=True)
    stem = Path(args.output)
    write_rows(stem.with_suffix(".csv"), rows, FIELDS + ["auto_over_sparse_input"])
    lines = [f"# Dense inputs: dense path against sparse path\n\n`{command_line('storage.py', sys.argv[1:])}`\n\n{machine_line()}\n",
             "Forward + backward, median ms, one thread. `sparse_ms` for the random problems is the dense "
             "tensors on the sparse path (`storage=\"sparse\"`); for QUADCMPC3/4 it is the same data given as "
             "sparse CSC tensors, and `auto_ms` the dense tensors with the default `storage=\"auto\"`.\n",
             "| " + " | ".join(FIELDS + ["auto_over_sparse_input"]) + " |",
             "|" + "---|" * (len(FIELDS) + 1)]
    lines += ["| " + " | ".join(str(r.get(k, "")) for k in FIELDS + ["auto_over_sparse_input"]) + " |" for r in rows]
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print(f"wrote {stem.with_suffix('.csv')} and {stem.with_suffix('.md')}")


if __name__ == "__main__":
    main()
