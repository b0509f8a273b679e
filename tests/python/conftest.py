"""Shared fixtures and helpers for the dqp Python test suite.

Random problems are built from their solution so that the active set is known
and strict complementarity holds: pick z*, an active subset J with duals
μ*_J ∈ [0.5, 1.5], slacks ∈ [0.5, 1.5] off J, λ* at random, then set
d = C z* + slack, b = A z*, q = -(P z* + Aᵀλ* + Cᵀμ*). P = M Mᵀ + I is
well conditioned and strictly convex.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

import dqp

# The Maros–Meszaros data sit beside the repository (../shared), wherever dqp
# is installed; CI must have them rather than skip the tests that use them.
_MM_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "maros_meszaros"
os.environ.setdefault("DQP_MAROS_MESZAROS", str(_MM_DIR))
if os.environ.get("CI") and not Path(os.environ["DQP_MAROS_MESZAROS"]).is_dir():
    raise RuntimeError(f"CI needs the Maros-Meszaros data at {os.environ['DQP_MAROS_MESZAROS']}")



def pytest_configure(config):
    # torch's notices about its own beta sparse support are not about dqp.
    config.addinivalue_line("filterwarnings", "ignore:Sparse CSR tensor support is in beta state:UserWarning")
    config.addinivalue_line("filterwarnings", "ignore:Sparse CSC tensor support is in beta state:UserWarning")
    config.addinivalue_line("filterwarnings", "ignore:Sparse invariant checks are implicitly disabled:UserWarning")


# ---------------------------------------------------------------------------
# Problem generators
# ---------------------------------------------------------------------------

def _sparse_mask(rng, rows, cols, density):
    """A random 0/1 mask with at least one entry in every row."""
    mask = rng.random((rows, cols)) < density
    for i in range(rows):
        if not mask[i].any():
            mask[i, rng.integers(cols)] = True
    return mask


def make_qp(n, m, p, seed, n_active=None, *, sparse=False, P=None, C=None, A=None):
    """A random strictly convex QP with a known, strictly complementary solution.

    Returns a dict of float64 numpy arrays: M (P = M Mᵀ + I; None for sparse
    or given P), P, q, C, d, A, b, and the solution z, lam, mu, and the sorted
    active set J. Passing P, C or A reuses them (for shared/broadcast batches).
    ``sparse=True`` builds a tridiagonal P and sparse C, A.
    """
    rng = np.random.default_rng(seed)
    M = None
    if P is None:
        if sparse:
            diag = rng.uniform(2.0, 3.0, n)
            off = rng.uniform(-0.5, 0.5, n - 1)
            P = np.diag(diag) + np.diag(off, 1) + np.diag(off, -1)
        else:
            M = rng.standard_normal((n, n)) / np.sqrt(n)
            P = M @ M.T + np.eye(n)
    if C is None:
        C = rng.standard_normal((m, n))
        if sparse:
            C = C * _sparse_mask(rng, m, n, 0.5)
    if A is None:
        A = rng.standard_normal((p, n))
        if sparse:
            A = A * _sparse_mask(rng, p, n, 0.6)
    z = rng.standard_normal(n)
    if n_active is None:
        n_active = min(m, max(1 if m else 0, (n - p) // 2))
    J = np.sort(rng.choice(m, n_active, replace=False)) if m else np.zeros(0, dtype=np.int64)
    mu = np.zeros(m)
    mu[J] = rng.uniform(0.5, 1.5, n_active)
    slack = rng.uniform(0.5, 1.5, m)
    slack[J] = 0.0
    d = C @ z + slack
    lam = rng.standard_normal(p)
    b = A @ z
    q = -(P @ z + A.T @ lam + C.T @ mu)
    return dict(M=M, P=P, q=q, C=C, d=d, A=A, b=b, z=z, lam=lam, mu=mu, J=J)


def tensor(x, dtype=torch.float64, requires_grad=True):
    return torch.tensor(np.asarray(x), dtype=dtype, requires_grad=requires_grad)


def tensors(qp, names="PqCdAb", dtype=torch.float64, requires_grad=True):
    return [tensor(qp[k], dtype, requires_grad) for k in names]


class SparseBuilder:
    """Builds a torch sparse tensor of a fixed pattern from a values tensor.

    ``layout`` is "coo" (entries in a shuffled, caller-chosen order), "csr" or
    "csc" (built directly with torch's compressed constructors). ``rows`` and
    ``cols`` give the (row, col) of each value in the caller's order, so a
    gradient on the values can be compared with a dense gradient at
    ``dense_grad[rows, cols]``.
    """

    def __init__(self, dense, layout, seed=0):
        dense = np.asarray(dense, dtype=np.float64)
        self.shape = dense.shape
        self.layout = layout
        r, c = np.nonzero(dense)
        if layout == "coo":
            perm = np.random.default_rng(seed).permutation(r.size)
            r, c = r[perm], c[perm]
        elif layout == "csr":
            order = np.lexsort((c, r))
            r, c = r[order], c[order]
        elif layout == "csc":
            order = np.lexsort((r, c))
            r, c = r[order], c[order]
        else:
            raise ValueError(layout)
        self.rows, self.cols = r, c
        self.values0 = dense[r, c]

    def values(self, dtype=torch.float64, requires_grad=True):
        return torch.tensor(self.values0, dtype=dtype, requires_grad=requires_grad)

    def __call__(self, values):
        rows, cols, shape = self.rows, self.cols, self.shape
        if self.layout == "coo":
            index = torch.tensor(np.stack([rows, cols]), dtype=torch.int64)
            return torch.sparse_coo_tensor(index, values, shape)
        if self.layout == "csr":
            crow = np.zeros(shape[0] + 1, dtype=np.int64)
            np.cumsum(np.bincount(rows, minlength=shape[0]), out=crow[1:])
            return torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols.astype(np.int64)),
                                           values, shape)
        ccol = np.zeros(shape[1] + 1, dtype=np.int64)
        np.cumsum(np.bincount(cols, minlength=shape[1]), out=ccol[1:])
        return torch.sparse_csc_tensor(torch.from_numpy(ccol), torch.from_numpy(rows.astype(np.int64)),
                                       values, shape)


class SymmetricSparseBuilder(SparseBuilder):
    """A symmetric sparse P parametrized by its upper-triangle values.

    ``free_values()`` is the differentiable parameter; ``__call__(free)``
    mirrors it onto both triangles (so P stays exactly symmetric under
    gradcheck's perturbations) and builds the sparse tensor.
    """

    def __init__(self, dense, layout, seed=0):
        super().__init__(dense, layout, seed)
        upper = [(i, j) for i, j in zip(*np.nonzero(np.triu(dense)))]
        key = {ij: k for k, ij in enumerate(upper)}
        self.upper = np.array(upper)
        self.gather = torch.tensor([key[(min(i, j), max(i, j))] for i, j in zip(self.rows, self.cols)])
        self.free0 = np.asarray(dense)[self.upper[:, 0], self.upper[:, 1]]

    def free_values(self, dtype=torch.float64, requires_grad=True):
        return torch.tensor(self.free0, dtype=dtype, requires_grad=requires_grad)

    def __call__(self, free):
        return super().__call__(free[self.gather])


def psd_from_free(M):
    """P = M Mᵀ + I: symmetric positive definite for any M (gradcheck parameter)."""
    return M @ M.transpose(-1, -2) + torch.eye(M.shape[-1], dtype=M.dtype)


def gradcheck(fn, inputs, **kwargs):
    """torch.autograd.gradcheck with the suite's tolerances (double precision)."""
    options = dict(eps=1e-6, atol=1e-6, rtol=1e-5, raise_exception=True)
    options.update(kwargs)
    return torch.autograd.gradcheck(fn, tuple(inputs), **options)


def kkt_residual(P, q, C, d, A, b, z, lam, mu):
    """Infinity norm of the KKT residuals (stationarity, feasibility, complementarity)."""
    P, q, C, d, A, b, z, lam, mu = (np.asarray(x, dtype=np.float64) for x in (P, q, C, d, A, b, z, lam, mu))
    parts = [P @ z + q + A.T @ lam + C.T @ mu]
    if C.size:
        parts += [np.maximum(C @ z - d, 0), np.minimum(mu, 0), mu * (C @ z - d)]
    if A.size:
        parts.append(A @ z - b)
    return max(float(np.max(np.abs(x))) if x.size else 0.0 for x in parts)


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture
def qp_mixed():
    """n=5, m=6 inequalities (2 active), p=2 equalities."""
    return make_qp(5, 6, 2, seed=0, n_active=2)


@pytest.fixture
def qp_ineq():
    """n=5, m=7 inequalities (3 active), no equalities."""
    return make_qp(5, 7, 0, seed=1, n_active=3)


@pytest.fixture
def qp_eq():
    """n=5, no inequalities, p=2 equalities."""
    return make_qp(5, 0, 2, seed=2)


@pytest.fixture
def qp_sparse():
    """Sparse n=6: tridiagonal P, m=5 (2 active), p=2, C and A about half full."""
    return make_qp(6, 5, 2, seed=3, n_active=2, sparse=True)


@pytest.fixture
def qp_batch():
    """Three independent n=4, m=5, p=1 problems, stacked: dict of (B, ...) arrays and the list."""
    problems = [make_qp(4, 5, 1, seed=10 + i, n_active=2) for i in range(3)]
    stacked = {k: np.stack([qp[k] for qp in problems]) for k in ("M", "P", "q", "C", "d", "A", "b", "z", "lam", "mu")}
    return stacked, problems


@pytest.fixture
def qp_shared():
    """Three n=4, m=5 problems sharing P (and its M) and C; q and d differ."""
    first = make_qp(4, 5, 0, seed=20, n_active=2)
    problems = [first] + [make_qp(4, 5, 0, seed=21 + i, n_active=2, P=first["P"], C=first["C"])
                          for i in range(2)]
    for qp in problems[1:]:
        qp["M"] = first["M"]
    return problems


@pytest.fixture(scope="session")
def bridge_solvers():
    """qpsolvers solvers reachable through the bridge (osqp must be among them)."""
    return {name: info for name, info in dqp.available_solvers().items() if info["kind"] == "qpsolvers"}
