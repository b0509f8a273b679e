"""Critical regions of a parametric QP, from one batched dqp call.

    minimize_z ½ zᵀ P z + q(θ)ᵀ z   subject to   C z ≤ d,     q(θ) = F θ,  θ ∈ ℝ²

with 3 variables and 6 inequalities. Every point of a θ grid is one problem of
a single batched call (P, C, d shared by the batch, q batched). The parameter
plane is coloured by the active set; contour lines show the derivative's size
‖∂z/∂θ‖_F (three batched backward passes, one per component of z); the points
dqp flags as degenerate (a weakly active row: Cᵢz = dᵢ with μᵢ = 0, where the
derivative jumps) are marked in black. The third variable is decoupled,
z₃ = max(0, θ₂ − θ₁) away from the other rows, so the diagonal θ₁ = θ₂ is such
a boundary and lies on the grid.

    python examples/critical_regions/critical_regions.py [--grid 161] [--out DIR]

Writes critical_regions.png and critical_regions.csv (θ, active set,
degenerate flag, ‖∂z/∂θ‖_F per grid point).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

import dqp

# The degenerate points are the subject of the picture: dqp's once-per-layer warning about them is expected.
warnings.filterwarnings("ignore", message="dqp: .* degenerate")
HERE = Path(__file__).resolve().parent
P = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.5, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
F = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]], dtype=torch.float64)
C = torch.tensor([[1.0, 1.0, 0.0],     # z₁ + z₂ ≤ 1
                  [-1.0, 0.0, 0.0],    # z₁ ≥ −1
                  [0.0, -1.0, 0.0],    # z₂ ≥ −1
                  [1.0, -1.0, 0.0],    # z₁ − z₂ ≤ 1.5
                  [0.0, 0.0, -1.0],    # z₃ ≥ 0
                  [1.0, 0.0, 1.0]],    # z₁ + z₃ ≤ 2
                 dtype=torch.float64)
d = torch.tensor([1.0, 1.0, 1.0, 1.5, 0.0, 2.0], dtype=torch.float64)
ROW_NAMES = ["z1+z2<=1", "z1>=-1", "z2>=-1", "z1-z2<=1.5", "z3>=0", "z1+z3<=2"]


def solve_grid(grid: int, extent: float):
    """θ grid (grid², 2), active masks (grid², 6), degenerate flags, statuses, ‖∂z/∂θ‖_F, seconds of the call."""
    axis = np.linspace(-extent, extent, grid)
    t1, t2 = np.meshgrid(axis, axis, indexing="xy")
    theta = torch.tensor(np.stack([t1.ravel(), t2.ravel()], axis=1), dtype=torch.float64)
    q = (theta @ F.T).requires_grad_(True)                 # (B, 3): the only batched input
    layer = dqp.QPLayer()
    start = time.perf_counter()
    z, _, _ = layer(P, q, C, d)
    jacobian_rows = []
    for k in range(3):                                      # row k of ∂z/∂q for every problem at once
        (grad_q,) = torch.autograd.grad(z[:, k].sum(), q, retain_graph=k < 2)
        jacobian_rows.append(grad_q)
    seconds = time.perf_counter() - start
    dz_dq = torch.stack(jacobian_rows, dim=1)               # (B, 3, 3)
    dz_dtheta = dz_dq @ F                                   # (B, 3, 2)
    magnitude = torch.linalg.matrix_norm(dz_dtheta).numpy()
    active = np.asarray(layer.active).reshape(len(theta), -1)
    return (theta.numpy(), active, np.array(layer.degenerate), list(layer.statuses), magnitude, seconds,
            z.detach().numpy())


def region_ids(active: np.ndarray) -> tuple[np.ndarray, list]:
    """An integer per distinct active set (ordered by first appearance) and the sets themselves."""
    keys = [tuple(np.flatnonzero(row)) for row in active]
    sets = list(dict.fromkeys(keys))
    index = {key: i for i, key in enumerate(sets)}
    return np.array([index[key] for key in keys]), sets


def plot(path: Path, theta, ids, sets, degenerate, magnitude, grid: int, extent: float) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    colours = plt.get_cmap("tab20").colors
    cmap = ListedColormap([colours[i % len(colours)] for i in range(len(sets))])
    fig, (ax, ax_norm) = plt.subplots(1, 2, figsize=(14, 6), gridspec_kw={"width_ratios": [1.45, 1]})
    box = (-extent, extent, -extent, extent)
    ax.imshow(ids.reshape(grid, grid), origin="lower", extent=box, cmap=cmap, vmin=-0.5, vmax=len(sets) - 0.5,
              interpolation="nearest")
    image = ax_norm.imshow(magnitude.reshape(grid, grid), origin="lower", extent=box, cmap="viridis",
                           interpolation="nearest")
    fig.colorbar(image, ax=ax_norm, shrink=0.8, label="‖∂z/∂θ‖_F")
    labels = ["{" + ", ".join(ROW_NAMES[i] for i in s) + "}" if s else "{} (unconstrained)" for s in sets]
    handles = [Patch(color=cmap(i), label=labels[i]) for i in range(len(sets))]
    for axis in (ax, ax_norm):
        if degenerate.any():
            axis.scatter(theta[degenerate, 0], theta[degenerate, 1], s=3, c="k" if axis is ax else "w")
        axis.set_xlabel("θ₁")
        axis.set_ylabel("θ₂")
    if degenerate.any():
        handles.append(plt.Line2D([], [], marker="o", ls="", color="k", markersize=3, label="degenerate (dqp flag)"))
    ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), title="active set")
    ax.set_title(f"{len(sets)} active sets on a {grid}×{grid} grid (one batched call)", fontsize=10)
    ax_norm.set_title("size of the derivative; dots: points dqp flags degenerate", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Critical regions of a parametric QP from one batched dqp call.")
    parser.add_argument("--grid", type=int, default=161, help="grid points per axis (161: 25 921 problems)")
    parser.add_argument("--extent", type=float, default=5.0, help="θ ranges over [-extent, extent]² (5)")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder (examples/critical_regions/output)")
    parser.add_argument("--quick", action="store_true", help="a 21×21 grid (the smoke test)")
    args = parser.parse_args(argv)
    grid = 21 if args.quick else args.grid
    if grid < 2:
        parser.error(f"--grid must be at least 2, got {grid}")
    args.out.mkdir(parents=True, exist_ok=True)

    theta, active, degenerate, statuses, magnitude, seconds, z = solve_grid(grid, args.extent)
    ids, sets = region_ids(active)
    solved = sum(s == "optimal" for s in statuses)
    with open(args.out / "critical_regions.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["theta1", "theta2", "active_set", "degenerate", "status", "dz_dtheta_frobenius",
                         "z1", "z2", "z3"])
        for i in range(len(theta)):
            writer.writerow([f"{theta[i, 0]:.6g}", f"{theta[i, 1]:.6g}", " ".join(map(str, sets[ids[i]])),
                             int(degenerate[i]), statuses[i], f"{magnitude[i]:.6g}", *(f"{v:.6g}" for v in z[i])])
    plot(args.out / "critical_regions.png", theta, ids, sets, degenerate, magnitude, grid, args.extent)
    print(f"{len(theta)} problems in one batched call: forward + 3 backward passes {seconds * 1e3:.1f} ms; "
          f"{solved}/{len(theta)} optimal; {len(sets)} active sets; {int(degenerate.sum())} points flagged degenerate")
    print(f"wrote {args.out / 'critical_regions.png'} and {args.out / 'critical_regions.csv'}")
    return {"problems": len(theta), "solved": solved, "regions": len(sets), "degenerate": int(degenerate.sum()),
            "seconds": seconds}


if __name__ == "__main__":
    result = main()
    sys.exit(0 if result["solved"] == result["problems"] else 1)
