"""The seed README's example, run with dqp.

    minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d

    P = 2 I₂,  q = 0,  C = [[-1, -1], [-1, 0], [0, -1]],  d = [-1, 0, 0]
    z* = (½, ½),  μ* = (1, 0, 0): the first constraint is active.

Forward with OSQP (through qpsolvers), derivative with LDLᵀ ("qdldl"), as in
the seed; then the same with dqp's native ProxQP. For the optimal-value loss
p*(θ) = ½ z*ᵀ P z* + qᵀ z*, the envelope theorem gives the gradients in
closed form: ∇P = ½ z* z*ᵀ, ∇q = z*, ∇C = μ* z*ᵀ, ∇d = -μ*. The script prints
dqp's values beside them and exits with status 1 if any differs by more
than 1e-6.
"""
import sys
import warnings

import numpy as np
import torch

from dqp import dQP

TOLERANCE = 1e-6
# torch's notices about its sparse support are not about this example.
warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")


def run(qp_solver: str) -> float:
    rows_P, cols_P = torch.LongTensor([0, 1]), torch.LongTensor([0, 1])
    vals_P = torch.tensor([2.0, 2.0], dtype=torch.float64, requires_grad=True)
    P = torch.sparse_coo_tensor(torch.stack([rows_P, cols_P]), vals_P, size=(2, 2), dtype=torch.float64)
    q = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)
    rows_C, cols_C = torch.LongTensor([0, 0, 1, 2]), torch.LongTensor([0, 1, 0, 1])
    vals_C = torch.tensor([-1.0, -1.0, -1.0, -1.0], dtype=torch.float64, requires_grad=True)
    C = torch.sparse_coo_tensor(torch.stack([rows_C, cols_C]), vals_C, size=(3, 2), dtype=torch.float64)
    d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)

    settings = dQP.build_settings(solve_type="sparse", qp_solver=qp_solver, lin_solver="qdldl", empty_batch=False)
    layer = dQP.dQP_layer(settings=settings)
    z_star, lambda_star, mu_star, _, _ = layer(P.to_sparse_csc(), q, C.to_sparse_csc(), d)

    z_exact = np.array([0.5, 0.5])
    mu_exact = np.array([1.0, 0.0, 0.0])
    L = 0.5 * z_star @ torch.sparse.mm(P, z_star.unsqueeze(1)).squeeze(1) + q @ z_star
    L.backward()

    rows = [
        ("z*", z_star.detach().numpy(), z_exact),
        ("μ*", mu_star.detach().numpy(), mu_exact),
        ("∇_P L", vals_P.grad.numpy(), (0.5 * np.outer(z_exact, z_exact))[rows_P, cols_P]),
        ("∇_q L", q.grad.numpy(), z_exact),
        ("∇_C L", vals_C.grad.numpy(), np.outer(mu_exact, z_exact)[rows_C, cols_C]),
        ("∇_d L", d.grad.numpy(), -mu_exact),
    ]
    print("-" * 80)
    print(f"qp_solver={qp_solver!r}  lin_solver='qdldl'  active set J: {np.flatnonzero(layer.active).tolist()}")
    worst = 0.0
    for name, value, exact in rows:
        error = float(np.max(np.abs(value - exact)))
        worst = max(worst, error)
        print(f"  {name:<6} dqp: {np.array2string(value, precision=8):<40} exact: {exact}   |error| {error:.1e}")
    return worst


def main() -> int:
    worst = max(run("osqp"), run("proxqp"))
    print("-" * 80)
    verdict = "OK" if worst <= TOLERANCE else "MISMATCH"
    print(f"{verdict}: largest deviation from the closed forms {worst:.1e} (tolerance {TOLERANCE:.0e})")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
