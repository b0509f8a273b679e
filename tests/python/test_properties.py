"""Property-based tests (hypothesis) of the torch layer's invariances.

Every problem is built from a chosen primal-dual solution (conftest.make_qp):
strict complementarity holds (active duals and inactive slacks in [0.5, 1.5]),
P is well conditioned, and the active rows plus equality rows number at most
n, so the reduced KKT matrix is generically nonsingular and the derivative is
unique. Properties:

* a batch equals a loop of single problems (outputs and gradients), with any
  subset of the matrices shared by the batch;
* permuting constraint rows permutes μ and the gradients of C and d;
* scaling a row (C_i, d_i) by s > 0 divides μ_i by s, leaves z unchanged and
  divides the row's gradients by s; normalize_constraints=True gives the same;
* a redundant, strictly inactive row changes nothing, and its own μ and
  gradients are exactly zero;
* float32 inputs give float32 outputs within tolerance of float64;
* the gradient of the optimal value is the envelope theorem's
  (∇q = z, ∇d = −μ, ∇b = −λ, ∇P = ½zzᵀ, ∇C = μzᵀ, ∇A = λzᵀ).

Hypothesis runs derandomized (a fixed sequence of examples, reproducible in
CI) with a bounded number of examples per property.
"""
from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import dqp

from conftest import SparseBuilder, make_qp, tensor

NAMES = "PqCdAb"
TOL = 1e-8

# CI: a fixed, derandomized sequence of examples. A longer local hunt:
# DQP_PROPERTY_EXAMPLES=2000 DQP_PROPERTY_RANDOM=1 pytest tests/python/test_properties.py
PROPERTY = settings(max_examples=int(os.environ.get("DQP_PROPERTY_EXAMPLES", "100")), deadline=None,
                    derandomize=os.environ.get("DQP_PROPERTY_RANDOM", "0") != "1", database=None,
                    print_blob=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DENSE_SOLVERS = ("proxqp", "qpoases", "osqp")
SPARSE_SOLVERS = ("proxqp", "osqp")


# ---------------------------------------------------------------------------
# Strategies
# ---------------------------------------------------------------------------

@st.composite
def dims(draw, min_m=0, max_n=6, max_m=7):
    """(n, m, p, n_active) with n_active + p <= n: a nonsingular reduced KKT matrix."""
    n = draw(st.integers(1, max_n))
    p = draw(st.integers(0, min(2, n - 1)))
    m = draw(st.integers(min_m, max_m))
    n_active = draw(st.integers(0, min(m, n - p)))
    return n, m, p, n_active


def well_posed(qp, tol=1e-2):
    """LICQ with margin: the active rows [A; C_J] have full row rank, well conditioned.

    (Sparse masks can make active rows dependent, e.g. when a column of C is zero.)
    """
    rows = np.vstack([qp["A"], qp["C"][qp["J"]]])
    if rows.shape[0] == 0:
        return True
    return np.linalg.svd(rows, compute_uv=False).min() > tol * max(1.0, np.abs(rows).max())


@st.composite
def problems(draw, min_m=0, storages=("dense", "sparse")):
    """A (qp dict, storage, qp_solver) triple."""
    n, m, p, n_active = draw(dims(min_m=min_m))
    storage = draw(st.sampled_from(storages))
    solver = draw(st.sampled_from(SPARSE_SOLVERS if storage == "sparse" else DENSE_SOLVERS))
    seed = draw(st.integers(0, 2 ** 20))
    qp = make_qp(n, m, p, seed, n_active, sparse=(storage == "sparse"))
    assume(well_posed(qp))
    return qp, storage, solver


# ---------------------------------------------------------------------------
# Running the layer on a problem, gradients as dense arrays
# ---------------------------------------------------------------------------

class Inputs:
    """The layer's six inputs of one problem as leaves; sparse matrices are
    SparseBuilder tensors whose values are the leaves. ``grad(name)`` gives the
    gradient as a dense array of the parameter's shape."""

    def __init__(self, qp, storage="dense", dtype=torch.float64, layout="coo", seed=0):
        self.builders, self.leaves, self.args = {}, {}, []
        for name in NAMES:
            x = np.asarray(qp[name], dtype=np.float64)
            if storage == "sparse" and name in "PCA":
                builder = SparseBuilder(x, layout, seed)
                values = builder.values(dtype=dtype)
                self.builders[name], self.leaves[name] = builder, values
                self.args.append(builder(values))
            else:
                leaf = tensor(x, dtype)
                self.leaves[name] = leaf
                self.args.append(leaf)

    def dense(self, name):
        """The parameter as a dense tensor, differentiable in the leaf."""
        leaf = self.leaves[name]
        if name not in self.builders:
            return leaf
        b = self.builders[name]
        index = (torch.from_numpy(b.rows.astype(np.int64)), torch.from_numpy(b.cols.astype(np.int64)))
        return torch.zeros(b.shape, dtype=leaf.dtype).index_put(index, leaf, accumulate=True)

    def grad(self, name):
        g = self.leaves[name].grad
        assert g is not None, f"no gradient reached {name}"
        assert g.dtype == self.leaves[name].dtype
        g = g.detach().double().numpy()
        if name not in self.builders:
            return g
        b = self.builders[name]
        out = np.zeros(b.shape)
        np.add.at(out, (b.rows, b.cols), g)
        return out

    def grads(self):
        return {name: self.grad(name) for name in NAMES}


def weights(n, p, m, seed):
    """Loss weights (for z, λ, μ) touching every output."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n), rng.standard_normal(p), rng.standard_normal(m)


def linear_loss(z, lam, mu, w):
    wz, wl, wm = (torch.as_tensor(x, dtype=z.dtype) for x in w)
    return (z * wz).sum() + (lam * wl).sum() + (mu * wm).sum() + 0.25 * (z ** 2).sum()


def solve(qp, storage, w, dtype=torch.float64, layer=None, **options):
    """Forward and backward of one problem: ((z, λ, μ) as float64 numpy, dense gradients, layer)."""
    layer = layer if layer is not None else dqp.QPLayer(**options)
    inputs = Inputs(qp, storage, dtype)
    z, lam, mu = layer(*inputs.args)
    assert layer.statuses == ["optimal"]
    assert z.dtype == lam.dtype == mu.dtype == dtype
    linear_loss(z, lam, mu, w).backward()
    outs = tuple(x.detach().double().numpy() for x in (z, lam, mu))
    return outs, inputs.grads(), layer


def assert_close(actual, expected, what, atol=TOL, rtol=1e-7):
    np.testing.assert_allclose(actual, expected, atol=atol, rtol=rtol, err_msg=what)


def assert_same_results(a, b, what, atol=TOL, rtol=1e-7, skip=()):
    (outs_a, grads_a), (outs_b, grads_b) = a, b
    for label, x, y in zip(("z", "lam", "mu"), outs_a, outs_b):
        if label not in skip:
            assert_close(x, y, f"{what}: {label}", atol, rtol)
    for name in NAMES:
        if name not in skip:
            assert_close(grads_a[name], grads_b[name], f"{what}: gradient of {name}", atol, rtol)


@pytest.fixture(autouse=True)
def _no_degeneracy_expected():
    # Every problem here is nondegenerate: a degeneracy warning is a failure.
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="dqp: .* degenerate", category=RuntimeWarning)
        yield


# ---------------------------------------------------------------------------
# Sanity of the generator: the layer finds the chosen solution
# ---------------------------------------------------------------------------

@PROPERTY
@given(problems())
def test_layer_recovers_the_chosen_primal_dual_solution(case):
    qp, storage, solver = case
    (z, lam, mu), _, layer = solve(qp, storage, weights(len(qp["z"]), len(qp["lam"]), len(qp["mu"]), 0),
                                   qp_solver=solver)
    assert_close(z, qp["z"], "z", atol=1e-7)
    assert_close(lam, qp["lam"], "lam", atol=1e-7)
    assert_close(mu, qp["mu"], "mu", atol=1e-7)
    assert list(np.flatnonzero(layer.active)) == list(qp["J"])
    assert layer.degenerate == [False]
    inactive = np.setdiff1d(np.arange(len(mu)), qp["J"])
    assert np.all(mu[inactive] == 0.0), "μ must be exactly zero off the active set"


# ---------------------------------------------------------------------------
# Batch == loop of single problems
# ---------------------------------------------------------------------------

@st.composite
def batches(draw):
    n, m, p, n_active = draw(dims(max_n=5, max_m=5))
    size = draw(st.integers(1, 4))
    storage = draw(st.sampled_from(("dense", "sparse")))
    solver = draw(st.sampled_from(SPARSE_SOLVERS if storage == "sparse" else DENSE_SOLVERS))
    shared = draw(st.sets(st.sampled_from("PCAq")))
    if size == 1:
        # A (1, k) vector beside unbatched matrices is read as an unbatched row
        # vector (documented in _inputs._vector): keep one batched matrix.
        shared.discard("P")
    n_threads = draw(st.sampled_from((1, 2)))
    seed = draw(st.integers(0, 2 ** 20))
    sparse = storage == "sparse"
    first = make_qp(n, m, p, seed, n_active, sparse=sparse)
    items = [first]
    for i in range(1, size):
        given_ = {k: first[k] for k in "PCA" if k in shared}
        items.append(make_qp(n, m, p, seed + 7919 * i, n_active, sparse=sparse, **given_))
    assume(all(well_posed(qp) for qp in items))
    if "q" in shared:
        # A shared q: the problems stay feasible and strictly convex, their
        # solution is just no longer the generator's.
        for qp in items[1:]:
            qp["q"] = first["q"]
    return items, storage, solver, shared, n_threads


@PROPERTY
@given(batches())
def test_batch_equals_loop_of_single_problems(case):
    items, storage, solver, shared, n_threads = case
    n, p, m = (len(items[0][k]) for k in ("z", "lam", "mu"))
    w = weights(n, p, m, 1)
    sparse = storage == "sparse"

    loop = [solve(qp, storage, w, qp_solver=solver)[:2] for qp in items]

    layer = dqp.QPLayer(qp_solver=solver, n_threads=n_threads)
    leaves, args, builders = {}, [], {}
    for name in NAMES:
        if name in shared:
            if sparse and name in "PCA":
                builders[name] = SparseBuilder(items[0][name], "csr")
                leaves[name] = builders[name].values()
                args.append(builders[name](leaves[name]))
            else:
                leaves[name] = tensor(items[0][name])
                args.append(leaves[name])
        elif sparse and name in "PCA":
            bs = [SparseBuilder(qp[name], "coo", seed=i) for i, qp in enumerate(items)]
            vs = [b.values() for b in bs]
            builders[name], leaves[name] = bs, vs
            args.append([b(v) for b, v in zip(bs, vs)])
        else:
            leaves[name] = tensor(np.stack([qp[name] for qp in items]))
            args.append(leaves[name])
    z, lam, mu = layer(*args)
    assert z.shape == (len(items), n) and lam.shape == (len(items), p) and mu.shape == (len(items), m)
    assert layer.statuses == ["optimal"] * len(items)
    linear_loss(z, lam, mu, w).backward()

    def dense_grad(builder, values):
        out = np.zeros(builder.shape)
        np.add.at(out, (builder.rows, builder.cols), values.grad.numpy())
        return out

    for i, (outs, grads) in enumerate(loop):
        for label, x, y in zip(("z", "lam", "mu"), (z, lam, mu), outs):
            assert_close(x[i].detach().numpy(), y, f"{label}[{i}]", atol=1e-10, rtol=0)
        for name in NAMES:
            if name in shared:
                continue
            if sparse and name in "PCA":
                g = dense_grad(builders[name][i], leaves[name][i])
            else:
                g = leaves[name].grad[i].numpy()
            assert_close(g, grads[name], f"gradient of {name}[{i}]", atol=1e-10, rtol=0)
    # Shared parameters receive the sum of the per-problem gradients.
    for name in shared:
        if sparse and name in "PCA":
            g = dense_grad(builders[name], leaves[name])
        else:
            g = leaves[name].grad.numpy()
        expected = sum(grads[name] for _, grads in loop)
        assert_close(g, expected, f"gradient of shared {name}", atol=1e-9, rtol=1e-9)


# ---------------------------------------------------------------------------
# Permuting constraint rows
# ---------------------------------------------------------------------------

def _permuted(qp, perm):
    out = dict(qp)
    out["C"], out["d"], out["mu"] = qp["C"][perm], qp["d"][perm], qp["mu"][perm]
    return out


@PROPERTY
@given(problems(min_m=2), st.randoms(use_true_random=False))
def test_permuting_constraint_rows_permutes_mu_and_the_gradients_of_C_and_d(case, random):
    qp, storage, solver = case
    m = len(qp["mu"])
    perm = np.array(random.sample(range(m), m))
    wz, wl, wm = weights(len(qp["z"]), len(qp["lam"]), m, 2)
    base = solve(qp, storage, (wz, wl, wm), qp_solver=solver)
    moved = solve(_permuted(qp, perm), storage, (wz, wl, wm[perm]), qp_solver=solver)
    (z0, l0, mu0), g0 = base[:2]
    (z1, l1, mu1), g1 = moved[:2]
    assert_close(z1, z0, "z")
    assert_close(l1, l0, "lam")
    assert_close(mu1, mu0[perm], "mu")
    assert np.all(mu1[mu0[perm] == 0] == 0)
    for name in "PqAb":
        assert_close(g1[name], g0[name], f"gradient of {name}")
    assert_close(g1["C"], g0["C"][perm], "gradient of C")
    assert_close(g1["d"], g0["d"][perm], "gradient of d")


# ---------------------------------------------------------------------------
# Scaling constraint rows
# ---------------------------------------------------------------------------

@PROPERTY
@given(problems(min_m=1), st.data())
def test_scaling_a_constraint_row_divides_its_dual_and_leaves_z_unchanged(case, data):
    qp, storage, solver = case
    m = len(qp["mu"])
    rows = data.draw(st.sets(st.integers(0, m - 1), min_size=1), label="rows")
    exponents = data.draw(st.lists(st.floats(-3, 3), min_size=m, max_size=m), label="log10 s")
    s = np.ones(m)
    for i in rows:
        s[i] = 10.0 ** exponents[i]
    scaled = dict(qp)
    scaled["C"], scaled["d"] = qp["C"] * s[:, None], qp["d"] * s
    wz, wl, wm = weights(len(qp["z"]), len(qp["lam"]), m, 3)
    # The same loss in the scaled problem's terms: μ = s μ'.
    results = {}
    for normalize in (False, True):
        if solver == "osqp" and not normalize and np.abs(np.log10(s)).max() > 1:
            # OSQP (eps_rel=0) stalls on rows scaled beyond 10^±1 and reports a
            # failed solve, whatever max_iter: that is what normalize_constraints is for.
            continue
        base = solve(qp, storage, (wz, wl, wm), qp_solver=solver, normalize_constraints=normalize)[:2]
        moved = solve(scaled, storage, (wz, wl, wm * s), qp_solver=solver, normalize_constraints=normalize)[:2]
        (z0, l0, mu0), g0 = base
        (z1, l1, mu1), g1 = moved
        what = f"normalize_constraints={normalize}"
        assert_close(z1, z0, f"{what}: z", atol=1e-7, rtol=1e-7)
        assert_close(l1, l0, f"{what}: lam", atol=1e-7, rtol=1e-7)
        assert_close(mu1 * s, mu0, f"{what}: mu", atol=1e-7, rtol=1e-7)
        assert np.all(mu1[mu0 == 0] == 0)
        for name in "PqAb":
            assert_close(g1[name], g0[name], f"{what}: gradient of {name}", atol=1e-7, rtol=1e-6)
        assert_close(g1["C"] * s[:, None], g0["C"], f"{what}: gradient of C", atol=1e-7, rtol=1e-6)
        assert_close(g1["d"] * s, g0["d"], f"{what}: gradient of d", atol=1e-7, rtol=1e-6)
        results[normalize] = (base, moved)
    # normalize_constraints changes the solve, not the answer.
    if False not in results:
        return
    assert_same_results(results[True][0], results[False][0], "normalized vs not, original rows", atol=1e-7)
    assert_same_results(results[True][1], results[False][1], "normalized vs not, scaled rows", atol=1e-7)


# ---------------------------------------------------------------------------
# A redundant, strictly inactive constraint
# ---------------------------------------------------------------------------

@PROPERTY
@given(problems(), st.integers(0, 2 ** 16), st.floats(0.5, 10.0), st.data())
def test_redundant_strictly_inactive_row_changes_nothing_and_gets_exactly_zero(case, seed, slack, data):
    qp, storage, solver = case
    n, m = len(qp["z"]), len(qp["mu"])
    where = data.draw(st.integers(0, m), label="insert at")
    rng = np.random.default_rng(seed)
    row = rng.standard_normal(n)
    if storage == "sparse":
        row[rng.random(n) < 0.5] = 0.0
        row[rng.integers(n)] = rng.standard_normal()
    extra = dict(qp)
    extra["C"] = np.insert(qp["C"], where, row, axis=0)
    extra["d"] = np.insert(qp["d"], where, row @ qp["z"] + slack)
    wz, wl, wm = weights(n, len(qp["lam"]), m, 4)
    w_new = 1.0 + rng.random()
    base = solve(qp, storage, (wz, wl, wm), qp_solver=solver)[:2]
    more = solve(extra, storage, (wz, wl, np.insert(wm, where, w_new)), qp_solver=solver)[:2]
    (z0, l0, mu0), g0 = base
    (z1, l1, mu1), g1 = more
    keep = np.delete(np.arange(m + 1), where)
    assert mu1[where] == 0.0, "the inactive row's dual must be exactly zero"
    assert np.all(g1["C"][where] == 0.0), "the inactive row of C must get an exactly zero gradient"
    assert g1["d"][where] == 0.0, "the inactive entry of d must get an exactly zero gradient"
    assert_close(z1, z0, "z")
    assert_close(l1, l0, "lam")
    assert_close(mu1[keep], mu0, "mu of the other rows")
    for name in "PqAb":
        assert_close(g1[name], g0[name], f"gradient of {name}")
    assert_close(g1["C"][keep], g0["C"], "gradient of the other rows of C")
    assert_close(g1["d"][keep], g0["d"], "gradient of the other entries of d")


# ---------------------------------------------------------------------------
# float32 within tolerance of float64
# ---------------------------------------------------------------------------

def kkt_condition(qp):
    """Condition number of the reduced KKT matrix [[P, Gᵀ], [G, 0]], G = [A; C_J]."""
    G = np.vstack([qp["A"], qp["C"][qp["J"]]])
    k = G.shape[0]
    K = np.block([[qp["P"], G.T], [G, np.zeros((k, k))]])
    return np.linalg.cond(K)


@PROPERTY
@given(problems())
def test_float32_is_within_tolerance_of_float64(case):
    qp, storage, solver = case
    w = weights(len(qp["z"]), len(qp["lam"]), len(qp["mu"]), 5)
    o32, g32, layer32 = solve(qp, storage, w, dtype=torch.float32, qp_solver=solver)
    o64, g64, layer64 = solve(qp, storage, w, dtype=torch.float64, qp_solver=solver)
    assert np.array_equal(layer32.active, layer64.active)
    # dqp computes in float64: float32 inputs give the float64 answer of the
    # float32-rounded problem, rounded to float32.
    rounded = {k: (v.astype(np.float32).astype(np.float64) if k in NAMES else v) for k, v in qp.items()}
    o_r, g_r, _ = solve(rounded, storage, tuple(x.astype(np.float32).astype(np.float64) for x in w),
                        dtype=torch.float64, qp_solver=solver)
    for label, a, b in zip(("z", "lam", "mu"), o32, o_r):
        scale = max(1.0, np.abs(b).max(initial=0.0))
        assert_close(a, b, f"float32 {label} vs float64 of the rounded data", atol=1e-6 * scale, rtol=1e-6)
    for name in NAMES:
        scale = max(1.0, np.abs(g_r[name]).max(initial=0.0))
        assert_close(g32[name], g_r[name], f"float32 gradient of {name} vs float64 of the rounded data",
                     atol=1e-5 * scale, rtol=1e-5)
    # Against the float64 data: the rounding of the data, amplified at most by
    # the reduced KKT matrix's condition number.
    tol = max(1e-5, 1e-6 * kkt_condition(qp))
    for label, a, b in zip(("z", "lam", "mu"), o32, o64):
        assert_close(a, b, f"float32 {label}", atol=tol * max(1.0, np.abs(b).max(initial=0.0)), rtol=tol)
    for name in NAMES:
        scale = max(1.0, np.abs(g64[name]).max(initial=0.0))
        assert_close(g32[name], g64[name], f"float32 gradient of {name}", atol=10 * tol * scale, rtol=10 * tol)


# ---------------------------------------------------------------------------
# Envelope theorem: the gradient of the optimal value
# ---------------------------------------------------------------------------

@PROPERTY
@given(problems())
def test_gradient_of_the_optimal_value_is_the_envelope_theorem(case):
    qp, storage, solver = case
    inputs = Inputs(qp, storage)
    layer = dqp.QPLayer(qp_solver=solver)
    z, lam, mu = layer(*inputs.args)
    assert layer.statuses == ["optimal"]
    P, q = inputs.dense("P"), inputs.dense("q")
    value = 0.5 * z @ P @ z + q @ z
    value.backward()
    z, lam, mu = (x.detach().numpy() for x in (z, lam, mu))
    expected = {"q": z, "d": -mu, "b": -lam, "P": 0.5 * np.outer(z, z), "C": np.outer(mu, z),
                "A": np.outer(lam, z)}
    for name in NAMES:
        g = inputs.grad(name)
        if name in inputs.builders:
            # A sparse matrix's gradient lives on its stored entries only.
            b = inputs.builders[name]
            mask = np.zeros(b.shape, dtype=bool)
            mask[b.rows, b.cols] = True
            assert np.all(g[~mask] == 0)
            assert_close(g[mask], expected[name][mask], f"gradient of the optimal value in {name}", atol=1e-7)
        else:
            assert_close(g, expected[name], f"gradient of the optimal value in {name}", atol=1e-7)
