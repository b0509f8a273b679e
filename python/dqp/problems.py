"""QP problems from files and arrays, in dqp's form.

    minimize ½ zᵀ P z + qᵀ z + offset   subject to   C z ≤ d,   A z = b

:func:`load_problem` reads

* ``.npz`` files with the reference diagnostic's keys ``Q, q, G, h, A, b``
  (dqp's names ``P, C, d`` are accepted too). Sparse matrices may be pickled
  scipy objects; only those keys are read with pickles allowed. A missing or
  ``None`` pair G/h or A/b means no such constraints.
* Maros–Meszaros ``.mat`` files (keys ``n, m, P, q, r, A, l, u``) with
  ``l ≤ A z ≤ u`` and ±1e20 meaning infinite. Rows with ``l == u`` become
  equalities; a finite ``u`` gives the row ``a ≤ u`` of C, a finite ``l`` the
  row ``-a ≤ -l``; rows free on both sides are dropped.

:func:`as_problem` also takes numpy arrays, scipy sparse matrices and torch
tensors (dense or sparse). Errors are ``ValueError`` naming the key or
argument. Benchmarks and tests share this module.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import numpy as np
import scipy.sparse as sp

from ._sparse import scipy_to_csc

# Maros–Meszaros files write ±1e20 for an absent bound, some of them an ulp
# short (9.999999999999998e19 in QISRAEL, QSIERRA, POWELL20, ...): any bound
# beyond MM_INFINITE_BOUND is absent. Kept as rows, such bounds put slacks of
# 1e20 into interior-point solvers, which then diverge.
MM_INFINITY = 1e20
MM_INFINITE_BOUND = 9e19

# Key names of the reference's .npz files, and dqp's own, for each field.
NPZ_KEYS = {"P": ("Q", "P"), "q": ("q",), "C": ("G", "C"), "d": ("h", "d"), "A": ("A",), "b": ("b",)}
MAT_KEYS = ("n", "m", "P", "q", "r", "A", "l", "u")

Matrix = Union[np.ndarray, sp.csc_matrix]


@dataclass
class Problem:
    """One QP. Matrices are all dense float64 arrays or all scipy CSC matrices.

    ``C``/``d`` and ``A``/``b`` are always present, with 0 rows when absent.
    ``meta`` holds where the problem came from (file, format, row mapping).
    """

    P: Matrix
    q: np.ndarray
    C: Matrix
    d: np.ndarray
    A: Matrix
    b: np.ndarray
    name: str = "problem"
    offset: float = 0.0
    meta: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.q.shape[0])

    @property
    def m(self) -> int:
        return int(self.d.shape[0])

    @property
    def p(self) -> int:
        return int(self.b.shape[0])

    @property
    def sparse(self) -> bool:
        return sp.issparse(self.P)

    @property
    def nnz(self) -> int:
        """Stored entries of P, C and A (all entries when dense)."""
        return sum(int(M.nnz) if sp.issparse(M) else int(np.count_nonzero(M)) for M in (self.P, self.C, self.A))

    def objective(self, z: np.ndarray) -> float:
        z = np.asarray(z, dtype=np.float64)
        return float(0.5 * z @ (self.P @ z) + self.q @ z + self.offset)

    def to_dense(self) -> "Problem":
        if not self.sparse:
            return self
        return replace(self, P=self.P.toarray(), C=self.C.toarray(), A=self.A.toarray())

    def to_sparse(self) -> "Problem":
        if self.sparse:
            return self
        return replace(self, P=sp.csc_matrix(self.P), C=sp.csc_matrix(self.C), A=sp.csc_matrix(self.A))

    def engine_data(self, sparse: Optional[bool] = None) -> tuple:
        """The (P, q, C, d, A, b) tuple :class:`dqp._engine.Engine` takes.

        Dense: C-contiguous float64 arrays. Sparse: ``(CSCPattern, values)``
        pairs for the matrices. ``sparse=None`` keeps the problem's storage.
        """
        sparse = self.sparse if sparse is None else sparse
        problem = self.to_sparse() if sparse else self.to_dense()
        if sparse:
            mats = [scipy_to_csc(M, name) for M, name in ((problem.P, "P"), (problem.C, "C"), (problem.A, "A"))]
        else:
            mats = [np.ascontiguousarray(M, dtype=np.float64) for M in (problem.P, problem.C, problem.A)]
        return (mats[0], problem.q, mats[1], problem.d, mats[2], problem.b)

    def __repr__(self) -> str:
        storage = f"sparse, nnz={self.nnz}" if self.sparse else "dense"
        return f"Problem('{self.name}', n={self.n}, m={self.m}, p={self.p}, {storage})"


# ---------------------------------------------------------------------------
# Arrays -> Problem
# ---------------------------------------------------------------------------

def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def _to_host(x, label: str):
    """numpy array or scipy sparse matrix from numpy / scipy / torch input."""
    if isinstance(x, np.ndarray) and x.dtype == object and x.shape == ():
        x = x[()]                               # a pickled object saved by np.savez
    if sp.issparse(x):
        return x
    if _is_torch(x):
        import torch
        x = x.detach().cpu()
        if x.layout != torch.strided:
            if x.dim() != 2:
                raise ValueError(f"{label} must be a 2-D matrix, got a sparse tensor with shape {tuple(x.shape)}")
            coo = x.to_sparse_coo().coalesce()
            rows, cols = coo.indices().numpy()
            return sp.csc_matrix((coo.values().double().numpy(), (rows, cols)), shape=tuple(x.shape))
        return x.double().numpy()
    try:
        array = np.asarray(x)
        if array.dtype == object:
            raise TypeError
        return array.astype(np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{label} must be a numeric array, a scipy sparse matrix or a torch tensor, "
                         f"got {type(x).__name__}") from error


def _native_float64(array: np.ndarray) -> np.ndarray:
    # astype to the builtin float64 drops an explicit byte order ('<d' buffers from loadmat),
    # which some solvers' buffer protocols (cvxopt) refuse.
    return np.ascontiguousarray(np.asarray(array).astype(np.float64))


def _vector(x, label: str, size: Optional[int], size_from: str) -> np.ndarray:
    x = _to_host(x, label)
    if sp.issparse(x):
        x = x.toarray()
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)                       # column or row vectors (the reference stores columns)
    if x.ndim != 1:
        raise ValueError(f"{label} must be a vector, got shape {x.shape}")
    if size is not None and x.shape[0] != size:
        raise ValueError(f"{label} must have {size} entries ({size_from}), got {x.shape[0]}")
    return _native_float64(x)


def _matrix(x, label: str, rows: Optional[int], cols: int, rows_from: str):
    x = _to_host(x, label)
    if x.ndim != 2:
        raise ValueError(f"{label} must be a 2-D matrix, got shape {x.shape}")
    if x.shape[1] != cols or (rows is not None and x.shape[0] != rows):
        expected = f"({rows if rows is not None else 'k'}, {cols})"
        why = f"n = {cols} from q" + (f", {rows_from}" if rows is not None else "")
        raise ValueError(f"{label} must have shape {expected} ({why}), got {tuple(x.shape)}")
    return x


def _check_finite(x, label: str) -> None:
    values = x.data if sp.issparse(x) else x
    bad = ~np.isfinite(values)
    if np.any(bad):
        kind = "NaN" if np.any(np.isnan(values)) else "infinite"
        raise ValueError(f"{label} has {int(bad.sum())} non-finite entries ({kind}); "
                         "dqp needs finite data (drop rows whose bound is infinite)")


def from_arrays(P, q, C=None, d=None, A=None, b=None, *, name: str = "problem", offset: float = 0.0,
                labels: Optional[Mapping[str, str]] = None, meta: Optional[dict] = None) -> Problem:
    """A :class:`Problem` from numpy / scipy / torch data; ValueError on bad input.

    The problem is sparse if any matrix is (scipy or torch sparse), else
    dense. ``labels`` renames the arguments in error messages (e.g. the
    reference's ``Q, G, h``).
    """
    label = {key: key for key in "PqCdAb"}
    label.update(labels or {})
    if P is None:
        raise ValueError(f"{label['P']} (the quadratic cost matrix) is required")
    if q is None:
        raise ValueError(f"{label['q']} (the linear cost vector) is required")
    for (M, x), (v, y) in ((("C", C), ("d", d)), (("A", A), ("b", b))):
        if (x is None) != (y is None):
            missing, present = (v, M) if y is None else (M, v)
            raise ValueError(f"{label[present]} is given without {label[missing]}: give both or neither")

    q = _vector(q, label["q"], None, "")
    n = q.shape[0]
    P = _matrix(P, label["P"], n, n, "P is n × n")
    if C is None:
        C, d = np.zeros((0, n)), np.zeros(0)
    else:
        d = _vector(d, label["d"], None, "")
        C = _matrix(C, label["C"], d.shape[0], n, f"{d.shape[0]} rows from {label['d']}")
    if A is None:
        A, b = np.zeros((0, n)), np.zeros(0)
    else:
        b = _vector(b, label["b"], None, "")
        A = _matrix(A, label["A"], b.shape[0], n, f"{b.shape[0]} rows from {label['b']}")

    for key, x in (("P", P), ("q", q), ("C", C), ("d", d), ("A", A), ("b", b)):
        _check_finite(x, label[key])
    if not np.isfinite(offset):
        raise ValueError(f"offset must be finite, got {offset}")

    sparse = any(sp.issparse(M) for M in (P, C, A))
    if sparse:
        P, C, A = (_clean_csc(M) for M in (P, C, A))
    else:
        P, C, A = (_native_float64(M) for M in (P, C, A))
    _check_symmetric(P, label["P"])
    return Problem(P, q, C, d, A, b, name=name, offset=float(offset), meta=dict(meta or {}))


def _clean_csc(M) -> sp.csc_matrix:
    csc = sp.csc_matrix(M, dtype=np.float64, copy=True)
    csc.sum_duplicates()
    csc.sort_indices()
    csc.data = _native_float64(csc.data)
    csc.indices = csc.indices.astype(np.int64)
    csc.indptr = csc.indptr.astype(np.int64)
    return csc


def _check_symmetric(P, label: str) -> None:
    asym = abs(P - P.T)
    worst = asym.max() if asym.shape[0] else 0.0
    scale = abs(P).max() if P.shape[0] else 0.0
    if worst > 1e-10 * max(scale, 1.0):
        raise ValueError(f"{label} must be symmetric with both triangles stored (max |P - Pᵀ| = {worst:.3g}); "
                         "pass (P + Pᵀ)/2, or mirror a triangle")


def _mirror_triangle(P: sp.csc_matrix) -> sp.csc_matrix:
    """Both triangles of a P stored as one triangle (some .mat conversions do)."""
    upper, lower = sp.triu(P, 1), sp.tril(P, -1)
    if upper.nnz and not lower.nnz:
        return (P + upper.T).tocsc()
    if lower.nnz and not upper.nnz:
        return (P + lower.T).tocsc()
    return P


# ---------------------------------------------------------------------------
# Files -> Problem
# ---------------------------------------------------------------------------

def load_problem(path: Union[str, os.PathLike], *, allow_pickle: bool = True) -> Problem:
    """Read a ``.npz`` (reference keys Q, q, G, h, A, b; box bounds lb, ub become
    rows of C after G's) or Maros–Meszaros ``.mat`` file.

    ``allow_pickle=False`` refuses pickled (scipy sparse) entries in ``.npz``
    files; they are only loaded from files you trust. A missing file raises
    FileNotFoundError; a file without the keys a QP needs, ValueError.

    Example:
        >>> import numpy as np, dqp, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "tiny.npz")
        >>> np.savez(path, Q=np.eye(2), q=np.ones(2), G=-np.eye(2), h=np.zeros(2))
        >>> problem = dqp.load_problem(path)
        >>> problem.P.shape, problem.C.shape
        ((2, 2), (2, 2))
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such problem file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return load_npz(path, allow_pickle=allow_pickle)
    if suffix == ".mat":
        return load_maros_meszaros(path)
    raise ValueError(f"{path}: unknown problem format '{suffix}'; expected .npz (keys Q, q, G, h, A, b) "
                     "or a Maros–Meszaros .mat file")


def load_npz(path: Union[str, os.PathLike], *, allow_pickle: bool = True) -> Problem:
    """A problem from the reference diagnostic's ``.npz`` format."""
    path = Path(path)
    values: dict[str, Any] = {}
    labels: dict[str, str] = {}
    with np.load(path, allow_pickle=False) as plain:
        keys = set(plain.files)
        for field_name, candidates in NPZ_KEYS.items():
            key = next((k for k in candidates if k in keys), None)
            if key is None:
                continue
            labels[field_name] = f"{path.name}: key '{key}'"
            try:
                values[field_name] = plain[key]
            except ValueError:
                # An object array: a pickled scipy matrix or None.
                if not allow_pickle:
                    raise ValueError(f"{path.name}: key '{key}' holds a pickled object; "
                                     "load with allow_pickle=True if you trust the file") from None
                with np.load(path, allow_pickle=True) as pickled:
                    values[field_name] = pickled[key]
    for field_name, value in list(values.items()):
        if isinstance(value, np.ndarray) and value.dtype == object and value.shape == ():
            value = value[()]
        empty = isinstance(value, np.ndarray) and value.size == 0
        if value is None or (empty and field_name in ("C", "d", "A", "b")):
            del values[field_name]          # stored as None or empty: absent
        else:
            values[field_name] = value
    for field_name in ("P", "q"):
        if field_name not in values:
            names = " or ".join(f"'{k}'" for k in NPZ_KEYS[field_name])
            raise ValueError(f"{path.name}: missing key {names}; found keys {sorted(keys)}")
    bounds = {}
    with np.load(path, allow_pickle=False) as plain:
        for key in ("lb", "ub"):
            if key in plain.files:
                bounds[key] = np.asarray(plain[key], dtype=np.float64).reshape(-1)
    problem = from_arrays(values["P"], values["q"], values.get("C"), values.get("d"), values.get("A"),
                          values.get("b"), name=path.stem, labels=labels,
                          meta={"source": str(path), "format": "npz"})
    return _with_bound_rows(problem, bounds, path.name) if bounds else problem


def _with_bound_rows(problem: Problem, bounds: dict, where: str) -> Problem:
    """Box bounds lb ≤ z ≤ ub (qpsolvers' npz keys) appended to C z ≤ d.

    Rows come after G's: z_i ≤ ub_i for each finite ub_i, then −z_i ≤ −lb_i.
    Entries beyond ±1e20 count as infinite (the MPC set's convention);
    ``meta`` records which variables each block bounds.
    """
    n = problem.n
    blocks_C, blocks_d = [problem.C], [problem.d]
    meta = dict(problem.meta)
    for key, sign in (("ub", 1.0), ("lb", -1.0)):
        if key not in bounds:
            continue
        value = bounds[key]
        if value.shape != (n,):
            raise ValueError(f"{where}: key '{key}' has {value.size} entries; expected one per variable ({n})")
        if np.isnan(value).any():
            raise ValueError(f"{where}: key '{key}' holds NaN")
        finite = np.flatnonzero(np.abs(value) < 1e20)
        rows = sp.csc_matrix((np.full(finite.size, sign), (np.arange(finite.size), finite)), shape=(finite.size, n))
        blocks_C.append(rows if problem.sparse else rows.toarray())
        blocks_d.append(sign * value[finite])
        meta[f"{key}_rows"] = finite
    if "lb" in bounds and "ub" in bounds and np.any(bounds["lb"] > bounds["ub"]):
        first = int(np.flatnonzero(bounds["lb"] > bounds["ub"])[0])
        raise ValueError(f"{where}: lb[{first}] = {bounds['lb'][first]} exceeds ub[{first}] = {bounds['ub'][first]}")
    C = sp.vstack(blocks_C, format="csc") if problem.sparse else np.vstack(blocks_C)
    return replace(problem, C=C, d=np.concatenate(blocks_d), meta=meta)


def load_maros_meszaros(path: Union[str, os.PathLike]) -> Problem:
    """A Maros–Meszaros ``.mat`` problem converted to C z ≤ d, A z = b.

    ``meta`` records the conversion: ``eq_rows`` (original rows that became
    equalities, in A's order), ``C_rows`` and ``C_signs`` (original row and
    ±1 of each row of C).
    """
    import scipy.io

    path = Path(path)
    try:
        raw = scipy.io.loadmat(path)
    except Exception as error:
        raise ValueError(f"{path.name}: not a readable .mat file ({error})") from error
    missing = [key for key in MAT_KEYS if key not in raw and key != "r"]
    if missing:
        raise ValueError(f"{path.name}: missing key {', '.join(repr(k) for k in missing)} "
                         f"(a Maros–Meszaros file has {', '.join(MAT_KEYS)})")
    label = {key: f"{path.name}: key '{key}'" for key in MAT_KEYS}
    q = _vector(raw["q"], label["q"], None, "")
    n = q.shape[0]
    if int(np.asarray(raw["n"]).reshape(-1)[0]) != n:
        raise ValueError(f"{label['n']} says n = {int(np.asarray(raw['n']).ravel()[0])} but q has {n} entries")
    l = _vector(raw["l"], label["l"], None, "")
    m = l.shape[0]
    if int(np.asarray(raw["m"]).reshape(-1)[0]) != m:
        raise ValueError(f"{label['m']} says m = {int(np.asarray(raw['m']).ravel()[0])} but l has {m} entries")
    u = _vector(raw["u"], label["u"], m, f"m = {m} from l")
    P = sp.csc_matrix(_matrix(raw["P"], label["P"], n, n, "P is n × n"))
    A = sp.csc_matrix(_matrix(raw["A"], label["A"], m, n, f"m = {m} from l"))
    r = raw.get("r")
    offset = float(np.asarray(r).reshape(-1)[0]) if r is not None and np.asarray(r).size else 0.0
    for key, x in (("l", l), ("u", u)):
        if np.any(np.isnan(x)):
            raise ValueError(f"{label[key]} has NaN entries")
    lower_finite = l > -MM_INFINITE_BOUND
    upper_finite = u < MM_INFINITE_BOUND
    equal = lower_finite & upper_finite & (l == u)
    upper_rows = np.flatnonzero(upper_finite & ~equal)
    lower_rows = np.flatnonzero(lower_finite & ~equal)
    eq_rows = np.flatnonzero(equal)
    A_rows = A.tocsr()
    C = sp.vstack([A_rows[upper_rows], -A_rows[lower_rows]], format="csc")
    d = np.concatenate([u[upper_rows], -l[lower_rows]])
    meta = {
        "source": str(path), "format": "maros_meszaros",
        "eq_rows": eq_rows,
        "C_rows": np.concatenate([upper_rows, lower_rows]),
        "C_signs": np.concatenate([np.ones(upper_rows.size), -np.ones(lower_rows.size)]),
    }
    return from_arrays(_mirror_triangle(P), q, C, d, A_rows[eq_rows].tocsc(), u[eq_rows], name=path.stem,
                       offset=offset, labels={key: label[key] for key in ("P", "q", "A")}, meta=meta)


# ---------------------------------------------------------------------------
# Anything -> Problem
# ---------------------------------------------------------------------------

def as_problem(problem, name: Optional[str] = None) -> Problem:
    """A :class:`Problem` from a Problem, a file path, a dict or a (P, q, C, d, A, b) tuple.

    Dicts take dqp's keys (P, q, C, d, A, b) or the reference's (Q, q, G, h,
    A, b); tuples are positional, trailing entries optional.
    """
    if isinstance(problem, Problem):
        result = problem
    elif isinstance(problem, (str, os.PathLike)):
        result = load_problem(problem)
    elif isinstance(problem, Mapping):
        values, labels = {}, {}
        for field_name, candidates in NPZ_KEYS.items():
            present = [k for k in candidates if k in problem]
            if len(present) > 1:
                raise ValueError(f"give either '{present[0]}' or '{present[1]}', not both")
            if present:
                values[field_name], labels[field_name] = problem[present[0]], present[0]
        unknown = set(problem) - {k for keys in NPZ_KEYS.values() for k in keys}
        if unknown:
            raise ValueError(f"unknown problem keys {sorted(unknown)}; expected P (or Q), q, C (or G), "
                             "d (or h), A, b")
        result = from_arrays(values.get("P"), values.get("q"), values.get("C"), values.get("d"),
                             values.get("A"), values.get("b"), labels=labels)
    elif isinstance(problem, (tuple, list)):
        if not 2 <= len(problem) <= 6:
            raise ValueError(f"a problem tuple is (P, q[, C, d[, A, b]]), got {len(problem)} entries")
        result = from_arrays(*problem)
    else:
        raise ValueError(f"problem must be a path, a dqp.problems.Problem, a dict or a (P, q, C, d, A, b) "
                         f"tuple, got {type(problem).__name__}")
    return replace(result, name=name) if name is not None else result


def maros_meszaros_dir() -> Optional[Path]:
    """The shared Maros–Meszaros folder ($DQP_MAROS_MESZAROS, else ../shared beside the repository)."""
    candidates = [os.environ.get("DQP_MAROS_MESZAROS")]
    repo = Path(__file__).resolve().parents[2]
    candidates.append(str(repo.parent / "shared" / "data" / "maros_meszaros"))
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


__all__ = ["Problem", "as_problem", "from_arrays", "load_maros_meszaros", "load_npz", "load_problem",
           "maros_meszaros_dir", "MM_INFINITY", "MM_INFINITE_BOUND"]
