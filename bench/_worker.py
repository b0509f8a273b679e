"""Times one implementation on saved inputs; run in the implementation's own
environment by the benchmark drivers (the original package imports as `dqp`
too, so each peer lives in its own virtual environment).

    python _worker.py IMPL INPUT.npz OUTPUT.json [--repeats R] [--budget SECONDS]

INPUT.npz holds P, q, C, d, A, b with a leading batch axis. OUTPUT.json gets
the forward and forward+backward times (every repeat), and z and ∂(Σz)/∂q of
the first run for cross-checking the implementations.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch


def dqp_layer(threads):
    import dqp
    layer = dqp.QPLayer(n_threads=threads)
    return lambda P, q, C, d, A, b: layer(P, q, C, d, A, b)[0]


def libdqp_layer(qp_solver=None):
    from dqp import dQP  # the original package, in its own venv
    # Its defaults (cvxopt forward, scipy LU backward), as a user switching would
    # have them; or the forward solver named (DAQP, dqp's dense default).
    settings = dQP.build_settings(empty_batch=False, qp_solver=qp_solver)
    layer = dQP.dQP_layer(settings=settings)

    def run(P, q, C, d, A, b):
        if A.shape[-2] == 0:
            A = b = None
        if P.shape[0] == 1:  # it reads a batch of one as one problem, with 2-D matrices
            P, q, C, d = P[0], q[0], C[0], d[0]
            A, b = (None, None) if A is None else (A[0], b[0])
        z = layer(P, q, C, d, A, b)[0]
        z = z if isinstance(z, torch.Tensor) else torch.stack(list(z))
        return z.reshape(P.shape[0] if P.dim() == 3 else 1, -1)
    return run


def qpth_layer():
    from qpth.qp import QPFunction
    function = QPFunction(verbose=-1)

    def run(P, q, C, d, A, b):
        if A.shape[-2] == 0:
            A, b = torch.empty(0, dtype=P.dtype), torch.empty(0, dtype=P.dtype)
        return function(P, q, C, d, A, b)
    return run


def qplayer_layer():
    from proxsuite.torch.qplayer import QPFunction
    function = QPFunction()

    def run(P, q, C, d, A, b):
        lower = torch.full_like(d, -1e20)
        if A.shape[-2] == 0:
            A, b = torch.empty(0, dtype=P.dtype), torch.empty(0, dtype=P.dtype)
        return function(P, q, A, b, C, lower, d)[0]
    return run


def cvxpylayers_layer(n, m, p):
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer
    L, q = cp.Parameter((n, n)), cp.Parameter(n)
    C, d = cp.Parameter((m, n)), cp.Parameter(m)
    z = cp.Variable(n)
    constraints = [C @ z <= d]
    parameters = [L, q, C, d]
    if p > 0:
        A, b = cp.Parameter((p, n)), cp.Parameter(p)
        constraints.append(A @ z == b)
        parameters += [A, b]
    problem = cp.Problem(cp.Minimize(0.5 * cp.sum_squares(L.T @ z) + q @ z), constraints)
    layer = CvxpyLayer(problem, parameters=parameters, variables=[z])

    def run(P, q_, C_, d_, A_, b_):
        chol = torch.linalg.cholesky(P)  # P = L Lᵀ, part of the differentiated graph
        args = [chol, q_, C_, d_] + ([A_, b_] if p > 0 else [])
        return layer(*args)[0]
    return run


def make(impl: str, n: int, m: int, p: int):
    if impl == "dqp":
        return dqp_layer(None)
    if impl == "dqp-1thread":
        return dqp_layer(1)
    if impl == "libdqp":
        return libdqp_layer()
    if impl == "libdqp-daqp":
        return libdqp_layer("daqp")
    if impl == "qpth":
        return qpth_layer()
    if impl == "qplayer":
        return qplayer_layer()
    if impl == "cvxpylayers":
        return cvxpylayers_layer(n, m, p)
    raise SystemExit(f"unknown implementation {impl}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("impl")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=60.0, help="stop repeating after this many seconds")
    args = parser.parse_args()
    torch.set_num_threads(2)
    data = np.load(args.input)
    tensors = [torch.from_numpy(data[key]) for key in ("P", "q", "C", "d", "A", "b")]
    B, n = tensors[1].shape
    m, p = tensors[3].shape[1], tensors[5].shape[1]
    run = make(args.impl, n, m, p)

    forward, total, z_first, grad_first = [], [], None, None
    started = time.perf_counter()
    for repeat in range(args.repeats + 1):  # the first run warms up and is not timed
        leaves = [t.clone().requires_grad_(True) for t in tensors]
        t0 = time.perf_counter()
        z = run(*leaves)
        t1 = time.perf_counter()
        z.sum().backward()
        t2 = time.perf_counter()
        if repeat == 0:
            z_first, grad_first = z.detach().numpy().tolist(), leaves[1].grad.numpy().tolist()
        else:
            forward.append(t1 - t0)
            total.append(t2 - t0)
        if time.perf_counter() - started > args.budget and repeat >= 1:
            break
    with open(args.output, "w") as handle:
        json.dump({"impl": args.impl, "forward": forward, "total": total, "z": z_first, "grad_q": grad_first}, handle)


if __name__ == "__main__":
    main()
