"""Forward mode and higher derivatives, composed from one primitive.

The primitive is ``S(R) = K⁻¹ R``: a solve with the reduced KKT matrix the
forward pass factored (``KKTSolve``), in full coordinates (z, λ, every μ;
rows of inactive inequalities are ignored on the way in and exactly zero on
the way out). K is symmetric, so the VJP of S in R is S again, and its
dependence on K is

    K̄ = −R̄ Yᵀ  (R̄ = S(Ȳ)),    Ẏ = S(Ṙ − K̇ Y),

restricted to K's blocks P, A and the active rows of C. With x = (z, λ, μ)
solving K x = (−q, b, d_J), the layer's derivatives are torch operations
around S:

    JVP:  ẋ = S(−q̇ − Ṗz − Ȧᵀλ − Ċᵀμ,  ḃ − Ȧz,  ḋ − Ċz)
    VJP:  w = −S(z̄, λ̄, μ̄);  ∇q = w_z,  ∇P = ½(w_z zᵀ + z w_zᵀ),
          ∇A = w_λ zᵀ + λ w_zᵀ,  ∇b = −w_λ,  ∇C = w_μ zᵀ + μ w_zᵀ,  ∇d = −w_μ

Autograd (and torch.func) differentiates these again, so Hessians, HVPs and
gradient penalties are exact on the forward pass's active set, without a new
factorization. Which factorization a row of R uses is data: an int64 tensor
``ids`` indexing the forward call's solutions, so vmap carries it along like
any other input.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch

# A KKT solve through the core's backward reads only the vector gradients
# (q, d, b hold -K⁻¹r); the matrix ones are not computed.
_VECTORS_ONLY = (False, True, False, True, False, True)


class Factorizations:
    """The solutions of one forward call (each keeps its reduced KKT
    factorization) and the float64 data they solved, as the engine's batch
    calls take them: dense arrays with a leading batch axis when per problem,
    sparse matrices as lists of (pattern, values)."""

    def __init__(self, engine, sparse: bool, data: tuple, solutions: list, n: int, p: int, m: int, threads: int,
                 patterns: Optional[dict] = None):
        self.engine, self.sparse, self.data, self.solutions = engine, sparse, data, solutions
        self.n, self.p, self.m, self.threads = n, p, m, threads
        # Sparse matrices shared by the batch: (row, column) of each stored value.
        self.entries = {}
        for name, pattern in (patterns or {}).items():
            if isinstance(pattern, list):                    # a batch of one, given as a list
                (pattern,) = pattern
            cols = np.repeat(np.arange(pattern.cols, dtype=np.int64), np.diff(pattern.indptr))
            self.entries[name] = (torch.from_numpy(pattern.indices), torch.from_numpy(cols), pattern.rows,
                                  pattern.cols)

    def times(self, name: str, M: torch.Tensor, x: torch.Tensor, transpose: bool = False) -> torch.Tensor:
        """M x (or Mᵀ x) for x of shape (B, ·, k); M dense, or the values of sparse matrix `name`."""
        if name not in self.entries:
            return (M.transpose(-1, -2) if transpose else M) @ x
        rows, cols, n_rows, n_cols = self.entries[name]
        into, take, size = (cols, rows, n_cols) if transpose else (rows, cols, n_rows)
        terms = M.unsqueeze(-1) * x[:, take, :]
        return x.new_zeros(x.shape[0], size, x.shape[2]).index_add(1, into, terms)

    def outer(self, name: str, u: torch.Tensor, v: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The gradient Σ_k u_k v_kᵀ of a loss ⟨u vᵀ, M⟩ in M's own form (values for sparse), batch summed
        onto a shared M; u (B, rows, k), v (B, cols, k)."""
        if name not in self.entries:
            return _reduce(u @ v.transpose(1, 2), like)
        rows, cols, _, _ = self.entries[name]
        return _reduce((u[:, rows, :] * v[:, cols, :]).sum(-1), like)

    def __repr__(self) -> str:
        return f"Factorizations({len(self.solutions)} problems, n={self.n}, p={self.p}, m={self.m})"

    def _select(self, ids: np.ndarray) -> tuple:
        if ids.shape[0] == len(self.solutions) and np.array_equal(ids, np.arange(ids.shape[0])):
            return self.data, self.solutions
        data = []
        for position, value in enumerate(self.data):
            if isinstance(value, list):                      # sparse matrix: (pattern, values) per problem
                data.append(value if len(value) == 1 else [value[i] for i in ids])
            else:
                batched = value.ndim == (2 if position % 2 else 3)
                data.append(np.ascontiguousarray(value[ids]) if batched else value)
        return tuple(data), [self.solutions[i] for i in ids]

    def solve(self, ids: torch.Tensor, R: torch.Tensor) -> torch.Tensor:
        """K⁻¹ R for R of shape (B, n + p + m, r), row block b with solution ids[b].

        The solve is the core's batched backward: it solves K w = (z̄, λ̄, μ̄_J)
        with the forward's factorization (and its fallbacks) and returns
        ∇q = −w_z, ∇b = w_λ and ∇d = w_μ (zero on inactive rows), so S is
        exactly the first-order backward's solve. Column c of problem b is
        problem b·r + c of one batched call; every vector is passed per
        problem so its gradient comes back per problem, not summed.
        """
        B, N, r = R.shape
        out = torch.zeros(B, N, r, dtype=R.dtype)
        ids = ids.detach().cpu().numpy().astype(np.int64, copy=False)
        valid = np.flatnonzero(ids >= 0)           # -1: a failed element, zero derivative
        if valid.size == 0:
            return out
        if valid.size < B:
            out[torch.from_numpy(valid)] = self.solve(torch.from_numpy(ids[valid]), R[torch.from_numpy(valid)])
            return out
        data, solutions = self._select(ids)
        n, p = self.n, self.p
        count = B * r
        if r > 1:
            solutions = [s for s in solutions for _ in range(r)]
        expanded = []
        for position, value in enumerate(data):
            vector = position % 2 == 1
            if isinstance(value, list):
                expanded.append(value if len(value) == 1 else [v for v in value for _ in range(r)])
            elif vector:
                rows = np.repeat(value, r, axis=0) if value.ndim == 2 else np.broadcast_to(value, (count,) + value.shape)
                expanded.append(np.ascontiguousarray(rows))
            elif value.ndim == 3 and r > 1:
                expanded.append(np.ascontiguousarray(np.repeat(value, r, axis=0)))
            else:
                expanded.append(value)
        rhs = np.ascontiguousarray(R.detach().cpu().permute(0, 2, 1).reshape(count, N).numpy(), dtype=np.float64)
        grads = self.engine.backward_batch(self.sparse, tuple(expanded), solutions, np.ascontiguousarray(rhs[:, :n]),
                                           np.ascontiguousarray(rhs[:, n:n + p]),
                                           np.ascontiguousarray(rhs[:, n + p:]), self.threads, _VECTORS_ONLY)
        Y = np.concatenate([-np.asarray(grads[1]).reshape(count, n), np.asarray(grads[5]).reshape(count, p),
                            np.asarray(grads[3]).reshape(count, N - n - p)], axis=1)
        return torch.from_numpy(Y).reshape(B, r, N).permute(0, 2, 1).to(dtype=R.dtype)


def _expand_batch(t: torch.Tensor, size: int, base_ndim: int) -> torch.Tensor:
    """t with a leading batch axis of `size` (a view when t is shared)."""
    if t.dim() == base_ndim + 1:
        return t
    return t.unsqueeze(0).expand(size, *t.shape)


class KKTSolve(torch.autograd.Function):
    """Y = KKTSolve.apply(factors, ids, R, P, C, A): K⁻¹ R per problem.

    R, Y: (B, n + p + m, r). ``ids`` (B,): the solution whose factorization row
    block b uses. P, C, A are the layer's dense inputs ((rows, n) shared or
    (B, rows, n)); they are not read by the solve, they carry K's derivative.
    """

    @staticmethod
    def forward(factors: Factorizations, ids, R, P, C, A):
        return factors.solve(ids, R)

    @staticmethod
    def setup_context(ctx, inputs, output):
        factors, ids, _, P, C, A = inputs
        ctx.factors = factors
        ctx.save_for_backward(ids, P, C, A, output)
        ctx.save_for_forward(ids, P, C, A, output)

    @staticmethod
    def backward(ctx, Ybar):
        ids, P, C, A, Y = ctx.saved_tensors
        factors = ctx.factors
        Rbar = KKTSolve.apply(factors, ids, Ybar, P, C, A)
        grads = [None, None, Rbar, None, None, None]
        if any(ctx.needs_input_grad[3:]):
            n, p = factors.n, factors.p
            Rz, Rl, Rm = Rbar[:, :n], Rbar[:, n:n + p], Rbar[:, n + p:]
            Yz, Yl, Ym = Y[:, :n], Y[:, n:n + p], Y[:, n + p:]
            if ctx.needs_input_grad[3]:
                grads[3] = -0.5 * (factors.outer("P", Rz, Yz, P) + factors.outer("P", Yz, Rz, P))
            if ctx.needs_input_grad[4]:
                grads[4] = -(factors.outer("C", Rm, Yz, C) + factors.outer("C", Ym, Rz, C))
            if ctx.needs_input_grad[5]:
                grads[5] = -(factors.outer("A", Rl, Yz, A) + factors.outer("A", Yl, Rz, A))
        return tuple(grads)

    @staticmethod
    def jvp(ctx, _factors, _ids, dR, dP, dC, dA):
        ids, P, C, A, Y = ctx.saved_tensors
        factors = ctx.factors
        n, p = factors.n, factors.p
        rhs = dR if dR is not None else torch.zeros_like(Y)
        Yz, Yl, Ym = Y[:, :n], Y[:, n:n + p], Y[:, n + p:]
        top, middle, bottom = [], [], []
        if dP is not None:
            top.append(factors.times("P", dP, Yz))
        if dA is not None:
            top.append(factors.times("A", dA, Yl, transpose=True))
            middle.append(factors.times("A", dA, Yz))
        if dC is not None:
            top.append(factors.times("C", dC, Ym, transpose=True))
            bottom.append(factors.times("C", dC, Yz))
        if top:
            shape = Y.shape
            KdY = torch.cat([_sum(top, (shape[0], n, shape[2]), Y), _sum(middle, (shape[0], p, shape[2]), Y),
                             _sum(bottom, (shape[0], shape[1] - n - p, shape[2]), Y)], dim=1)
            rhs = rhs - KdY
        return KKTSolve.apply(factors, ids, rhs, P, C, A)

    @staticmethod
    def vmap(info, in_dims, factors, ids, R, P, C, A):
        V = info.batch_size
        ids_dim, R_dim, P_dim, C_dim, A_dim = in_dims[1:]
        R = R.movedim(R_dim, 0) if R_dim is not None else R.unsqueeze(0).expand(V, *R.shape)
        if ids_dim is None and P_dim is None and C_dim is None and A_dim is None:
            # Same problems for every vmapped slice: more right-hand sides,
            # one multi-column solve per factorization (jacfwd, jacrev).
            V_, B, N, r = R.shape
            folded = R.permute(1, 2, 3, 0).reshape(B, N, r * V_)
            Y = KKTSolve.apply(factors, ids, folded, P, C, A)
            return Y.reshape(B, N, r, V_).permute(3, 0, 1, 2), 0
        B = R.shape[1]
        ids = ids.movedim(ids_dim, 0) if ids_dim is not None else ids.unsqueeze(0).expand(V, *ids.shape)
        flat = [_flatten(M, dim, V, B, 1 if name in factors.entries else 2)
                for name, M, dim in (("P", P, P_dim), ("C", C, C_dim), ("A", A, A_dim))]
        Y = KKTSolve.apply(factors, ids.reshape(V * B), R.reshape(V * B, *R.shape[2:]), *flat)
        return Y.reshape(V, B, *Y.shape[1:]), 0


def _flatten(M: torch.Tensor, dim: Optional[int], V: int, B: int, shared_ndim: int) -> torch.Tensor:
    """A matrix (or sparse values) of a vmapped call as one of the (V * B)-problem batch."""
    if dim is None:
        if M.dim() == shared_ndim:
            return M                       # shared by every problem
        return M.unsqueeze(0).expand(V, *M.shape).reshape(V * B, *M.shape[1:])
    M = M.movedim(dim, 0)
    if M.dim() == shared_ndim + 1:
        M = M.unsqueeze(1).expand(V, B, *M.shape[1:])
    return M.reshape(V * B, *M.shape[2:])


def _sum(terms, shape, like):
    if not terms:
        return like.new_zeros(shape)
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total.expand(shape) if total.shape != shape else total


def _reduce(grad: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """A batch of per-problem gradients summed onto a shared parameter."""
    if grad.dim() > like.dim():
        return grad.sum(0)
    return grad


def _column(v: torch.Tensor) -> torch.Tensor:
    return v.unsqueeze(-1)


def tangents(factors: Factorizations, ids, P, q, C, d, A, b, z, lam, mu, dP, dq, dC, dd, dA, db):
    """(ż, λ̇, μ̇), each (B, ·), for tangents of the six inputs (None: no tangent).

    z, lam, mu are the forward's outputs (B, ·); the inputs shared ((rows, n)
    or (k,)) or batched. Inactive rows of μ̇ are exactly zero.
    """
    n, p = factors.n, factors.p
    B = z.shape[0]
    z, lam, mu = (torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0) for t in (z, lam, mu))
    top = [] if dq is None else [-_expand_batch(dq, B, 1)]
    middle = [] if db is None else [_expand_batch(db, B, 1)]
    bottom = [] if dd is None else [_expand_batch(dd, B, 1)]
    if dP is not None:
        top.append(-factors.times("P", dP, _column(z)).squeeze(-1))
    if dA is not None:
        top.append(-factors.times("A", dA, _column(lam), transpose=True).squeeze(-1))
        middle.append(-factors.times("A", dA, _column(z)).squeeze(-1))
    if dC is not None:
        top.append(-factors.times("C", dC, _column(mu), transpose=True).squeeze(-1))
        bottom.append(-factors.times("C", dC, _column(z)).squeeze(-1))
    rhs = torch.cat([_sum(top, (B, n), z), _sum(middle, (B, p), z), _sum(bottom, (B, mu.shape[1]), z)], dim=1)
    X = KKTSolve.apply(factors, ids, _column(rhs), P, C, A).squeeze(-1)
    return X[:, :n], X[:, n:n + p], X[:, n + p:]


def vjp(factors: Factorizations, ids, P, q, C, d, A, b, z, lam, mu, gz, glam, gmu):
    """Gradients of (P, q, C, d, A, b), each of its input's shape, as torch
    operations autograd can differentiate again."""
    n, p = factors.n, factors.p
    z, lam, mu = (torch.nan_to_num(t, nan=0.0, posinf=0.0, neginf=0.0) for t in (z, lam, mu))
    rhs = torch.cat([gz, glam, gmu], dim=1)
    W = -KKTSolve.apply(factors, ids, _column(rhs), P, C, A)
    wz, wl, wm = W[:, :n], W[:, n:n + p], W[:, n + p:]
    zc = _column(z)
    gP = 0.5 * (factors.outer("P", wz, zc, P) + factors.outer("P", zc, wz, P))
    gC = factors.outer("C", wm, zc, C) + factors.outer("C", _column(mu), wz, C)
    gA = factors.outer("A", wl, zc, A) + factors.outer("A", _column(lam), wz, A)
    gq = _reduce(wz.squeeze(-1), q)
    gd = _reduce(-wm.squeeze(-1), d)
    gb = _reduce(-wl.squeeze(-1), b)
    return gP, gq, gC, gd, gA, gb
