"""OptNet's equality-constrained Sudoku model, solved by dqp or by qpth.

    minimize_z  ½ ε ‖z‖² − puzzleᵀ z   subject to   A z = A exp(log z₀),   z ≥ 0

z ∈ ℝ^{N³} is a relaxed one-hot board. The constraint matrix A (m × N³) and
log z₀ are learned; b = A exp(log z₀) keeps the QP feasible (z₀ > 0 satisfies
it) whatever A becomes. A is a dense parameter, or the values of a sparse
matrix with a fixed random pattern (`storage="sparse"`, handed to dqp as a
torch sparse tensor, so its gradient arrives on those values).
"""
from __future__ import annotations

import torch

import dqp


class SudokuQP(torch.nn.Module):
    """Puzzles (B, N, N, N) one-hot → relaxed boards (B, N, N, N) through one QP per puzzle."""

    def __init__(self, n: int, n_equalities: int, eps: float = 0.1, storage: str = "dense", backend: str = "dqp",
                 density: float = 0.5, seed: int = 0):
        super().__init__()
        if storage not in ("dense", "sparse"):
            raise ValueError(f"storage must be 'dense' or 'sparse', got {storage!r}")
        if backend not in ("dqp", "qpth"):
            raise ValueError(f"backend must be 'dqp' or 'qpth', got {backend!r}")
        if storage == "sparse" and backend == "qpth":
            raise ValueError("qpth takes dense matrices only: use storage='dense' with backend='qpth'")
        self.n, self.storage, self.backend, self.n_equalities = n, storage, backend, n_equalities
        size = (n * n) ** 3
        self.size = size
        generator = torch.Generator().manual_seed(seed)
        if storage == "dense":
            self.A = torch.nn.Parameter(torch.rand(n_equalities, size, generator=generator, dtype=torch.float64))
        else:
            mask = torch.rand(n_equalities, size, generator=generator) < density
            rows, cols = mask.nonzero(as_tuple=True)
            self.register_buffer("rows", rows)
            self.register_buffer("cols", cols)
            self.A_values = torch.nn.Parameter(torch.rand(rows.numel(), generator=generator, dtype=torch.float64))
        self.log_z0 = torch.nn.Parameter(torch.zeros(size, dtype=torch.float64))
        self.register_buffer("P", eps * torch.eye(size, dtype=torch.float64))
        self.register_buffer("C", -torch.eye(size, dtype=torch.float64))
        self.register_buffer("d", torch.zeros(size, dtype=torch.float64))
        if backend == "dqp":
            self.layer = dqp.QPLayer()
        else:
            from qpth.qp import QPFunction

            self.qpth_function = QPFunction

    def constraint(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, b) with b = A exp(log z₀); A dense, or sparse COO carrying the learned values."""
        z0 = self.log_z0.exp()
        if self.storage == "dense":
            return self.A, self.A @ z0
        b = torch.zeros(self.n_equalities, dtype=z0.dtype).index_add(0, self.rows, self.A_values * z0[self.cols])
        A = torch.sparse_coo_tensor(torch.stack([self.rows, self.cols]), self.A_values,
                                    size=(self.n_equalities, self.size))
        return A, b

    def forward(self, puzzles: torch.Tensor) -> torch.Tensor:
        batch = puzzles.shape[0]
        q = -puzzles.reshape(batch, self.size).to(torch.float64)
        A, b = self.constraint()
        if self.backend == "dqp":
            P, C = self.P, self.C
            if self.storage == "sparse":
                P, C = P.to_sparse(), C.to_sparse()
            z, _, _ = self.layer(P, q, C, self.d, A, b)
        else:
            z = self.qpth_function(verbose=-1)(self.P, q, self.C, self.d, A, b)
        return z.reshape(puzzles.shape)


def board_accuracy(boards: torch.Tensor, solutions: torch.Tensor) -> float:
    """Fraction of boards whose every cell's largest entry is the solution's digit."""
    right = boards.argmax(dim=-1) == solutions.argmax(dim=-1)
    return right.flatten(1).all(dim=1).double().mean().item()


def blank_cell_accuracy(boards: torch.Tensor, solutions: torch.Tensor, puzzles: torch.Tensor) -> float:
    """Fraction of the puzzles' empty cells given the solution's digit (chance: 1 / N)."""
    blank = puzzles.sum(dim=-1) == 0
    right = boards.argmax(dim=-1) == solutions.argmax(dim=-1)
    return (right & blank).sum().item() / max(int(blank.sum()), 1)
