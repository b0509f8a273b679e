"""Forward solvers through the qpsolvers bridge agree with the native ProxQP,
and the options that change the forward path (dual recovery, normalization,
refinement, linear solvers) leave outputs and gradients unchanged."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import dqp

from conftest import SparseBuilder, make_qp, tensor

# Bridge solvers tried when installed; osqp is required. A solver that is also
# native (piqp, daqp, highs) is reached through the bridge by its "qpsolvers:" name.
CANDIDATES = ["osqp", "clarabel", "qpsolvers:piqp", "cvxopt", "qpsolvers:daqp", "quadprog", "qpalm",
              "qpsolvers:highs", "scs", "ecos", "qpsolvers:proxqp"]
TOL = 1e-6


def _installed_bridge(name):
    solvers = dqp.available_solvers()
    bare = name.split(":", 1)[-1]
    if name.startswith("qpsolvers:"):
        import qpsolvers
        return bare in qpsolvers.available_solvers
    return bare in solvers and solvers[bare]["kind"] == "qpsolvers"


def _storage_params():
    params = []
    solvers = dqp.available_solvers()
    for name in CANDIDATES:
        if not _installed_bridge(name):
            continue
        info = solvers.get(name.split(":", 1)[-1], {"dense": True, "sparse": True})
        if name.startswith("qpsolvers:"):
            import qpsolvers
            bare = name.split(":", 1)[-1]
            info = {"dense": bare in qpsolvers.dense_solvers, "sparse": bare in qpsolvers.sparse_solvers}
        for storage in ("dense", "sparse"):
            if info[storage]:
                params.append(pytest.param(name, storage, id=f"{name}-{storage}"))
    return params


def test_osqp_is_available_through_the_bridge():
    info = dqp.available_solvers()
    assert "osqp" in info and info["osqp"]["kind"] == "qpsolvers"
    assert info["proxqp"]["kind"] == "native"


def _problem():
    return make_qp(5, 6, 2, seed=80, n_active=2)


def _run(qp, storage="dense", **options):
    """Outputs and gradients (wrt P, q, C, d, A, b; sparse: wrt values) of a fixed loss."""
    layer = dqp.QPLayer(**options)
    q, d, b = (tensor(qp[k]) for k in "qdb")
    if storage == "dense":
        P, C, A = (tensor(qp[k]) for k in "PCA")
        leaves, inputs = [P, C, A], [P, C, A]
    else:
        builders = [SparseBuilder(qp[k], layout) for k, layout in zip("PCA", ("csc", "coo", "csr"))]
        leaves = [bld.values() for bld in builders]
        inputs = [bld(v) for bld, v in zip(builders, leaves)]
    z, lam, mu = layer(inputs[0], q, inputs[1], d, inputs[2], b)
    w = torch.linspace(1.0, 2.0, z.shape[-1], dtype=torch.float64)
    (w @ z + (lam ** 2).sum() + mu.sum()).backward()
    outputs = [t.detach().numpy() for t in (z, lam, mu)]
    grads = [x.grad.numpy() for x in leaves + [q, d, b]]
    return outputs, grads, layer


def _assert_same(result, reference, atol=TOL):
    (out, grads, _), (out_ref, grads_ref, _) = result, reference
    for name, a, b in zip(("z", "lam", "mu"), out, out_ref):
        np.testing.assert_allclose(a, b, atol=atol, rtol=0, err_msg=name)
    for name, a, b in zip(("P", "C", "A", "q", "d", "b"), grads, grads_ref):
        np.testing.assert_allclose(a, b, atol=atol, rtol=0, err_msg=f"gradient of {name}")


@pytest.mark.parametrize("qp_solver,storage", _storage_params())
def test_bridge_solver_matches_native_proxqp(qp_solver, storage):
    qp = _problem()
    reference = _run(qp, storage)
    result = _run(qp, storage, qp_solver=qp_solver)
    assert result[2].statuses == ["optimal"]
    _assert_same(result, reference)
    np.testing.assert_allclose(result[0][0], qp["z"], atol=TOL)


@pytest.mark.parametrize("name, storage", [("piqp", "dense"), ("piqp", "sparse"), ("daqp", "dense"),
                                           ("highs", "dense"), ("highs", "sparse")])
def test_native_solver_is_native_and_its_qpsolvers_name_still_takes_the_bridge(name, storage, monkeypatch):
    from dqp import _bridge
    assert dqp.available_solvers()[name]["kind"] == "native"
    bridged = []
    real = _bridge.solve

    def spy(solver, *args, **kwargs):
        bridged.append(solver)
        return real(solver, *args, **kwargs)

    monkeypatch.setattr(_bridge, "solve", spy)
    qp = _problem()
    reference = _run(qp, storage)
    native = _run(qp, storage, qp_solver=name)
    assert bridged == []
    assert native[2].last_solutions[0].solver == name
    _assert_same(native, reference)
    qpsolvers = _bridge.qpsolvers_module()
    takes = qpsolvers.dense_solvers if storage == "dense" else qpsolvers.sparse_solvers
    if name in qpsolvers.available_solvers and name in takes:
        _assert_same(_run(qp, storage, qp_solver="qpsolvers:" + name), reference)
        assert bridged == [name]


@pytest.mark.parametrize("storage", ["dense", "sparse"])
@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_dual_available_false_recovers_the_same_duals_and_gradients(qp_solver, storage):
    qp = _problem()
    reference = _run(qp, storage, qp_solver=qp_solver)
    result = _run(qp, storage, qp_solver=qp_solver, dual_available=False)
    assert result[2].last_solutions[0].duals_recovered
    _assert_same(result, reference)
    np.testing.assert_allclose(result[0][1], qp["lam"], atol=TOL)
    np.testing.assert_allclose(result[0][2], qp["mu"], atol=TOL)


def _badly_scaled(qp):
    """The same problem with rows of C, d and A, b scaled by very different factors."""
    scaled = dict(qp)
    sc = np.logspace(-2, 2, qp["C"].shape[0])
    sa = np.logspace(1, -1, qp["A"].shape[0])
    scaled["C"], scaled["d"] = qp["C"] * sc[:, None], qp["d"] * sc
    scaled["A"], scaled["b"] = qp["A"] * sa[:, None], qp["b"] * sa
    scaled["mu"], scaled["lam"] = qp["mu"] / sc, qp["lam"] / sa
    return scaled


@pytest.mark.parametrize("storage", ["dense", "sparse"])
@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_normalize_constraints_gives_same_outputs_and_gradients(qp_solver, storage):
    qp = _badly_scaled(_problem())
    reference = _run(qp, storage, qp_solver=qp_solver)
    result = _run(qp, storage, qp_solver=qp_solver, normalize_constraints=True)
    _assert_same(result, reference)
    # Duals are those of the caller's (unnormalized) rows.
    np.testing.assert_allclose(result[0][2], qp["mu"], atol=TOL)
    np.testing.assert_allclose(result[0][1], qp["lam"], atol=TOL)


@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_normalize_constraints_reference_worked_case(qp_solver):
    # REFERENCE.md §4.2: C row (-2,-2), d = -2 -> μ = 0.5 and ∂Σz/∂C = 0.25 per entry.
    P = 2 * torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[-2.0, -2.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64, requires_grad=True)
    d = torch.tensor([-2.0, 0.0, 0.0], dtype=torch.float64, requires_grad=True)
    z, lam, mu = dqp.QPLayer(qp_solver=qp_solver, normalize_constraints=True)(P, torch.zeros(2, dtype=torch.float64),
                                                                              C, d)
    np.testing.assert_allclose(mu.detach().numpy(), [0.5, 0.0, 0.0], atol=TOL)
    z.sum().backward()
    np.testing.assert_allclose(C.grad.numpy(), [[0.25, 0.25], [0, 0], [0, 0]], atol=TOL)
    np.testing.assert_allclose(d.grad.numpy(), [-0.5, 0, 0], atol=TOL)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_refine_active_gives_same_outputs_and_gradients(qp_solver, storage):
    qp = _problem()
    reference = _run(qp, storage, qp_solver=qp_solver)
    result = _run(qp, storage, qp_solver=qp_solver, refine_active=True)
    _assert_same(result, reference)
    assert sorted(np.flatnonzero(result[2].active)) == list(qp["J"])


def test_refine_active_with_recovered_duals_on_a_batch(qp_batch):
    stacked, problems = qp_batch
    layer = dqp.QPLayer(refine_active=True, dual_available=False)
    z, lam, mu = layer(*(tensor(stacked[k], requires_grad=False) for k in "PqCdAb"))
    np.testing.assert_allclose(z.numpy(), stacked["z"], atol=TOL)
    np.testing.assert_allclose(mu.numpy(), stacked["mu"], atol=TOL)


@pytest.mark.parametrize("lin_solver,storage", [
    ("scipy LU", "dense"), ("lu", "dense"), ("cod", "dense"),
    ("scipy SPLU", "sparse"), ("qdldl", "sparse"), ("sparse_lu", "sparse"), ("sparse_qr", "sparse"),
])
def test_lin_solver_names_work_on_their_storage(lin_solver, storage):
    qp = _problem()
    reference = _run(qp, storage)
    result = _run(qp, storage, lin_solver=lin_solver)
    _assert_same(result, reference, atol=1e-8)


@pytest.mark.parametrize("lin_solver,storage", [("lu", "sparse"), ("sparse_lu", "dense"), ("qdldl", "dense")])
def test_lin_solver_on_the_wrong_storage_raises_value_error_naming_lin_solver(lin_solver, storage):
    with pytest.raises(ValueError, match="lin_solver"):
        _run(_problem(), storage, lin_solver=lin_solver)


def test_qp_solver_keywords_are_passed_to_the_bridge_solver():
    qp = _problem()
    reference = _run(qp, "dense")
    result = _run(qp, "dense", qp_solver="osqp",
                  qp_solver_keywords={"eps_abs": 1e-9, "eps_rel": 0.0, "max_iter": 100000})
    _assert_same(result, reference)


def test_bridge_solves_batch_and_matches_native(qp_batch):
    stacked, _ = qp_batch
    outs = {}
    for solver in ("proxqp", "osqp"):
        xs = [tensor(stacked[k]) for k in "PqCdAb"]
        z, lam, mu = dqp.QPLayer(qp_solver=solver)(*xs)
        (z.sum() + mu.sum() + lam.sum()).backward()
        outs[solver] = [z.detach(), lam.detach(), mu.detach()] + [x.grad for x in xs]
    for a, b in zip(outs["proxqp"], outs["osqp"]):
        torch.testing.assert_close(a, b, atol=TOL, rtol=0)


def _dense_only_bridge_solvers():
    return [name for name, info in dqp.available_solvers().items()
            if info["kind"] == "qpsolvers" and info["dense"] and not info["sparse"]]


@pytest.mark.parametrize("qp_solver", _dense_only_bridge_solvers())
def test_dense_only_bridge_solver_on_sparse_inputs_solves_or_rejects_the_option(qp_solver):
    # Either the bridge hands the solver dense matrices, or the combination is
    # refused up front as bad input naming qp_solver -- not reported as a failed solve.
    qp = _problem()
    try:
        result = _run(qp, "sparse", qp_solver=qp_solver)
    except ValueError as error:
        assert "qp_solver" in str(error)
        return
    _assert_same(result, _run(qp, "sparse"))


@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp", "piqp"])
@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_forward_and_backward_print_nothing_when_not_verbose(qp_solver, storage, capfd):
    qp = _problem()
    capfd.readouterr()
    _run(qp, storage, qp_solver=qp_solver)
    _run(qp, storage, qp_solver=qp_solver, dual_available=False, refine_active=True)
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


def _threaded_bridge_batches(repeats=10):
    qp = make_qp(4, 5, 1, seed=81, n_active=2)
    stacked = [torch.tensor(np.stack([qp[k]] * 8)) for k in "PqCdAb"]
    layer = dqp.QPLayer(qp_solver="osqp", n_threads=2)
    for _ in range(repeats):
        z, lam, mu = layer(*stacked)
    np.testing.assert_allclose(z.numpy(), np.stack([qp["z"]] * 8), atol=TOL)


def test_threaded_bridge_batch_leaves_global_warning_filters_untouched():
    # Silencing solver warnings must not race on the process-wide filter list.
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        before = list(warnings.filters)
        _threaded_bridge_batches()
        assert warnings.filters == before


def test_failure_warning_still_raised_after_threaded_bridge_batch():
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        _threaded_bridge_batches()
        P = torch.eye(2, dtype=torch.float64)
        C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
        d = torch.tensor([-1.0, -1.0], dtype=torch.float64)
        # record=True keeps the current filters (unlike pytest.warns, which resets them).
        with warnings.catch_warnings(record=True) as caught:
            dqp.QPLayer(on_failure="nan")(P, torch.zeros(2, dtype=torch.float64), C, d)
        assert any(issubclass(w.category, RuntimeWarning) and "primal_infeasible" in str(w.message)
                   for w in caught), "dqp's failure warning was silenced"
