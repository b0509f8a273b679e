"""on_failure (issue 19, item 3): "warn" and "nan" give a failed problem NaN
outputs and zero gradients with one warning that points at the user's line;
``layer.ok`` is a boolean tensor of successes; a NaN in one element's input
fails only that element. The single-problem fast path and the batch path."""
import inspect
import warnings

import numpy as np
import pytest
import torch

import dqp
from conftest import make_qp


def _infeasible_element(batch):
    """A batch of the same box problem; element 1 asks z0 <= -1 and z0 >= 1."""
    P = torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.ones(batch, 2, dtype=torch.float64)
    d[1] = torch.tensor([-1.0, -1.0])
    q = torch.tensor([[0.5, 0.25]], dtype=torch.float64).repeat(batch, 1).requires_grad_()
    return P, q, C, d.requires_grad_()


@pytest.mark.parametrize("on_failure", ["warn", "nan"])
def test_failed_element_is_nan_with_zero_gradient_and_a_mask(on_failure):
    P, q, C, d = _infeasible_element(3)
    layer = dqp.QPLayer(on_failure=on_failure)
    with pytest.warns(RuntimeWarning, match="1 of 3 problems failed.*problem 1.*primal_infeasible"):
        z, lam, mu = layer(P, q, C, d)
    assert torch.isnan(z[1]).all() and torch.isnan(mu[1]).all()
    assert torch.isfinite(z[[0, 2]]).all()
    assert layer.ok.dtype == torch.bool and layer.ok.tolist() == [True, False, True]
    z[layer.ok].sum().backward()
    assert torch.equal(q.grad[1], torch.zeros(2, dtype=torch.float64))
    assert torch.equal(d.grad[1], torch.zeros(2, dtype=torch.float64))
    np.testing.assert_allclose(q.grad[0].numpy(), [-1.0, -1.0], atol=1e-8)


def test_nan_outputs_even_with_an_unmasked_loss_give_zero_gradient_to_failed_element():
    P, q, C, d = _infeasible_element(2)
    with pytest.warns(RuntimeWarning):
        z, _, _ = dqp.QPLayer(on_failure="warn")(P, q, C, d)
    torch.nan_to_num(z).sum().backward()
    assert torch.equal(q.grad[1], torch.zeros(2, dtype=torch.float64))


@pytest.mark.parametrize("on_failure", ["warn", "nan"])
def test_fast_path_single_problem_failure_is_nan_and_not_ok(on_failure):
    P = torch.eye(2, dtype=torch.float64)
    q = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, -1.0], dtype=torch.float64, requires_grad=True)
    layer = dqp.QPLayer(on_failure=on_failure)
    with pytest.warns(RuntimeWarning, match="primal_infeasible"):
        z, lam, mu = layer(P, q, C, d)
    assert torch.isnan(z).all() and torch.isnan(mu).all()
    assert layer.ok.shape == () and not bool(layer.ok)
    gq, gd = torch.autograd.grad(torch.nan_to_num(z).sum(), [q, d])
    assert torch.count_nonzero(gq) == 0 and torch.count_nonzero(gd) == 0


def test_ok_is_all_true_after_a_good_call_and_shaped_like_the_batch():
    qp = make_qp(3, 2, 0, seed=1)
    P, q, C, d = (torch.tensor(qp[k]) for k in "PqCd")
    layer = dqp.QPLayer()
    layer(P, q, C, d)
    assert layer.ok.shape == () and bool(layer.ok)
    layer(P, q.repeat(4, 1), C, d)
    assert layer.ok.shape == (4,) and bool(layer.ok.all())
    seed = dqp.dQP.dQP_layer()           # empty_batch=True: outputs (1, n), ok (1,)
    seed(P, q, C, d)
    assert seed.ok.shape == (1,)


def test_warning_points_at_the_callers_line():
    P, q, C, d = _infeasible_element(2)
    layer = dqp.QPLayer(on_failure="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer(P, q, C, d); line = inspect.currentframe().f_lineno   # noqa: E702 - one line
    failures = [w for w in caught if "failed" in str(w.message)]
    assert len(failures) == 1
    assert failures[0].filename == __file__ and failures[0].lineno == line


def test_warning_points_at_the_callers_line_on_the_fast_path():
    P = torch.eye(2, dtype=torch.float64)
    C = torch.tensor([[1.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    d = torch.tensor([-1.0, -1.0], dtype=torch.float64)
    layer = dqp.QPLayer(on_failure="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer(P, torch.zeros(2, dtype=torch.float64), C, d); line = inspect.currentframe().f_lineno  # noqa: E702
    assert [w.lineno for w in caught if w.filename == __file__] == [line]


@pytest.mark.parametrize("name", ["q", "d", "C", "P"])
def test_nan_in_one_elements_input_fails_only_that_element(name):
    qp = make_qp(3, 2, 1, seed=6)
    B = 3
    inputs = {k: torch.tensor(qp[k]) for k in "PqCdAb"}
    inputs[name] = inputs[name].unsqueeze(0).repeat(B, *([1] * inputs[name].dim())).clone()
    inputs[name][1].view(-1)[0] = float("nan")
    inputs[name].requires_grad_()
    layer = dqp.QPLayer(on_failure="nan")
    with pytest.warns(RuntimeWarning, match=rf"problem 1 of the batch: {name} contains NaN.*invalid_input"):
        z, lam, mu = layer(*(inputs[k] for k in "PqCdAb"))
    assert layer.ok.tolist() == [True, False, True]
    assert layer.statuses == ["optimal", "invalid_input", "optimal"]
    assert torch.isnan(z[1]).all()
    for i in (0, 2):
        np.testing.assert_allclose(z[i].detach().numpy(), qp["z"], atol=1e-8)
    (z[layer.ok].sum() + mu[layer.ok].sum()).backward()
    grad = inputs[name].grad
    assert torch.equal(grad[1], torch.zeros_like(grad[1]))
    assert torch.isfinite(grad).all() and grad[0].abs().sum() > 0
    torch.testing.assert_close(grad[0], grad[2])


def test_nan_input_still_raises_by_default():
    qp = make_qp(3, 2, 1, seed=6)
    q = torch.tensor(qp["q"]).repeat(2, 1)
    q[1, 0] = float("nan")
    with pytest.raises(ValueError, match="problem 1 of the batch: q contains NaN"):
        dqp.QPLayer()(*(torch.tensor(qp[k]) for k in "P"), q, *(torch.tensor(qp[k]) for k in "CdAb"))


def test_nan_in_a_sparse_batch_element():
    qp = make_qp(4, 3, 1, seed=3, sparse=True)
    Ps = [torch.tensor(qp["P"]).to_sparse_csc() for _ in range(2)]
    values = Ps[1].values().clone()
    values[0] = float("nan")
    Ps[1] = torch.sparse_csc_tensor(Ps[1].ccol_indices(), Ps[1].row_indices(), values, size=(4, 4))
    C, A = (torch.tensor(qp[k]).to_sparse_csc() for k in "CA")
    q, d, b = (torch.tensor(qp[k]) for k in "qdb")
    layer = dqp.QPLayer(on_failure="nan")
    with pytest.warns(RuntimeWarning, match="problem 1 of the batch: P contains NaN"):
        z, _, _ = layer(Ps, q.requires_grad_(), C, d, A, b)
    assert layer.ok.tolist() == [True, False]
    np.testing.assert_allclose(z[0].detach().numpy(), qp["z"], atol=1e-8)
    z[layer.ok].sum().backward()
    assert torch.isfinite(q.grad).all()
