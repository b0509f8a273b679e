"""Per-call overhead of the torch layer on tiny problems (n = 2 and n = 10):
the wall time of layer(...) (forward) and of forward + backward, against the
time the C++ core spends solving (Solution.solve_time) — what the Python and
torch layers add. Median of many calls.

    python bench/overhead.py [--calls 2000]
Writes results/overhead.md.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

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
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "overhead.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
