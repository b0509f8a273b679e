"""The seed problem through every installed forward solver, one line each.

    minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d
    P = 2 I₂,  q = 0,  C = [[-1, -1], [-1, 0], [0, -1]],  d = [-1, 0, 0]

For the optimal-value loss p* = ½ z*ᵀ P z* + qᵀ z*, the envelope theorem gives
∇P = ½ z* z*ᵀ, ∇q = z*, ∇C = μ* z*ᵀ, ∇d = −μ*, with z* = (½, ½), μ* = (1, 0, 0).
Each line: solver, kind (native C++ or through qpsolvers), storage, z, μ and the
largest deviation of dqp's gradients from those closed forms (sparse-only solvers
get sparse CSC P and C: gradients on their stored entries). Exits with 1 if a
solver fails or deviates by more than --tolerance.

    python examples/all_solvers.py [--tolerance 1e-6]
"""
from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np
import torch

import dqp

Z_EXACT = np.array([0.5, 0.5])
MU_EXACT = np.array([1.0, 0.0, 0.0])
warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|CSC tensor support|invariant checks)")


def seed_problem(sparse: bool):
    """Leaves (P, q, C, d) and the (P, C) handed to the layer: the leaves themselves when dense; when `sparse`,
    CSC matrices built from the dense leaves' stored entries (torch accumulates no gradient into a sparse leaf)."""
    P = (2.0 * torch.eye(2, dtype=torch.float64)).requires_grad_(True)
    C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    if not sparse:
        return (P, q, C, d), (P, C)
    as_csc = lambda M: torch.sparse_coo_tensor(M.detach().nonzero().T, M[M.detach() != 0], size=M.shape).to_sparse_csc()  # noqa: E731
    return (P, q, C, d), (as_csc(P), as_csc(C))


def run_one(solver: str, sparse: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """z, μ and the largest deviation of the four gradients from the closed forms."""
    (P, q, C, d), (P_layer, C_layer) = seed_problem(sparse)
    layer = dqp.QPLayer(qp_solver=solver, solve_type="sparse" if sparse else "dense")
    z, _, mu = layer(P_layer, q, C_layer, d)
    stored = (P.detach() != 0).double() if sparse else torch.ones_like(P)  # the loss sees P's stored entries only
    loss = 0.5 * z @ (P * stored) @ z + q @ z
    loss.backward()
    exact = {"P": 0.5 * np.outer(Z_EXACT, Z_EXACT), "q": Z_EXACT, "C": np.outer(MU_EXACT, Z_EXACT), "d": -MU_EXACT}
    got = {"P": P.grad.numpy(), "q": q.grad.numpy(), "C": C.grad.numpy(), "d": d.grad.numpy()}
    if sparse:  # only stored entries carry a gradient
        exact["P"] = exact["P"] * (P.detach().numpy() != 0)
        exact["C"] = exact["C"] * (C.detach().numpy() != 0)
    error = max(float(np.max(np.abs(got[k] - exact[k]))) for k in exact)
    return z.detach().numpy(), mu.detach().numpy(), error


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance", type=float, default=1e-6, help="largest accepted gradient error (1e-6)")
    args = parser.parse_args(argv)

    solvers = dqp.available_solvers()
    print(f"{'solver':<16} {'kind':<10} {'storage':<7} {'z':<24} {'μ':<30} gradient error")
    worst, failed = 0.0, []
    for name, info in sorted(solvers.items(), key=lambda item: (item[1]["kind"] != "native", item[0])):
        sparse = not info["dense"]
        try:
            z, mu, error = run_one(name, sparse)
        except Exception as error:  # a solver that cannot answer is reported, not fatal
            failed.append(name)
            print(f"{name:<16} {info['kind']:<10} {'sparse' if sparse else 'dense':<7} failed: "
                  f"{type(error).__name__}: {str(error).splitlines()[0][:80]}")
            continue
        worst = max(worst, error)
        print(f"{name:<16} {info['kind']:<10} {'sparse' if sparse else 'dense':<7} "
              f"{np.array2string(z, precision=6):<24} {np.array2string(mu, precision=6):<30} {error:.1e}")
    answered = len(solvers) - len(failed)
    verdict = "OK" if worst <= args.tolerance and not failed else "MISMATCH"
    print(f"{verdict}: {answered} of {len(solvers)} solvers answered; largest gradient error {worst:.1e} "
          f"(tolerance {args.tolerance:.0e})" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
