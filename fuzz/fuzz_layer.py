#!/usr/bin/env python3
"""atheris fuzz harness for the dqp torch layer (forward + backward).

Each input is decoded (atheris.FuzzedDataProvider) into a problem and a layer
configuration: sizes (n, m, p up to 6, zero included), values (well-formed
problems built from a chosen primal-dual solution, or raw values with NaN,
±Inf, huge and subnormal numbers injected), shapes (sometimes inconsistent:
transposed, a row too many, extra axes, mismatched batch sizes, one of a pair
missing, numpy / list / int inputs, mixed dtypes), storage (dense, or torch
COO / CSR / CSC, uncoalesced COO with duplicates, explicit zeros), a batch
dimension on any subset of the parameters (sparse batches as lists), float32
or float64, and the layer's options (native and qpsolvers solvers, linear
solvers, normalize / refine / polish / dual recovery, on_failure, warm start,
batch threads). The layer runs forward, then backward on a weighted sum of
its outputs.

Verdicts:

* fine: the call returns, or raises ValueError, TypeError or dqp.QPSolveError
  with a non-empty message;
* bug: any other exception; a crash (signal, abort) or a hang (libFuzzer's
  -timeout); an 'optimal' problem whose outputs contain NaN/Inf, have the
  wrong shape or dtype, or have μ < 0 beyond solver tolerance; on
  well-formed finite data, an 'optimal' point that violates the KKT
  conditions grossly, or a non-finite gradient.

Run:  fuzz/run_atheris.sh SECONDS                 bounded run from fuzz/corpus/layer
      python fuzz/fuzz_layer.py CRASH_FILE       replay one input
      python fuzz/fuzz_layer.py --describe FILE  print the decoded case
      DQP_FUZZ_SKIP_KNOWN=1 ...                  get past the bugs pinned in
                                                 tests/python/test_fuzz_regressions.py
"""
from __future__ import annotations

import math
import os
import sys
import warnings

import atheris

import numpy as np
import torch

import dqp  # noqa: E402


def _instrument_dqp():
    """Coverage feedback from dqp's Python code. atheris.instrument_imports
    skips modules behind a custom loader (the editable install's), so the
    functions of the already imported dqp modules are instrumented in place."""
    import types
    done = set()

    def visit(obj, module_name):
        if id(obj) in done:
            return
        done.add(id(obj))
        if isinstance(obj, (staticmethod, classmethod)):
            obj = obj.__func__
        if isinstance(obj, property):
            for f in (obj.fget, obj.fset, obj.fdel):
                if f is not None:
                    visit(f, module_name)
            return
        if isinstance(obj, types.FunctionType) and obj.__module__ == module_name:
            try:
                atheris.instrument_func(obj)
            except Exception:  # noqa: BLE001 - best effort
                pass
        elif isinstance(obj, type) and obj.__module__ == module_name:
            for member in vars(obj).values():
                visit(member, module_name)

    for name, module in list(sys.modules.items()):
        if (name == "dqp" or name.startswith("dqp.")) and module is not None and hasattr(module, "__file__") \
                and str(getattr(module, "__file__", "")).endswith(".py"):
            for member in vars(module).values():
                visit(member, name)


_instrument_dqp()

# Ignore every warning (failure / degeneracy notices, torch's sparse beta notes).
warnings.simplefilter("ignore")
torch.set_num_threads(1)

VERBOSE = os.environ.get("DQP_FUZZ_VERBOSE", "0") == "1"
# Skip inputs / verdicts of bugs already pinned in tests/python/test_fuzz_regressions.py.
SKIP_KNOWN = os.environ.get("DQP_FUZZ_SKIP_KNOWN", "0") == "1"

INF, NAN = math.inf, math.nan
SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, 1e-8, -1e-8, 1e8, -1e8, 1e-300, 5e-324, -5e-324, 1e154, 1e300, -1e300,
           1.7976931348623157e308, INF, -INF, NAN]
SOLVERS = ["proxqp", "proxqp", "proxqp", "qpoases", "osqp", "osqp", "clarabel", "piqp", "daqp", "quadprog",
           "cvxopt", "highs", "qpalm", "qpsolvers:proxqp", "no_such_solver"]
LIN_SOLVERS = [None, None, None, "auto", "lu", "cod", "sparse_ldlt", "sparse_lu", "sparse_qr", "scipy LU",
               "scipy LDL", "scipy SPLU", "qdldl", "no_such_linear_solver"]
NAMES = "PqCdAb"


class Bug(AssertionError):
    """The oracle's verdict: the layer misbehaved on this input."""


# ---------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------

class Decoder:
    def __init__(self, data: bytes):
        self.fdp = atheris.FuzzedDataProvider(data)

    def int(self, lo, hi):
        return self.fdp.ConsumeIntInRange(lo, hi)

    def bool(self):
        return self.fdp.ConsumeBool()

    def pick(self, values):
        return values[self.int(0, len(values) - 1)]

    def nice(self):
        """A small well-behaved number (quarter steps in [-4, 4])."""
        return self.int(-16, 16) / 4.0

    def raw(self):
        kind = self.int(0, 7)
        if kind <= 3:
            return self.nice()
        if kind == 4:
            return self.fdp.ConsumeRegularFloat()
        if kind == 5:
            return self.fdp.ConsumeFloatInRange(-1e3, 1e3)
        if kind == 6:
            return self.pick(SPECIAL)
        return self.fdp.ConsumeFloat()

    def array(self, shape, raw=False):
        size = int(np.prod(shape)) if len(shape) else 1
        values = [self.raw() if raw else self.nice() for _ in range(size)]
        return np.array(values, dtype=np.float64).reshape(shape)


def constructed_problem(dec: Decoder, n, m, p):
    """A convex QP with a known KKT point: optimal solutions exist (possibly
    degenerate: weakly active rows, singular P, dependent rows)."""
    k = dec.int(0, n)
    M = dec.array((n, k))
    P = M @ M.T + np.diag(np.abs(dec.array((n,))))
    C = dec.array((m, n)) * _mask(dec, m, n)
    A = dec.array((p, n)) * _mask(dec, p, n)
    z = dec.array((n,))
    active = np.array([dec.bool() for _ in range(m)], dtype=bool)
    mu = np.where(active, np.abs(dec.array((m,))), 0.0)
    slack = np.where(active, 0.0, np.abs(dec.array((m,))))
    lam = dec.array((p,))
    d = C @ z + slack
    b = A @ z
    q = -(P @ z + A.T @ lam + C.T @ mu)
    return dict(P=P, q=q, C=C, d=d, A=A, b=b)


def raw_problem(dec: Decoder, n, m, p):
    P = dec.array((n, n), raw=True)
    if dec.bool():
        P = 0.5 * (P + P.T)
    return dict(P=P, q=dec.array((n,), raw=True), C=dec.array((m, n), raw=True), d=dec.array((m,), raw=True),
                A=dec.array((p, n), raw=True), b=dec.array((p,), raw=True))


def _mask(dec: Decoder, rows, cols):
    if rows * cols == 0 or dec.int(0, 2) == 0:
        return np.ones((rows, cols))
    return np.array([dec.int(0, 2) > 0 for _ in range(rows * cols)], dtype=np.float64).reshape(rows, cols)


def _inject(dec: Decoder, problem: dict, count: int):
    for _ in range(count):
        name = dec.pick(NAMES)
        x = problem[name]
        if x.size:
            x.reshape(-1)[dec.int(0, x.size - 1)] = dec.pick(SPECIAL)


class Case:
    """A decoded input: the layer's options and arguments, and what the oracle needs."""

    def __init__(self):
        self.options = {}
        self.args = []
        self.leaves = []
        self.problems = []
        self.batch = None
        self.batched = {}
        self.sparse = False
        self.layouts = {}
        self.dtype = torch.float64
        self.chaos = 0
        self.mutation = None
        self.twice = False
        self.finite = True
        self.shape = (0, 0, 0)

    def __repr__(self):
        lines = [f"options={self.options!r}", f"chaos={self.chaos} mutation={self.mutation} twice={self.twice}",
                 f"n,m,p={self.shape} batch={self.batch} batched={self.batched} sparse={self.sparse} "
                 f"layouts={self.layouts} dtype={self.dtype}"]
        with np.printoptions(precision=17, threshold=10000, linewidth=150):
            for i, problem in enumerate(self.problems):
                for name in NAMES:
                    lines.append(f"problem[{i}].{name} = np.array({np.asarray(problem[name]).tolist()!r})")
        return "\n".join(lines)


def _sparse_tensor(dec: Decoder, dense: np.ndarray, dtype, grad: bool, layout: str):
    keep = dense != 0
    if dec.bool() and dense.size:
        keep = keep | np.array([dec.int(0, 3) == 0 for _ in range(dense.size)]).reshape(dense.shape)  # explicit zeros
    rows, cols = np.nonzero(keep)
    values = dense[rows, cols]
    if layout in ("coo", "coo_dup"):
        if layout == "coo_dup" and rows.size:
            # Split one entry into two duplicates summing to it (uncoalesced input).
            j = dec.int(0, rows.size - 1)
            rows, cols = np.append(rows, rows[j]), np.append(cols, cols[j])
            values = np.append(values, 0.0)
            half = values[j] / 2
            values[j], values[-1] = half, values[j] - half
        perm = np.random.default_rng(dec.int(0, 255)).permutation(rows.size)
        rows, cols, values = rows[perm], cols[perm], values[perm]
        leaf = torch.tensor(values, dtype=dtype, requires_grad=grad)
        index = torch.tensor(np.stack([rows, cols]).reshape(2, -1), dtype=torch.int64)
        return leaf, torch.sparse_coo_tensor(index, leaf, dense.shape)
    if layout == "csr":
        order = np.lexsort((cols, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        crow = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=crow[1:])
        leaf = torch.tensor(values, dtype=dtype, requires_grad=grad)
        return leaf, torch.sparse_csr_tensor(torch.from_numpy(crow), torch.from_numpy(cols.astype(np.int64)), leaf,
                                             dense.shape)
    order = np.lexsort((rows, cols))
    rows, cols, values = rows[order], cols[order], values[order]
    ccol = np.zeros(dense.shape[1] + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, minlength=dense.shape[1]), out=ccol[1:])
    leaf = torch.tensor(values, dtype=dtype, requires_grad=grad)
    return leaf, torch.sparse_csc_tensor(torch.from_numpy(ccol), torch.from_numpy(rows.astype(np.int64)), leaf,
                                         dense.shape)


def decode(data: bytes) -> Case:
    dec = Decoder(data)
    case = Case()
    # The header first (sizes, storage, options, batching, mutation), then the
    # values: a short input still decodes to a meaningful configuration.
    case.chaos = dec.int(0, 3)           # 0: well formed, 1: + special values, 2: raw values, 3: + bad shapes
    n, m, p = dec.int(0, 6) if dec.int(0, 7) == 0 else dec.int(1, 6), dec.int(0, 6), dec.int(0, 4)
    case.shape = (n, m, p)
    case.sparse = dec.int(0, 2) == 0
    case.dtype = torch.float32 if dec.int(0, 3) == 0 else torch.float64
    case.batch = None if dec.int(0, 2) else dec.int(1, 3)
    size = case.batch or 1

    o = case.options
    o["qp_solver"] = dec.pick(SOLVERS)
    lin = dec.pick(LIN_SOLVERS)
    if lin is not None:
        o["lin_solver"] = lin
    for name in ("normalize_constraints", "refine_active", "polish", "check_PSD"):
        if dec.int(0, 3) == 0:
            o[name] = not (name == "polish")
    if dec.int(0, 3) == 0:
        o["dual_available"] = dec.pick([None, True, False])
    o["on_failure"] = dec.pick(["raise", "raise", "warn", "nan"])
    if dec.int(0, 3) == 0:
        o["eps_abs"] = dec.pick([1e-9, 1e-6, 1e-3, 1e-1])
    if dec.int(0, 3) == 0:
        o["eps_active"] = dec.pick([1e-9, 1e-5, 1e-2, 1.0])
    # ProxQP on badly scaled data can take ~10 ms per iteration: dqp's default
    # max_iter (10000) only now and then, to keep the executions per second up.
    max_iter = dec.pick([None, 200, 200, 200, 200, 1, 5, 50])
    if max_iter is not None:
        o["max_iter"] = max_iter
    if size > 1 and dec.bool():
        o["n_threads"] = 2
    if dec.int(0, 5) == 0:
        o["warm_start_from_previous"] = True
        case.twice = True
    if dec.int(0, 7) == 0:
        o["empty_batch"] = True

    grads, as_tuple = {}, {}
    for name in NAMES:
        case.batched[name] = case.batch is not None and (dec.int(0, 2) > 0)
        grads[name] = dec.int(0, 2) > 0
        as_tuple[name] = dec.int(0, 3) == 0
        if case.sparse and name in "PCA":
            case.layouts[name] = dec.pick(["coo", "coo_dup", "csr", "csc"])
    mutation = (dec.int(0, 5), dec.int(0, 13)) if case.chaos == 3 else None

    for _ in range(size):
        problem = constructed_problem(dec, n, m, p) if case.chaos < 2 else raw_problem(dec, n, m, p)
        if case.chaos == 1:
            _inject(dec, problem, dec.int(1, 3))
        case.problems.append(problem)
    case.finite = case.chaos == 0 and all(np.all(np.isfinite(x)) for pr in case.problems for x in pr.values())

    for name in NAMES:
        batched = case.batched[name]
        items = [pr[name] for pr in case.problems] if batched else [case.problems[0][name]]
        if case.sparse and name in "PCA":
            made = [_sparse_tensor(dec, x, case.dtype, grads[name], case.layouts[name]) for x in items]
            case.leaves.extend(leaf for leaf, _ in made)
            tensors = [t for _, t in made]
            arg = tensors if batched else tensors[0]
            if batched and as_tuple[name]:
                arg = tuple(arg)
        else:
            x = np.stack(items) if batched else items[0]
            leaf = torch.tensor(x, dtype=case.dtype, requires_grad=grads[name])
            case.leaves.append(leaf)
            arg = leaf
        case.args.append(arg)
    if mutation is not None:
        _mutate(case, *mutation)
    return case


def _mutate(case: Case, i: int, kind: int):
    """Make one argument inconsistent (or exotic)."""
    x = case.args[i]
    case.mutation = (NAMES[i], kind)
    dense = isinstance(x, torch.Tensor) and x.layout == torch.strided
    if kind == 0:
        case.args[i] = None                                   # one of a pair missing
    elif kind == 1 and dense:
        case.args[i] = x.detach().transpose(-1, -2) if x.dim() >= 2 else x.detach()[None]
    elif kind == 2 and dense:
        case.args[i] = torch.cat([x.detach(), x.detach()[..., :1]], dim=-1) if x.dim() else x  # a column too many
    elif kind == 3 and dense:
        case.args[i] = x.detach()[None, None]                 # extra axes
    elif kind == 4 and dense:
        case.args[i] = x.detach().reshape(-1)                 # flattened
    elif kind == 5 and dense:
        case.args[i] = x.detach().numpy()                     # numpy
    elif kind == 6 and dense:
        case.args[i] = x.detach().tolist()                    # nested lists
    elif kind == 7 and dense:
        case.args[i] = x.detach().to(torch.int64)             # wrong dtype
    elif kind == 8 and dense:
        other = torch.float32 if x.dtype == torch.float64 else torch.float64
        case.args[i] = x.detach().to(other)                   # mixed dtypes
    elif kind == 9 and dense:
        case.args[i] = torch.cat([x.detach(), x.detach()], dim=0) if x.dim() else x   # batch size mismatch
    elif kind == 10:
        case.args[i] = []                                     # empty list
    elif kind == 11 and dense:
        case.args[i] = x.detach()[..., :0]                    # an axis emptied
    elif kind == 12:
        case.args[i] = "P"                                    # nonsense
    elif kind == 13 and dense and x.dim() == 2:
        case.args[i] = x.detach().to_sparse()                 # storage mismatch


# ---------------------------------------------------------------------------
# Oracle
# ---------------------------------------------------------------------------

FINE = (ValueError, TypeError)


def _fine(error: BaseException) -> bool:
    if isinstance(error, dqp.QPSolveError) or isinstance(error, FINE):
        return bool(str(error).strip())
    if SKIP_KNOWN and isinstance(error, OverflowError):
        return bool(str(error).strip())     # pinned: backward's OverflowError is outside the error contract
    return False


def _check_outputs(case: Case, layer, outputs):
    n, m, p = case.shape
    statuses = layer.statuses
    size = len(statuses)
    if case.mutation is None:
        # The batch rule: any input with a batch axis makes a batch, whatever
        # its size (a (1, k) vector included; documented in dqp._inputs).
        batch = case.batch
        if batch is not None and not any(case.batched.values()):
            batch = None
        # A mutated argument may be legitimately reinterpreted (a transposed
        # square matrix, a (1, 1, m) vector read as a batch of one): the shape
        # and dtype checks apply to unmutated inputs only.
        if size != (batch or 1):
            raise Bug(f"{size} statuses for a batch of {batch or 1}")
        for t in outputs:
            if t.dtype != case.dtype:
                raise Bug(f"output dtype {t.dtype}, inputs {case.dtype}")
        keep_axis = batch is not None or case.options.get("empty_batch", False)
        expected = [(size, k) if keep_axis else (k,) for k in (n, p, m)]
        got = [tuple(t.shape) for t in outputs]
        if got != expected:
            raise Bug(f"output shapes {got}, expected {expected}")
    Z, L, U = (t.detach().double().reshape(size, -1).numpy() for t in outputs)
    for i, status in enumerate(statuses):
        if status != "optimal":
            if case.options.get("on_failure") == "nan" and not (np.all(np.isnan(Z[i])) and np.all(np.isnan(U[i]))):
                raise Bug(f"problem {i}: status {status} with on_failure='nan' but outputs are not NaN")
            continue
        for label, x in (("z", Z[i]), ("lam", L[i]), ("mu", U[i])):
            if not np.all(np.isfinite(x)):
                raise Bug(f"problem {i}: status 'optimal' but {label} = {x}")
        # Solver-tolerance negatives (a bridged solver's raw duals with
        # polish=False, e.g. HiGHS's -2e-7) are not flagged; sign errors are.
        tol = 1e-6 * (1.0 + np.abs(U[i]).max(initial=0.0)) + 10 * case.options.get("eps_abs", 1e-6)
        if np.any(U[i] < -tol):
            if not (SKIP_KNOWN and case.options.get("dual_available") is False and layer.degenerate[i]):
                raise Bug(f"problem {i}: status 'optimal' but mu has negative entries {U[i]}")
        if case.finite and case.mutation is None and case.dtype == torch.float64:
            # Pinned: daqp's false 'optimal'; polish=False returns the unchecked point.
            # Reported, not pinned: eps_active=1.0 makes rows with slack < 1
            # "active" by definition, and recovered duals then break complementarity.
            known = (case.options.get("qp_solver") == "daqp" or case.options.get("polish") is False
                     or case.options.get("eps_active", 1e-5) >= 0.5)
            if not (SKIP_KNOWN and known):
                _check_kkt(case, i, Z[i], L[i], U[i])


def _check_kkt(case: Case, i, z, lam, mu):
    """Gross KKT violations on well-formed finite problems (a loose bound: wrong
    answers, not tolerance effects)."""
    pr = case.problems[i if case.batch is not None else 0]
    get = lambda name: pr[name] if (case.batch is None or case.batched[name]) else case.problems[0][name]  # noqa
    P, q, C, d, A, b = (get(name) for name in NAMES)
    scale = 1.0 + max(float(np.abs(x).max(initial=0.0)) for x in (P, q, C, d, A, b, z, lam, mu))
    tol = 1e-4 * scale + 100 * case.options.get("eps_abs", 1e-6)
    residuals = {
        "stationarity": (np.abs(P @ z + q + A.T @ lam + C.T @ mu).max(initial=0.0), tol),
        "inequalities": (np.maximum(C @ z - d, 0).max(initial=0.0), tol),
        "equalities": (np.abs(A @ z - b).max(initial=0.0), tol),
        "complementarity": (np.abs(mu * (C @ z - d)).max(initial=0.0), tol * scale),
    }
    bad = {k: v for k, (v, limit) in residuals.items() if v > limit}
    if bad:
        raise Bug(f"problem {i}: status 'optimal' but KKT residuals {bad} > {tol:g}")


def _check_gradients(case: Case, layer):
    if not case.finite or case.mutation is not None:
        return
    for k, leaf in enumerate(case.leaves):
        if leaf.grad is not None and not torch.all(torch.isfinite(leaf.grad)):
            raise Bug(f"non-finite gradient on leaf {k} (statuses {layer.statuses}): {leaf.grad}")


def run(case: Case):
    try:
        layer = dqp.QPLayer(**case.options)
    except FINE as error:
        if not str(error).strip():
            raise Bug(f"{type(error).__name__} without a message") from error
        return "rejected option"
    try:
        outputs = layer(*case.args)
        if case.twice:
            outputs = layer(*case.args)
    except Exception as error:
        if _fine(error):
            return f"{type(error).__name__}: {str(error)[:70]}"
        raise
    _check_outputs(case, layer, outputs)
    weights = torch.linspace(0.5, 1.5, 3, dtype=torch.float64)
    loss = sum(w * torch.nan_to_num(t.double(), nan=0.0, posinf=0.0, neginf=0.0).sum()
               for w, t in zip(weights, outputs))
    if loss.requires_grad:
        try:
            loss.backward()
        except Exception as error:
            if _fine(error):
                return f"backward {type(error).__name__}"
            raise
        _check_gradients(case, layer)
    return "ok " + ",".join(sorted(set(layer.statuses)))


# Bugs already pinned in tests/python/test_fuzz_regressions.py: with
# DQP_FUZZ_SKIP_KNOWN=1 the harness skips inputs that would hit them (and, in
# _check_outputs, the verdicts of the pinned wrong-answer bugs), so a run can
# get past them to new ones.
NATIVE = ("proxqp", "qpoases")


def known_bug(case: Case):
    for arg in case.args:
        if isinstance(arg, (list, tuple)) and len(arg) == 0:
            return "empty list for a matrix: IndexError"
    for name, arg in zip(NAMES, case.args):
        if name in "qdb" and isinstance(arg, torch.Tensor) and arg.layout != torch.strided:
            return "sparse tensor for a vector: RuntimeError"
    if case.options.get("qp_solver") not in NATIVE and case.shape[0] == 0:
        return "bridged solver called on n = 0 before validation"
    if case.options.get("qp_solver") == "qpalm" and any(
            not np.array_equal(pr["P"], pr["P"].T) or not np.all(np.abs(pr["P"]) < 1e10) for pr in case.problems):
        return "qpalm called on an invalid P before validation (segfault)"
    return None


def apply_known_workarounds(case: Case) -> None:
    """Settings that avoid pinned bugs without skipping the input."""
    if case.options.get("qp_solver") in NATIVE and "max_iter" not in case.options:
        case.options["max_iter"] = 200      # ProxQP hangs for minutes on tiny nonconvex / badly scaled problems


def TestOneInput(data: bytes):
    try:
        case = decode(data)
    except Exception:  # noqa: BLE001 - the harness could not build this input (torch refused it): skip
        if VERBOSE:
            raise
        return
    if SKIP_KNOWN:
        if known_bug(case):
            return
        apply_known_workarounds(case)
    try:
        verdict = run(case)
    except BaseException:
        sys.stderr.write("\n==== dqp fuzz: failing case ====\n" + repr(case) + "\n")
        raise
    if VERBOSE:
        print(verdict, case.options, case.shape, case.batch, case.sparse, case.chaos, case.mutation)


def _instrument_harness():
    # Coverage of the decoder too: the fuzzer learns which bytes select what.
    for obj in list(globals().values()):
        if callable(obj) and getattr(obj, "__module__", None) == __name__ and hasattr(obj, "__code__"):
            atheris.instrument_func(obj)


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--describe":
        # The decoded case of one input (for reproducers of crashes by signal).
        with open(sys.argv[2], "rb") as f:
            case = decode(f.read())
        print(repr(case))
        label = known_bug(case)
        if label:
            print(f"known bug: {label}")
        return
    _instrument_harness()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
