"""The batch rule (issue 19, item 1): an input that carries a batch axis keeps
it in the outputs, whatever its size; ``empty_batch`` only adds an axis to
fully unbatched calls; ambiguous shapes are errors. Both layers."""
import numpy as np
import pytest
import torch

import dqp
from dqp import dQP
from conftest import make_qp, tensors

N, M, P_ROWS = 4, 3, 1


def _problem():
    return tensors(make_qp(N, M, P_ROWS, seed=19))


def _batched(inputs, which):
    """The inputs with `which` given a leading axis of size 1."""
    return [t.unsqueeze(0) if name == which else t for name, t in zip("PqCdAb", inputs)]


def _qp_layer():
    return dqp.QPLayer()


def _seed_layer(empty_batch):
    layer = dQP.dQP_layer(settings=dQP.build_settings(empty_batch=empty_batch))
    return lambda *args: layer(*args)[:3]


@pytest.mark.parametrize("which", list("PqCdAb"))
@pytest.mark.parametrize("make_layer", [_qp_layer, lambda: _seed_layer(False), lambda: _seed_layer(True)],
                         ids=["QPLayer", "dQP_layer(empty_batch=False)", "dQP_layer(empty_batch=True)"])
def test_a_batch_of_one_keeps_its_axis(which, make_layer):
    inputs = _problem()
    single = make_layer()(*[t.detach() for t in inputs])
    z, lam, mu = make_layer()(*_batched(inputs, which))
    assert z.shape == (1, N) and lam.shape == (1, P_ROWS) and mu.shape == (1, M)
    z_single = single[0].reshape(-1)
    torch.testing.assert_close(z[0], z_single, rtol=1e-9, atol=1e-9)
    z.sum().backward()          # the gradient has the input's own shape
    batched = dict(zip("PqCdAb", inputs))[which]
    assert batched.grad.shape == batched.shape


@pytest.mark.parametrize("make_layer, shapes", [
    (_qp_layer, ((N,), (P_ROWS,), (M,))),
    (lambda: _seed_layer(False), ((N,), (P_ROWS,), (M,))),
    (lambda: _seed_layer(True), ((1, N), (1, P_ROWS), (1, M))),
], ids=["QPLayer", "dQP_layer(empty_batch=False)", "dQP_layer(empty_batch=True)"])
def test_unbatched_call_shapes(make_layer, shapes):
    z, lam, mu = make_layer()(*_problem())
    assert (z.shape, lam.shape, mu.shape) == shapes


def test_empty_batch_does_not_add_an_axis_to_a_batched_call():
    inputs = _problem()
    inputs[1] = inputs[1].detach().repeat(3, 1)
    z, lam, mu = _seed_layer(True)(*inputs)
    assert z.shape == (3, N) and lam.shape == (3, P_ROWS) and mu.shape == (3, M)


def test_sparse_list_of_one_keeps_its_axis():
    qp = make_qp(N, M, P_ROWS, seed=4, sparse=True)
    P = torch.tensor(qp["P"]).to_sparse_csc()
    C = torch.tensor(qp["C"]).to_sparse_csc()
    A = torch.tensor(qp["A"]).to_sparse_csc()
    q, d, b = (torch.tensor(qp[k]) for k in "qdb")
    z, lam, mu = dqp.QPLayer()([P], q, [C], d, [A], b)
    assert z.shape == (1, N) and mu.shape == (1, M)
    np.testing.assert_allclose(z[0].numpy(), qp["z"], atol=1e-8)


def test_dataloader_last_batch_of_one_keeps_the_model_output_shape():
    qp = make_qp(N, M, P_ROWS, seed=8)
    P, _, C, d, A, b = (torch.tensor(qp[k]) for k in "PqCdAb")
    layer = dqp.QPLayer()
    for size in (3, 1):
        z, _, _ = layer(P, torch.randn(size, N, dtype=torch.float64), C, d, A, b)
        assert z.shape == (size, N)


@pytest.mark.parametrize("make_layer", [_qp_layer, lambda: _seed_layer(True)], ids=["QPLayer", "dQP_layer"])
def test_a_column_q_is_ambiguous_and_an_error(make_layer):
    P, q, C, d, A, b = _problem()
    with pytest.raises(ValueError, match=r"q has shape \(4, 1\), a column"):
        make_layer()(P, q.detach().reshape(N, 1), C, d, A, b)
    with pytest.raises(ValueError, match=r"d has shape \(3, 1\), a column"):
        make_layer()(P, q, C, d.detach().reshape(M, 1), A, b)
