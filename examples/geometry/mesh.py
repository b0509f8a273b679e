"""A triangulated square, its edges, and the weighted graph Laplacian's pattern.

The grid has k × k vertices on [0, 1]² and 2 (k − 1)² triangles, counter-
clockwise, the diagonal of each square alternating so that no direction is
preferred. A map of the mesh is an (V, 2) array of vertex positions; a
triangle is flipped when its signed area under the map is not positive.
"""
from __future__ import annotations

import numpy as np
import torch


def triangulated_grid(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(vertices (k², 2), triangles (2 (k − 1)², 3)), counter-clockwise."""
    if k < 2:
        raise ValueError(f"the grid needs at least 2 vertices per side, got k = {k}")
    axis = np.linspace(0.0, 1.0, k)
    x, y = np.meshgrid(axis, axis, indexing="xy")
    vertices = np.stack([x.ravel(), y.ravel()], axis=1)
    triangles = []
    for r in range(k - 1):
        for c in range(k - 1):
            a, b, d, e = r * k + c, r * k + c + 1, (r + 1) * k + c, (r + 1) * k + c + 1
            if (r + c) % 2 == 0:
                triangles += [(a, b, e), (a, e, d)]
            else:
                triangles += [(a, b, d), (b, e, d)]
    return vertices, np.array(triangles, dtype=np.int64)


def boundary_vertices(k: int) -> np.ndarray:
    """Indices of the vertices on the square's boundary."""
    index = np.arange(k * k).reshape(k, k)
    return np.unique(np.concatenate([index[0], index[-1], index[:, 0], index[:, -1]]))


def edges(triangles: np.ndarray) -> np.ndarray:
    """Unique undirected edges (E, 2), smaller index first."""
    pairs = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    return np.unique(np.sort(pairs, axis=1), axis=0)


class LaplacianPattern:
    """The sparsity pattern of L(w) ⊗ I₂ for a vertex graph, and its values as a differentiable function of w.

    L(w)ᵢⱼ = −w_e for an edge e = (i, j), L(w)ᵢᵢ = Σ_e∋i w_e. The unknowns are ordered (x₀ … x_{V−1}, y₀ … y_{V−1}),
    so the matrix is two copies of L on the diagonal. `values(w)` returns the entries in the order of
    `indices` (COO, coalesced order), ready for torch.sparse_coo_tensor: the QP layer's gradient lands on them
    and autograd carries it to w."""

    def __init__(self, vertex_count: int, edge_list: np.ndarray):
        V, E = vertex_count, len(edge_list)
        i, j = edge_list[:, 0], edge_list[:, 1]
        rows = np.concatenate([i, j, np.arange(V)])
        cols = np.concatenate([j, i, np.arange(V)])
        # Entry k of the single-block pattern: off-diagonal (i, j), (j, i) from edge k mod E; diagonal V entries.
        rows2 = np.concatenate([rows, rows + V])
        cols2 = np.concatenate([cols, cols + V])
        order = np.lexsort((cols2, rows2))
        self.indices = torch.from_numpy(np.stack([rows2[order], cols2[order]]))
        self.order = torch.from_numpy(order)
        self.size = 2 * V
        self.edge_i, self.edge_j = torch.from_numpy(i), torch.from_numpy(j)
        self.vertex_count = V

    def values(self, w: torch.Tensor) -> torch.Tensor:
        diagonal = torch.zeros(self.vertex_count, dtype=w.dtype).index_add(0, self.edge_i, w).index_add(0, self.edge_j, w)
        block = torch.cat([-w, -w, diagonal])
        return torch.cat([block, block])[self.order]

    def matrix(self, w: torch.Tensor) -> torch.Tensor:
        return torch.sparse_coo_tensor(self.indices, self.values(w), size=(self.size, self.size), is_coalesced=True)


def signed_areas(positions: torch.Tensor, triangles: torch.Tensor) -> torch.Tensor:
    """Signed area of every triangle under the map (V, 2); negative for a flipped one."""
    a, b, c = positions[triangles[:, 0]], positions[triangles[:, 1]], positions[triangles[:, 2]]
    u, v = b - a, c - a
    return 0.5 * (u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0])
