"""Bad input raises a clear exception naming the offending argument; failed
solves raise dqp.QPSolveError, or with on_failure="nan" give NaN outputs,
zero gradients and a warning."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import make_qp, tensor, tensors


@pytest.fixture
def qp():
    return make_qp(4, 5, 1, seed=90, n_active=2)


@pytest.fixture
def args(qp):
    return tensors(qp, requires_grad=False)


# --- options -------------------------------------------------------------------

def test_build_settings_unknown_option_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="eps_actve"):
        dQP.build_settings(eps_actve=1e-5)


def test_qplayer_unknown_option_raises_type_error_naming_it():
    with pytest.raises(TypeError, match="bogus_option"):
        dqp.QPLayer(bogus_option=True)


@pytest.mark.parametrize("make", [
    lambda: dQP.dQP_layer(settings=dQP.build_settings(qp_solver="no_such_solver")),
    lambda: dqp.QPLayer(qp_solver="no_such_solver"),
])
def test_unknown_qp_solver_raises_value_error_naming_qp_solver(make):
    with pytest.raises(ValueError, match="qp_solver") as info:
        make()
    assert "no_such_solver" in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: dQP.dQP_layer(settings=dQP.build_settings(lin_solver="no_such_lin")),
    lambda: dqp.QPLayer(lin_solver="no_such_lin"),
])
def test_unknown_lin_solver_raises_value_error_naming_lin_solver(make):
    with pytest.raises(ValueError, match="lin_solver") as info:
        make()
    assert "no_such_lin" in str(info.value)


@pytest.mark.parametrize("name,value", [
    ("eps_active", -1.0), ("eps_abs", float("nan")), ("solve_type", "diagonal"), ("on_failure", "ignore"),
    ("dual_available", "yes"), ("n_threads", 0), ("qp_solver_keywords", [1, 2]),
])
def test_invalid_option_values_raise_value_error_naming_the_option(name, value):
    with pytest.raises(ValueError, match=name):
        dQP.build_settings(**{name: value})


def test_unknown_qp_solver_in_numpy_solve_raises_value_error():
    with pytest.raises(ValueError, match="qp_solver"):
        dqp.solve(np.eye(2), np.ones(2), qp_solver="no_such_solver")


# --- shapes ----------------------------------------------------------------------

@pytest.mark.parametrize("name,bad,expect", [
    ("P", lambda x: x[:, :3], "P"),
    ("P", lambda x: x[:3, :3], "q"),
    ("q", lambda x: x[:3], "q"),
    ("C", lambda x: x[:, :3], "C"),
    ("d", lambda x: x[:3], "d"),
    ("A", lambda x: x[:, :3], "A"),
    ("b", lambda x: torch.zeros(2, dtype=torch.float64), "b"),
])
def test_bad_shapes_raise_value_error_naming_the_argument(args, name, bad, expect):
    inputs = dict(zip("PqCdAb", args))
    inputs[name] = bad(inputs[name])
    with pytest.raises(ValueError, match=rf"\b{expect}\b"):
        dqp.QPLayer()(*inputs.values())


def test_bad_sparse_shape_raises_value_error_naming_the_argument(args):
    P, q, C, d, A, b = args
    with pytest.raises(ValueError, match=r"\bC\b"):
        dqp.QPLayer()(P.to_sparse_csc(), q, C[:, :3].to_sparse_csc(), d)


@pytest.mark.parametrize("case", ["vectors", "matrix_vs_vector", "sparse_list"])
def test_inconsistent_batch_sizes_raise_value_error(args, case):
    P, q, C, d, A, b = args
    with pytest.raises(ValueError, match="batch"):
        if case == "vectors":
            dqp.QPLayer()(P, q.expand(3, -1), C, d.expand(2, -1))
        elif case == "matrix_vs_vector":
            dqp.QPLayer()(P.expand(3, -1, -1), q.expand(2, -1), C, d)
        else:
            dqp.QPLayer()([P.to_sparse_csc()] * 3, q.expand(2, -1), C.to_sparse_csc(), d)


def test_mixed_dtypes_raise_type_error_naming_the_argument(args):
    P, q, C, d, A, b = args
    with pytest.raises(TypeError, match=r"\bC\b"):
        dqp.QPLayer()(P, q, C.float(), d, A, b)


@pytest.mark.parametrize("name", ["P", "q", "C", "d", "A", "b"])
def test_nan_in_data_raises_value_error_naming_the_argument(args, name):
    inputs = dict(zip("PqCdAb", [x.clone() for x in args]))
    inputs[name].view(-1)[0] = float("nan")
    if name == "P":  # keep P symmetric so the NaN check, not the symmetry check, fires
        inputs[name][0, 0] = float("nan")
    with pytest.raises(ValueError, match=rf"\b{name}\b.*(NaN|nan)"):
        dqp.QPLayer()(*inputs.values())


def test_inf_in_q_raises_value_error(args):
    P, q, C, d, A, b = args
    q = q.clone()
    q[1] = float("inf")
    with pytest.raises(ValueError, match=r"\bq\b"):
        dqp.QPLayer()(P, q, C, d, A, b)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_non_symmetric_P_raises_value_error(args, storage):
    P, q, C, d, A, b = args
    P = P.clone()
    P[0, 1] += 0.5
    if storage == "sparse":
        P, C, A = P.to_sparse_csc(), C.to_sparse_csc(), A.to_sparse_csc()
    with pytest.raises(ValueError, match="symmetric"):
        dqp.QPLayer()(P, q, C, d, A, b)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_check_psd_rejects_indefinite_P(args, storage):
    _, q, C, d, A, b = args
    P = torch.diag(torch.tensor([1.0, -1.0, 2.0, 1.0], dtype=torch.float64))
    if storage == "sparse":
        P, C, A = P.to_sparse_csc(), C.to_sparse_csc(), A.to_sparse_csc()
    with pytest.raises(ValueError, match="positive semidefinite"):
        dqp.QPLayer(check_PSD=True)(P, q, C, d, A, b)


@pytest.mark.parametrize("storage", ["dense", "sparse"])
def test_check_psd_accepts_singular_psd_P(storage):
    # Unlike the seed's Cholesky test, a singular PSD P passes.
    P = torch.diag(torch.tensor([1.0, 0.0], dtype=torch.float64))
    C = torch.tensor([[0.0, 1.0], [0.0, -1.0]], dtype=torch.float64)
    d = torch.ones(2, dtype=torch.float64)
    q = torch.tensor([-1.0, 1.0], dtype=torch.float64)
    if storage == "sparse":
        P, C = P.to_sparse_csc(), C.to_sparse_csc()
    z, lam, mu = dqp.QPLayer(check_PSD=True)(P, q, C, d)
    np.testing.assert_allclose(z.numpy(), [1.0, -1.0], atol=1e-6)


def test_solve_type_sparse_with_dense_inputs_raises_value_error(args):
    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="sparse"))
    with pytest.raises(ValueError, match="solve_type"):
        layer(*args)


def test_solve_type_dense_with_sparse_inputs_raises_value_error(args):
    P, q, C, d, A, b = args
    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="dense"))
    with pytest.raises(ValueError, match="solve_type"):
        layer(P.to_sparse_csc(), q, C.to_sparse_csc(), d)


def test_mixed_sparse_and_dense_matrices_raise_value_error(args):
    P, q, C, d, A, b = args
    with pytest.raises(ValueError, match=r"\bC\b"):
        dqp.QPLayer()(P.to_sparse_csc(), q, C, d)


@pytest.mark.parametrize("missing", ["d", "C"])
def test_C_without_d_or_d_without_C_raises_value_error(args, missing):
    inputs = dict(zip("PqCdAb", args))
    inputs[missing] = None
    with pytest.raises(ValueError, match="C and d"):
        dqp.QPLayer()(*inputs.values())


def test_A_without_b_raises_value_error(args):
    P, q, C, d, A, b = args
    with pytest.raises(ValueError, match="A and b"):
        dqp.QPLayer()(P, q, C, d, A, None)


# --- failed solves -----------------------------------------------------------------

def _infeasible(batch=False):
    """z1 ≤ -1 and -z1 ≤ -1 (z1 ≥ 1): infeasible. As a batch, element 0 is feasible."""
    P = torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    if batch:
        q = torch.tensor([[1.0, 1.0], [0.0, 0.0]], dtype=torch.float64, requires_grad=True)
        d = torch.tensor([[2.0, 2.0], [-1.0, -1.0]], dtype=torch.float64, requires_grad=True)
    else:
        q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        d = torch.tensor([-1.0, -1.0], dtype=torch.float64, requires_grad=True)
    return P, q, C, d


@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_infeasible_problem_raises_qp_solve_error_by_default(qp_solver):
    with pytest.raises(dqp.QPSolveError) as info:
        dqp.QPLayer(qp_solver=qp_solver)(*_infeasible())
    assert isinstance(info.value, RuntimeError)
    assert info.value.index == 0
    assert info.value.status != "optimal"


def test_infeasible_problem_status_is_primal_infeasible_with_native_solver():
    with pytest.raises(dqp.QPSolveError) as info:
        dqp.QPLayer()(*_infeasible())
    assert info.value.status == "primal_infeasible"


@pytest.mark.parametrize("qp_solver", ["proxqp", "osqp"])
def test_on_failure_nan_returns_nan_outputs_zero_gradients_and_warns(qp_solver):
    P, q, C, d = _infeasible()
    layer = dqp.QPLayer(qp_solver=qp_solver, on_failure="nan")
    with pytest.warns(RuntimeWarning, match="status"):
        z, lam, mu = layer(P, q, C, d)
    assert torch.isnan(z).all() and torch.isnan(mu).all()
    (z.sum() + mu.sum()).backward()
    assert torch.equal(q.grad, torch.zeros(2, dtype=torch.float64))
    assert torch.equal(d.grad, torch.zeros(2, dtype=torch.float64))
    assert layer.statuses[0] != "optimal"


def test_on_failure_nan_in_batch_only_affects_failed_element():
    P, q, C, d = _infeasible(batch=True)
    layer = dqp.QPLayer(on_failure="nan")
    with pytest.warns(RuntimeWarning, match="problem 1"):
        z, lam, mu = layer(P, q, C, d)
    np.testing.assert_allclose(z[0].detach().numpy(), [-1.0, -1.0], atol=1e-8)
    assert torch.isnan(z[1]).all()
    (z.sum() + mu.sum()).backward()
    np.testing.assert_allclose(q.grad[0].numpy(), [-1.0, -1.0], atol=1e-8)
    assert torch.equal(q.grad[1], torch.zeros(2, dtype=torch.float64))
    assert torch.equal(d.grad[1], torch.zeros(2, dtype=torch.float64))
    assert layer.statuses == ["optimal", "primal_infeasible"]


def test_infeasible_batch_element_raises_with_its_index():
    with pytest.raises(dqp.QPSolveError, match="problem 1") as info:
        dqp.QPLayer()(*_infeasible(batch=True))
    assert info.value.index == 1


def test_on_failure_warn_warns_and_gives_finite_zero_gradient():
    P, q, C, d = _infeasible()
    with pytest.warns(RuntimeWarning):
        z, lam, mu = dqp.QPLayer(on_failure="warn")(P, q, C, d)
    (z.sum()).backward()
    assert torch.equal(q.grad, torch.zeros(2, dtype=torch.float64))


def test_numpy_solve_reports_infeasible_status_without_raising():
    result = dqp.solve(np.eye(2), np.zeros(2), np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0]))
    assert result.status == "primal_infeasible"
