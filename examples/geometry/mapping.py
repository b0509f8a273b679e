"""The bilevel mesh-mapping problem: learned Laplacian edge weights → harmonic map (a sparse QP) → flips.

Inner problem, for edge weights w > 0 (w = exp θ):

    minimize_z  ½ zᵀ (L(w) ⊗ I₂) z   subject to   z_b = target boundary positions   (A z = b, linear)

z stacks the x and then the y coordinates of every vertex; its solution is the
discrete harmonic map of the square onto the region bounded by the target
boundary. The target is a non-convex "flower" (the square's boundary pushed
radially onto r(φ) = R (1 + a cos(k φ))), so Tutte's guarantee (uniform
positive weights and a convex boundary give no flipped triangle) does not
hold and the uniform weights flip triangles near the concave parts.

Outer loss: Σ_t relu(δ ā − a_t(z))² / ā² over the triangles' signed areas a_t
under the map, ā the mean target area: zero when every triangle keeps at
least δ ā of area with the right orientation. Its gradient reaches θ through
the QP's sparse P: dqp returns ∂L/∂P on P's own entries, in its own order.
"""
from __future__ import annotations

import numpy as np
import torch

from mesh import LaplacianPattern, boundary_vertices, edges, signed_areas, triangulated_grid


def flower(points: np.ndarray, petals: int = 5, depth: float = 0.45, radius: float = 0.5) -> np.ndarray:
    """Push the points (on the square's boundary) radially from the centre onto the flower's outline."""
    centred = points - 0.5
    angle = np.arctan2(centred[:, 1], centred[:, 0])
    r = radius * (1.0 + depth * np.cos(petals * angle)) / (1.0 + depth)
    return 0.5 + np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)


class MeshMapping:
    """One mesh of k × k vertices and its QP data; `solve(layer, theta)` maps it, `loss` scores the map."""

    def __init__(self, k: int, margin: float = 0.2, petals: int = 5, depth: float = 0.45):
        vertices, triangles = triangulated_grid(k)
        self.k, self.margin = k, margin
        self.vertices = vertices
        self.triangles = torch.from_numpy(triangles)
        self.edge_list = edges(triangles)
        self.pattern = LaplacianPattern(len(vertices), self.edge_list)
        V = len(vertices)
        boundary = boundary_vertices(k)
        target = flower(vertices[boundary], petals, depth)
        rows = np.arange(2 * len(boundary))
        cols = np.concatenate([boundary, boundary + V])
        self.A = torch.sparse_coo_tensor(torch.from_numpy(np.stack([rows, cols])),
                                         torch.ones(len(rows), dtype=torch.float64), size=(len(rows), 2 * V)).coalesce()
        self.b = torch.from_numpy(np.concatenate([target[:, 0], target[:, 1]]))
        self.q = torch.zeros(2 * V, dtype=torch.float64)
        outline = np.concatenate([target, target[:1]])
        self.mean_area = float(polygon_area(outline)) / len(triangles)

    @property
    def edge_count(self) -> int:
        return len(self.edge_list)

    def qp(self, theta: torch.Tensor):
        """(P, q, A, b) of the inner problem for edge weights exp(θ); P is sparse COO carrying θ's graph."""
        return self.pattern.matrix(theta.exp()), self.q, self.A, self.b

    def positions(self, z: torch.Tensor) -> torch.Tensor:
        V = len(self.vertices)
        return torch.stack([z[:V], z[V:]], dim=1)

    def loss(self, z: torch.Tensor) -> tuple[torch.Tensor, int]:
        """(flip penalty, number of flipped triangles) of the map z."""
        areas = signed_areas(self.positions(z), self.triangles)
        penalty = (torch.relu(self.margin * self.mean_area - areas) / self.mean_area).pow(2).sum()
        return penalty, int((areas <= 0).sum())


def polygon_area(outline: np.ndarray) -> float:
    x, y = outline[:, 0], outline[:, 1]
    return 0.5 * abs(float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1])))


def seed_layer():
    """The seed API's layer of whichever package imports as `dqp` (dqp here, libdqp in its own venv), with its
    sparse defaults, and a call (P, q, A, b) → z. The original package needs an inequality: it gets the no-op
    row 0ᵀz ≤ 1."""
    import dqp
    from dqp import dQP

    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="sparse", empty_batch=False))
    native = hasattr(dqp, "QPLayer")

    def call(P, q, A, b):
        if native:
            return layer(P.to_sparse_csc(), q, None, None, A.to_sparse_csc(), b)[0]
        n = q.shape[0]
        C = torch.sparse_csc_tensor(torch.zeros(n + 1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
                                    torch.zeros(0, dtype=torch.float64), size=(1, n))
        d = torch.ones(1, dtype=torch.float64)
        return layer(P.to_sparse_csc(), q, C, d, A.to_sparse_csc(), b)[0]
    return call


def optimise(mapping: MeshMapping, solve, iterations: int, lr: float, on_iteration=None):
    """Adam on θ (log edge weights, from uniform weights); returns θ and one record per iteration
    (iteration, loss, flipped, seconds of forward + backward + step), the last one after the final step."""
    import time

    theta = torch.zeros(mapping.edge_count, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adam([theta], lr=lr)
    records = []
    for iteration in range(iterations + 1):
        start = time.perf_counter()
        z = solve(*mapping.qp(theta))
        loss, flipped = mapping.loss(z)
        if iteration < iterations:
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        records.append({"iteration": iteration, "loss": loss.item(), "flipped": flipped,
                        "seconds": time.perf_counter() - start})
        if on_iteration is not None:
            on_iteration(records[-1])
    return theta.detach(), records
