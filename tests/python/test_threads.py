"""Concurrent calls from several Python threads.

Forward and backward run concurrently (the native core releases the GIL, the
qpsolvers bridge solves in Python) into one shared layer or into one layer per
thread: every call gives exactly the result of the same call made serially,
and nothing crashes. Dense and sparse storage, native ProxQP / qpOASES and the
OSQP bridge, single problems and batches (with the layer's own batch thread
pool nested inside the caller's threads).
"""
from __future__ import annotations

import threading
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

import dqp

from conftest import SparseBuilder, make_qp, tensor

NAMES = "PqCdAb"
THREADS = 4
CALLS = 20          # per thread
PROBLEMS = 8

CASES = [
    ("dense", "proxqp"),
    ("dense", "qpoases"),
    ("dense", "osqp"),
    ("sparse", "proxqp"),
    ("sparse", "osqp"),
]


def _problems(storage, batch=None):
    sparse = storage == "sparse"
    out = []
    for k in range(PROBLEMS):
        if batch is None:
            out.append(make_qp(5, 6, 1, seed=900 + k, n_active=2, sparse=sparse))
        else:
            out.append([make_qp(5, 6, 1, seed=950 + 10 * k + i, n_active=2, sparse=sparse) for i in range(batch)])
    return out


def _call(layer, item, storage):
    """Forward + backward of one problem (a dict) or one batch (a list of dicts).

    Returns (z, lam, mu) and the gradients (for sparse matrices: of the values)
    as numpy arrays, in a fixed order.
    """
    batch = isinstance(item, list)
    problems = item if batch else [item]
    leaves, args = [], []
    for name in NAMES:
        if storage == "sparse" and name in "PCA":
            builders = [SparseBuilder(qp[name], "coo", seed=3) for qp in problems]
            values = [b.values() for b in builders]
            leaves.extend(values)
            matrices = [b(v) for b, v in zip(builders, values)]
            args.append(matrices if batch else matrices[0])
        else:
            x = np.stack([qp[name] for qp in problems]) if batch else problems[0][name]
            leaf = tensor(x)
            leaves.append(leaf)
            args.append(leaf)
    z, lam, mu = layer(*args)
    wz = torch.linspace(1.0, 2.0, z.shape[-1], dtype=z.dtype)
    wm = torch.linspace(-1.0, 1.0, mu.shape[-1], dtype=mu.dtype)
    ((z * wz).sum() + (lam ** 2).sum() + (mu * wm).sum()).backward()
    return [x.detach().numpy().copy() for x in (z, lam, mu)] + [x.grad.numpy().copy() for x in leaves]


def _assert_identical(got, expected, what):
    assert len(got) == len(expected), what
    for k, (a, b) in enumerate(zip(got, expected)):
        # Same inputs, same deterministic code: bitwise the same answer.
        np.testing.assert_array_equal(a, b, err_msg=f"{what}: array {k}")


def _run_concurrently(task, jobs):
    """Run task(job) for every job on THREADS threads started together; results in job order."""
    barrier = threading.Barrier(THREADS)

    def start(_):
        barrier.wait()

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        list(pool.map(start, range(THREADS)))      # all workers alive before the first job
        return list(pool.map(task, jobs))


@pytest.mark.parametrize("batch", [None, 3], ids=["single", "batch3"])
@pytest.mark.parametrize("sharing", ["one_layer", "layer_per_call"])
@pytest.mark.parametrize("storage,solver", CASES, ids=[f"{s}-{q}" for s, q in CASES])
def test_concurrent_forward_backward_equals_serial(storage, solver, sharing, batch):
    if solver == "qpoases" and storage == "sparse":
        pytest.skip("qpOASES is dense only")
    options = dict(qp_solver=solver)
    if batch is not None:
        options["n_threads"] = 2           # the layer's own pool, inside the callers' threads
    items = _problems(storage, batch)
    serial = [_call(dqp.QPLayer(**options), item, storage) for item in items]

    shared = dqp.QPLayer(**options)

    def task(k):
        layer = shared if sharing == "one_layer" else dqp.QPLayer(**options)
        return k, _call(layer, items[k % PROBLEMS], storage)

    results = _run_concurrently(task, range(THREADS * CALLS))
    for k, result in results:
        _assert_identical(result, serial[k % PROBLEMS], f"call {k} (problem {k % PROBLEMS})")


def test_concurrent_calls_with_mixed_storage_and_solvers_into_separate_layers():
    layers = {case: dqp.QPLayer(qp_solver=case[1]) for case in CASES}
    items = {case: _problems(case[0]) for case in CASES}
    serial = {case: [_call(dqp.QPLayer(qp_solver=case[1]), item, case[0]) for item in items[case]]
              for case in CASES}

    def task(k):
        case = CASES[k % len(CASES)]
        j = (k // len(CASES)) % PROBLEMS
        return case, j, _call(layers[case], items[case][j], case[0])

    for case, j, result in _run_concurrently(task, range(THREADS * CALLS)):
        _assert_identical(result, serial[case][j], f"{case} problem {j}")


def test_concurrent_failures_raise_in_their_own_thread_only():
    # Infeasible and feasible problems interleaved: each thread sees its own outcome.
    P = torch.eye(2, dtype=torch.float64)
    q = torch.zeros(2, dtype=torch.float64)
    bad = (torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64),
           torch.tensor([-1.0, -1.0], dtype=torch.float64))
    good = make_qp(2, 2, 0, seed=5, n_active=1)
    layer = dqp.QPLayer()

    def task(k):
        if k % 2:
            with pytest.raises(dqp.QPSolveError, match="primal_infeasible"):
                layer(P, q, *bad)
            return None
        z, _, _ = layer(*(tensor(good[name], requires_grad=False) for name in NAMES))
        return z.numpy()

    for k, z in enumerate(_run_concurrently(task, range(THREADS * CALLS))):
        if k % 2 == 0:
            np.testing.assert_allclose(z, good["z"], atol=1e-9)


# ---------------------------------------------------------------------------
# Bridged solves and the process-wide warning filters (regression tests)
#
# _function._forward used to wrap the bridged solves in
# warnings.catch_warnings() + simplefilter("ignore"). catch_warnings saves and
# restores the process-wide filter list and is not thread-safe: overlapping
# calls from two threads (a) left the "ignore" filter installed for good,
# (b) swallowed warnings issued by any other thread meanwhile (dqp's own
# failure warnings included), and (c) ran a solve with the caller's filters
# instead of "ignore" in one thread only. Fixed in 5f9ae8d (the bridge no
# longer touches the filters). The interleavings are forced deterministically
# by gating the bridge's solve.
# ---------------------------------------------------------------------------

class _Gate:
    """Runs a per-thread hook inside dqp's bridged solve (_bridge.solve)."""

    def __init__(self, monkeypatch):
        from dqp import _bridge
        self.hooks = {}
        real = _bridge.solve

        def solve(*args, **kwargs):
            hook = self.hooks.get(threading.get_ident())
            if hook is not None:
                hook()
            return real(*args, **kwargs)

        monkeypatch.setattr(_bridge, "solve", solve)

    def thread(self, hook, body):
        def run():
            self.hooks[threading.get_ident()] = hook
            body()
        t = threading.Thread(target=run)
        t.start()
        return t


def _osqp_call(layer, qp, errors):
    try:
        layer(*(tensor(qp[name], requires_grad=False) for name in NAMES))
    except Exception as error:  # noqa: BLE001 - reported by the test
        errors.append(error)


TIMEOUT = 10.0


def test_overlapping_bridged_calls_leave_the_warning_filters_untouched(monkeypatch):
    gate = _Gate(monkeypatch)
    qp = make_qp(4, 5, 1, seed=81, n_active=2)
    layer = dqp.QPLayer(qp_solver="osqp")
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    errors = []
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        before = list(warnings.filters)

        def body_a():
            _osqp_call(layer, qp, errors)
            a_done.set()

        # A enters its solve, then B enters; A leaves first, then B.
        ta = gate.thread(lambda: (a_in.set(), b_in.wait(TIMEOUT)), body_a)
        assert a_in.wait(TIMEOUT)
        tb = gate.thread(lambda: (b_in.set(), a_done.wait(TIMEOUT)), lambda: _osqp_call(layer, qp, errors))
        ta.join(TIMEOUT), tb.join(TIMEOUT)
        after = list(warnings.filters)
    assert not errors, errors
    assert after == before, f"an overlapping bridged call left {after[0]} in the filters"


def test_failure_warning_is_not_swallowed_by_a_bridged_solve_in_another_thread(monkeypatch):
    gate = _Gate(monkeypatch)
    qp = make_qp(4, 5, 1, seed=81, n_active=2)
    bridged = dqp.QPLayer(qp_solver="osqp")
    failing = dqp.QPLayer(on_failure="warn")
    P = torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, -1.0], dtype=torch.float64)
    inside, release = threading.Event(), threading.Event()
    shown, errors = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, *args, **kwargs: shown.append(str(message))
        t = gate.thread(lambda: (inside.set(), release.wait(TIMEOUT)), lambda: _osqp_call(bridged, qp, errors))
        try:
            assert inside.wait(TIMEOUT)
            failing(P, torch.zeros(2, dtype=torch.float64), C, d)    # infeasible: must warn
        finally:
            release.set()
            t.join(TIMEOUT)
    assert not errors, errors
    assert any("primal_infeasible" in text for text in shown), "dqp's failure warning was swallowed"


def test_overlapping_bridged_calls_keep_the_callers_warning_policy(monkeypatch):
    # The bridge never touches the process-wide warning filters, so a solver's
    # warning obeys the caller's policy in every thread: under -W error it is
    # an error, reported as that problem's failed solve, in both threads.
    gate = _Gate(monkeypatch)
    qp = make_qp(4, 5, 1, seed=81, n_active=2)
    layer = dqp.QPLayer(qp_solver="osqp")
    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    errors = []

    import qpsolvers
    real_solve_problem = qpsolvers.solve_problem

    def solve_problem(*args, **kwargs):
        # A solver's harmless notice, which the bridge means to silence.
        warnings.warn("solver notice", PendingDeprecationWarning)
        return real_solve_problem(*args, **kwargs)

    monkeypatch.setattr(qpsolvers, "solve_problem", solve_problem)

    def hook_b():
        b_in.set()
        a_done.wait(TIMEOUT)

    def body_a():
        _osqp_call(layer, qp, errors)
        a_done.set()

    with warnings.catch_warnings():
        warnings.simplefilter("error")           # pytest -W error, python -W error
        ta = gate.thread(lambda: (a_in.set(), b_in.wait(TIMEOUT)), body_a)
        assert a_in.wait(TIMEOUT)
        tb = gate.thread(hook_b, lambda: _osqp_call(layer, qp, errors))
        ta.join(TIMEOUT), tb.join(TIMEOUT)
    assert len(errors) == 2, errors
    for error in errors:
        assert isinstance(error, dqp.QPSolveError) and "solver notice" in str(error), error
