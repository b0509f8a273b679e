"""Pickle, deepcopy and torch.save of layers and of models that hold one: the
settings travel, the C++ engine is rebuilt, the last call's solutions are
dropped, and a copy trains exactly like the original."""
from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest
import torch

import dqp
from dqp import dQP

from conftest import make_qp


class Projector(torch.nn.Module):
    """A small model: a linear map, then the QP layer projects onto a polytope."""

    def __init__(self, layer, n=4, m=5):
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(n, n, dtype=torch.float64)
        qp = make_qp(n, m, 0, seed=600, n_active=2)
        self.register_buffer("P", torch.tensor(qp["P"]))
        self.register_buffer("C", torch.tensor(qp["C"]))
        self.register_buffer("d", torch.tensor(qp["d"]))
        self.qp = layer

    def forward(self, x):
        out = self.qp(self.P, self.linear(x), self.C, self.d)
        return out[0]


def _train_step(model, seed=0):
    torch.manual_seed(seed)
    x = torch.randn(6, 4, dtype=torch.float64)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    optimizer.zero_grad()
    loss = model(x).pow(2).sum()
    loss.backward()
    optimizer.step()
    return loss.detach(), [p.detach().clone() for p in model.parameters()]


LAYERS = {
    "QPLayer": lambda: dqp.QPLayer(eps_active=1e-6, qp_solver="proxqp"),
    "dQP_layer": lambda: dQP.dQP_layer(settings=dQP.build_settings(empty_batch=False, eps_abs=1e-8)),
}


def _torch_roundtrip(model):
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


COPIES = {
    "pickle": lambda model: pickle.loads(pickle.dumps(model)),
    "deepcopy": copy.deepcopy,
    "torch.save": _torch_roundtrip,
}


@pytest.mark.parametrize("how", COPIES)
@pytest.mark.parametrize("kind", LAYERS)
def test_a_copied_model_trains_exactly_like_the_original(kind, how):
    model = Projector(LAYERS[kind]())
    model(torch.randn(2, 4, dtype=torch.float64))       # a call leaves solutions behind
    assert model.qp.last_solutions
    twin = COPIES[how](model)
    assert twin.qp is not model.qp and twin.qp.engine is not model.qp.engine
    assert twin.qp.last_solutions == []
    assert twin.qp.settings == model.qp.settings
    loss, params = _train_step(model)
    twin_loss, twin_params = _train_step(twin)
    assert loss == twin_loss
    for a, b in zip(params, twin_params):
        assert torch.equal(a, b)


def test_layer_settings_and_solver_survive_a_pickle_and_the_repr_matches():
    layer = dqp.QPLayer(qp_solver="daqp", eps_active=1e-7, on_failure="warn")
    copy_ = pickle.loads(pickle.dumps(layer))
    assert repr(copy_) == repr(layer)
    assert copy_.engine.solver_name == "daqp"
    assert copy_.settings["eps_active"] == 1e-7
    seed_layer = dQP.dQP_layer(settings=dQP.build_settings(time=True))
    seed_copy = copy.deepcopy(seed_layer)
    assert seed_copy.time is True and seed_copy.settings == seed_layer.settings


def test_solve_settings_pickle():
    settings = dqp.build_settings(qp_solver="proxqp", eps_abs=1e-9)
    assert pickle.loads(pickle.dumps(settings)) == settings
    qp = make_qp(3, 2, 0, seed=610, n_active=1)
    first = dqp.solve(qp["P"], qp["q"], qp["C"], qp["d"], **settings)
    again = dqp.solve(qp["P"], qp["q"], qp["C"], qp["d"], **pickle.loads(pickle.dumps(settings)))
    np.testing.assert_array_equal(first.z, again.z)
