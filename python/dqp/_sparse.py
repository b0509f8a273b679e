"""Sparse inputs: torch (COO, CSR, CSC) and scipy matrices to CSC arrays.

The core works on compressed sparse columns. A torch sparse tensor of any
layout becomes (pattern, values) where ``values`` is a differentiable tensor in
CSC order: gradients flow back through the reordering to the caller's own
values, in the caller's own pattern and order.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class CSCPattern:
    """Structure of one sparse matrix in compressed sparse column form."""

    rows: int
    cols: int
    indptr: np.ndarray  # int64, cols + 1
    indices: np.ndarray  # int64, nnz

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def as_core(self, values: np.ndarray) -> tuple:
        """The (rows, cols, indptr, indices, data) tuple the C++ core maps."""
        return (self.rows, self.cols, self.indptr, self.indices, values)

    @staticmethod
    def empty(cols: int) -> "CSCPattern":
        return CSCPattern(0, cols, np.zeros(cols + 1, dtype=np.int64), np.zeros(0, dtype=np.int64))


def _pattern_from_coordinates(rows: np.ndarray, cols: np.ndarray, shape) -> tuple[CSCPattern, np.ndarray]:
    """CSC pattern of (rows, cols) entries and the permutation into CSC order."""
    order = np.lexsort((rows, cols))
    counts = np.bincount(cols, minlength=shape[1])
    indptr = np.zeros(shape[1] + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    pattern = CSCPattern(int(shape[0]), int(shape[1]), indptr, np.ascontiguousarray(rows[order], dtype=np.int64))
    return pattern, order


def is_sparse_tensor(x) -> bool:
    return isinstance(x, torch.Tensor) and x.layout in (torch.sparse_coo, torch.sparse_csr, torch.sparse_csc)


def split_sparse_tensor(x: torch.Tensor, name: str) -> tuple[CSCPattern, torch.Tensor]:
    """(CSC pattern, differentiable CSC-ordered values) of a 2-D sparse tensor."""
    if x.dim() != 2:
        raise ValueError(f"{name} must be a 2-D sparse matrix, got a sparse tensor with shape {tuple(x.shape)}")
    if x.layout == torch.sparse_csc:
        if x.requires_grad and x.grad_fn is None:
            raise ValueError(
                f"{name} is a sparse CSC leaf tensor that requires grad, and torch cannot accumulate "
                "gradients into CSC leaves. Make the values the leaf instead (e.g. "
                "torch.sparse_csc_tensor(ccol, row, values) with values.requires_grad_()), or pass a "
                "COO or CSR tensor")
        indptr = x.ccol_indices().cpu().numpy().astype(np.int64, copy=False)
        indices = x.row_indices().cpu().numpy().astype(np.int64, copy=False)
        _check_sorted_columns(indptr, indices, name)
        return CSCPattern(int(x.shape[0]), int(x.shape[1]), indptr, indices), x.values()
    if x.layout == torch.sparse_csr:
        crow = x.crow_indices().cpu().numpy()
        cols = x.col_indices().cpu().numpy().astype(np.int64)
        rows = np.repeat(np.arange(x.shape[0], dtype=np.int64), np.diff(crow))
        values = x.values()
    else:
        x = x.coalesce()
        rows, cols = (a.astype(np.int64) for a in x.indices().cpu().numpy())
        values = x.values()
    if values.dim() != 1:
        raise ValueError(f"{name}: hybrid sparse tensors (dense value blocks) are not supported")
    pattern, order = _pattern_from_coordinates(rows, cols, x.shape)
    _check_no_duplicates(pattern, name)
    return pattern, values[torch.from_numpy(order).to(values.device)]


def _check_sorted_columns(indptr: np.ndarray, indices: np.ndarray, name: str) -> None:
    if indices.size < 2:
        return
    steps = np.diff(indices)
    column_starts = np.zeros(indices.size - 1, dtype=bool)
    starts = indptr[1:-1]
    column_starts[starts[(starts > 0) & (starts < indices.size)] - 1] = True
    if np.any((steps <= 0) & ~column_starts):
        raise ValueError(f"{name}: CSC row indices must be strictly increasing within each column "
                         "(unsorted or duplicate entries)")


def _check_no_duplicates(pattern: CSCPattern, name: str) -> None:
    _check_sorted_columns(pattern.indptr, pattern.indices, name)


def scipy_to_csc(x, name: str) -> tuple[CSCPattern, np.ndarray]:
    """CSC pattern and values of a scipy sparse matrix (duplicates summed)."""
    csc = x.tocsc(copy=True)
    csc.sum_duplicates()
    csc.sort_indices()
    pattern = CSCPattern(int(csc.shape[0]), int(csc.shape[1]),
                         csc.indptr.astype(np.int64), csc.indices.astype(np.int64))
    return pattern, np.ascontiguousarray(csc.data, dtype=np.float64)
