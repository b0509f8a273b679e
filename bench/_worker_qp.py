"""Times one implementation on one saved QP whose matrices are shared by a batch;
run in the implementation's own environment by structured.py and mm_peers.py
(the original package imports as `dqp` too, so each peer has its own venv).

    python _worker_qp.py IMPL INPUT.npz OUTPUT.json [--storage dense|sparse]
                         [--repeats R] [--budget S] [--slow S] [--timeout S]
                         [--lin-solver NAME]

INPUT.npz (written by common.save_qp) holds P, C, A as CSC arrays and q, d, b
and the loss weights w with a leading batch axis B. For B = 1 every
implementation gets 1-D vectors, for B > 1 the (B, ·) vectors and the shared
matrices in whatever form it takes (libdqp needs them repeated: that copy is
made before the clock starts). The matrices are constants; q, d, b are the
leaves that get gradients; the loss is Σ w ∘ z.

--storage: `dense` gives strided tensors, `sparse` torch sparse CSC tensors
(dqp, libdqp). qpth and QPLayer take dense only; cvxpylayers keeps the
matrices as scipy constants of the cvxpy problem (its own sparse pipeline).
--lin-solver sets dqp's reduced-KKT linear solver (default: its default).

Timing: one untimed warm-up call, then up to R timed calls (forward, then
backward) while their total (with one more call of the last one's length)
stays under --budget. A warm-up longer than
--slow seconds is itself the one timed sample (compilation and cache effects
are small beside it); one longer than --timeout is reported as a timeout with
its time. OUTPUT.json gets every forward and forward+backward time, z and
∂L/∂q of the first call, and what the implementation says about the solve.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.sparse as sp
import torch


def load(path: str) -> dict:
    data = np.load(path)
    out = {key: data[key] for key in ("q", "d", "b", "w")}
    for key in ("P", "C", "A"):
        shape = tuple(int(s) for s in data[f"{key}_shape"])
        out[key] = sp.csc_matrix((data[f"{key}_data"], data[f"{key}_indices"], data[f"{key}_indptr"]), shape=shape)
    return out


def to_torch(matrix: sp.csc_matrix, storage: str) -> torch.Tensor:
    if storage == "dense":
        return torch.from_numpy(matrix.toarray())
    return torch.sparse_csc_tensor(torch.from_numpy(matrix.indptr.astype(np.int64)),
                                   torch.from_numpy(matrix.indices.astype(np.int64)),
                                   torch.from_numpy(matrix.data.astype(np.float64)), size=matrix.shape,
                                   dtype=torch.float64)


def dqp_impl(qp: dict, storage: str, lin_solver: str):
    import dqp
    layer = dqp.QPLayer(lin_solver=lin_solver)
    P = to_torch(qp["P"], storage)
    C = to_torch(qp["C"], storage) if qp["C"].shape[0] else None
    A = to_torch(qp["A"], storage) if qp["A"].shape[0] else None

    def run(q, d, b):
        return layer(P, q, C, d if C is not None else None, A, b if A is not None else None)[0]

    def info():
        import datetime
        import os
        solutions = layer.last_solutions
        built = datetime.datetime.fromtimestamp(os.path.getmtime(dqp._core.__file__)).strftime("%Y-%m-%d %H:%M")
        return {"statuses": sorted({str(s.status) for s in solutions}),
                "solvers": sorted({str(getattr(s, "solver", "?")) for s in solutions}),
                "linear_solvers": sorted({str(getattr(s, "linear_solver", "?")) for s in solutions}),
                "degenerate": int(sum(bool(s.degenerate) for s in solutions)),
                "active": [int(len(s.active)) for s in solutions][:1], "build": built}
    return run, info


def libdqp_impl(qp: dict, storage: str, B: int):
    from dqp import dQP  # the original package, in its own venv
    # Its defaults for the storage (dense: cvxopt + scipy LU; sparse: osqp + scipy SPLU).
    settings = dQP.build_settings(solve_type=storage, empty_batch=False)
    layer = dQP.dQP_layer(settings=settings)
    C_matrix, zero_row = qp["C"], qp["C"].shape[0] == 0
    if zero_row:  # it requires inequalities: 0ᵀz ≤ 1 changes nothing
        C_matrix = sp.csc_matrix((1, qp["P"].shape[0]))
    P, C = to_torch(qp["P"], storage), to_torch(C_matrix, storage)
    A = to_torch(qp["A"], storage) if qp["A"].shape[0] else None
    if B > 1:  # it needs every parameter batched
        if storage == "dense":
            P, C = (M.expand(B, *M.shape).contiguous() for M in (P, C))
            A = A.expand(B, *A.shape).contiguous() if A is not None else None
        else:
            P, C = [P] * B, [C] * B
            A = [A] * B if A is not None else None

    def run(q, d, b):
        if zero_row:
            d = torch.ones(q.shape[:-1] + (1,), dtype=q.dtype)
        z = layer(P, q, C, d, A, b if A is not None else None)[0]
        return z if isinstance(z, torch.Tensor) else torch.stack(list(z))
    return run, None


def qpth_impl(qp: dict):
    from qpth.qp import QPFunction
    function = QPFunction(verbose=-1)
    P, C = to_torch(qp["P"], "dense"), to_torch(qp["C"], "dense")
    A = to_torch(qp["A"], "dense")
    empty = torch.empty(0, dtype=torch.float64)

    def run(q, d, b):
        if A.shape[0] == 0:
            return function(P, q, C, d, empty, empty)
        return function(P, q, C, d, A, b)
    return run, None


def qplayer_impl(qp: dict):
    from proxsuite.torch.qplayer import QPFunction
    function = QPFunction()
    P, C, A = (to_torch(qp[key], "dense") for key in ("P", "C", "A"))
    empty = torch.empty(0, dtype=torch.float64)

    def run(q, d, b):
        lower = torch.full_like(d, -1e20)  # C z ≤ d as -∞ ≤ C z ≤ d
        if A.shape[0] == 0:
            return function(P, q, empty, empty, C, lower, d)[0]
        return function(P, q, A, b, C, lower, d)[0]
    return run, None


def cvxpylayers_impl(qp: dict):
    import cvxpy as cp
    from cvxpylayers.torch import CvxpyLayer
    n, m, p = qp["P"].shape[0], qp["C"].shape[0], qp["A"].shape[0]
    z = cp.Variable(n)
    q = cp.Parameter(n)
    parameters, constraints = [q], []
    if m:
        d = cp.Parameter(m)
        parameters.append(d)
        constraints.append(qp["C"] @ z <= d)
    if p:
        b = cp.Parameter(p)
        parameters.append(b)
        constraints.append(qp["A"] @ z == b)
    objective = 0.5 * cp.quad_form(z, qp["P"], assume_PSD=True) + q @ z
    layer = CvxpyLayer(cp.Problem(cp.Minimize(objective), constraints), parameters=parameters, variables=[z])

    def run(q_, d_, b_):
        return layer(*([q_] + ([d_] if m else []) + ([b_] if p else [])))[0]
    return run, None


def make(impl: str, qp: dict, storage: str, B: int, lin_solver: str):
    if impl in ("dqp", "dqp-1thread"):
        return dqp_impl(qp, storage, lin_solver)
    if impl == "libdqp":
        return libdqp_impl(qp, storage, B)
    if impl == "qpth":
        return qpth_impl(qp)
    if impl == "qplayer":
        return qplayer_impl(qp)
    if impl == "cvxpylayers":
        return cvxpylayers_impl(qp)
    raise SystemExit(f"unknown implementation {impl}")


def time_calls(run, qp: dict, repeats: int, budget: float, slow: float, timeout: float) -> dict:
    """Forward and forward + backward times of `run` on the saved vectors (see the module docstring for the
    rules), with z, ∂L/∂q and the warm-up times of the first call."""
    B = qp["q"].shape[0]
    vectors = [torch.from_numpy(qp[key][0] if B == 1 else qp[key]) for key in ("q", "d", "b")]
    weights = torch.from_numpy(qp["w"]).reshape(B, -1)

    forward, total, first = [], [], None
    started = None
    for call in range(repeats + 1):  # call 0 warms up
        leaves = [v.clone().requires_grad_(True) for v in vectors]
        t0 = time.perf_counter()
        z = run(*leaves)
        t1 = time.perf_counter()
        (z.reshape(B, -1) * weights).sum().backward()
        t2 = time.perf_counter()
        if call == 0:
            first = {"z": z.detach().reshape(B, -1).numpy().tolist(),
                     "grad_q": leaves[0].grad.reshape(B, -1).numpy().tolist(),
                     "warmup": [t1 - t0, t2 - t0]}
            if t2 - t0 > timeout:
                first["error"] = f"timeout: one call took {t2 - t0:.0f} s > {timeout:g} s"
            if t2 - t0 >= slow:
                forward.append(t1 - t0)
                total.append(t2 - t0)
                break
            started = time.perf_counter()
            continue
        forward.append(t1 - t0)
        total.append(t2 - t0)
        if time.perf_counter() - started + (t2 - t0) > budget:  # the next call would overrun the budget
            break
    return {"forward": forward, "total": total, **first}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("impl")
    parser.add_argument("input")
    parser.add_argument("output")
    parser.add_argument("--storage", choices=["dense", "sparse"], default="sparse")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=float, default=30.0, help="stop repeating after this many seconds")
    parser.add_argument("--slow", type=float, default=5.0, help="a warm-up this long is the one timed sample")
    parser.add_argument("--timeout", type=float, default=float("inf"), help="a call this long is a timeout")
    parser.add_argument("--lin-solver", default="auto", help="dqp only: its lin_solver setting (default auto)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    qp = load(args.input)
    B = qp["q"].shape[0]
    run, info = make(args.impl, qp, args.storage, B, args.lin_solver)
    result = {"impl": args.impl, "storage": args.storage, **time_calls(run, qp, args.repeats, args.budget, args.slow,
                                                                            args.timeout)}
    if info is not None:
        result["info"] = info()
    with open(args.output, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
