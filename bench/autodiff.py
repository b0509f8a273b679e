"""What the autodiff transforms cost, as ratios measured side by side in one run.

    python bench/autodiff.py [--batch 128] [--n 50] [--repeats 15] [--output results/autodiff]

Dense problems (n variables, n inequalities of which about n / 4 active, no
equalities), B of them sharing P and C (q and d per problem):

* ``vmap(layer)`` over q, d against the batched call ``layer(P, Q, C, D)``
  (forward; target: within 10 %);
* a JVP (``torch.func.jvp``, one tangent of q) against a VJP
  (``torch.func.vjp`` and its pullback) and against forward + ``loss.backward()``
  (target: a JVP costs no more than a VJP);
* ``jacfwd`` and ``jacrev`` of z in q for one problem of size n, against one
  forward;
* a Hessian-vector product of ``‖z‖²`` in q (``create_graph=True``, then a
  second backward) against forward + two backward passes.

Median of ``--repeats`` runs after one warm-up; writes .md and .csv.
"""
from __future__ import annotations

import argparse
import csv
import statistics
import time
from pathlib import Path

import torch
from torch.func import jacfwd, jacrev, jvp, vjp, vmap

import dqp
from common import RESULTS, dqp_version, machine_line


def problems(batch: int, n: int):
    g = torch.Generator().manual_seed(n)
    M = torch.randn(n, n, generator=g, dtype=torch.float64) / n ** 0.5
    P = M @ M.T + torch.eye(n, dtype=torch.float64)
    C = torch.randn(n, n, generator=g, dtype=torch.float64)
    Z = torch.randn(batch, n, generator=g, dtype=torch.float64)
    slack = torch.rand(batch, n, generator=g, dtype=torch.float64) + 0.5
    slack[:, : n // 4] = 0.0
    D = Z @ C.T + slack
    Q = torch.randn(batch, n, generator=g, dtype=torch.float64)
    return P, Q, C, D


def timed(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", type=int, default=None, help="batch threads (default: every core)")
    parser.add_argument("--output", type=Path, default=RESULTS / "autodiff")
    args = parser.parse_args()

    layer = dqp.QPLayer(n_threads=args.threads)
    P, Q, C, D = problems(args.batch, args.n)
    tangent = torch.randn(Q.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    def batched():
        with torch.no_grad():
            layer(P, Q, C, D)

    def mapped():
        with torch.no_grad():
            vmap(lambda q, d: layer(P, q, C, d)[0])(Q, D)

    def z_of(q):
        return layer(P, q, C, D)[0]

    def forward_jvp():
        jvp(z_of, (Q,), (tangent,))

    def forward_vjp():
        _, pullback = vjp(z_of, Q)
        pullback(tangent)

    def forward_backward():
        q = Q.clone().requires_grad_()
        (z_of(q) * tangent).sum().backward()

    def hvp():
        q = Q.clone().requires_grad_()
        (g,) = torch.autograd.grad(z_of(q).pow(2).sum(), q, create_graph=True)
        torch.autograd.grad((g * tangent).sum(), q)

    def two_backward():
        q = Q.clone().requires_grad_()
        loss = z_of(q).pow(2).sum()
        torch.autograd.grad(loss, q, retain_graph=True)
        torch.autograd.grad(loss, q)

    q0, d0 = Q[0], D[0]

    def single(q):
        return layer(P, q, C, d0)[0]

    def single_forward():
        with torch.no_grad():
            single(q0)

    rows = []

    def add(what, time_, reference, reference_name, target=""):
        rows.append({"measure": what, "seconds": time_, "reference": reference_name, "reference_seconds": reference,
                     "ratio": time_ / reference, "target": target})

    t_batched, t_mapped = timed(batched, args.repeats), timed(mapped, args.repeats)
    add("vmap(layer), forward", t_mapped, t_batched, "batched call, forward", "<= 1.10")
    t_jvp, t_vjp, t_fb = (timed(f, args.repeats) for f in (forward_jvp, forward_vjp, forward_backward))
    add("torch.func.jvp (forward + 1 tangent)", t_jvp, t_vjp, "torch.func.vjp (forward + pullback)", "<= 1.00")
    add("torch.func.jvp (forward + 1 tangent)", t_jvp, t_fb, "forward + loss.backward()", "<= 1.00")
    t_single = timed(single_forward, args.repeats)
    t_jacfwd = timed(lambda: jacfwd(single)(q0), args.repeats)
    t_jacrev = timed(lambda: jacrev(single)(q0), args.repeats)
    add(f"jacfwd, n = {args.n}", t_jacfwd, t_single, "one forward")
    add(f"jacrev, n = {args.n}", t_jacrev, t_single, "one forward")
    t_hvp, t_two = timed(hvp, args.repeats), timed(two_backward, args.repeats)
    add("Hessian-vector product (create_graph, 2nd backward)", t_hvp, t_two, "forward + two backward passes")

    header = (f"# Autodiff transforms, B = {args.batch}, n = {args.n}\n\n{machine_line()}; {dqp_version()}; "
              f"threads: {layer.threads}; median of {args.repeats}.\n\n"
              "| measure | time (ms) | against | time (ms) | ratio | target |\n|---|---:|---|---:|---:|---|\n")
    lines = [f"| {r['measure']} | {1e3 * r['seconds']:.2f} | {r['reference']} | {1e3 * r['reference_seconds']:.2f} "
             f"| {r['ratio']:.2f} | {r['target']} |" for r in rows]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.with_suffix(".md").write_text(header + "\n".join(lines) + "\n")
    with args.output.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(header + "\n".join(lines))


if __name__ == "__main__":
    main()
