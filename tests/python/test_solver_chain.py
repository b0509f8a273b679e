"""The default solver ("auto") and the fallback_solvers / time_limit options."""
from __future__ import annotations

import pytest
import torch

import dqp
from conftest import make_qp, tensors


def test_auto_is_the_default_and_picks_by_size_and_storage():
    qp = make_qp(6, 4, 1, seed=7)
    P, q, C, d, A, b = tensors(qp)
    layer = dqp.QPLayer()
    assert layer.engine.solver_name == "auto" and layer.engine.native
    expected = "piqp" if dqp.available_solvers().get("piqp", {}).get("kind") == "native" else "proxqp"
    z, _, _ = layer(P, q, C, d, A, b)
    small_dense = "daqp" if dqp.available_solvers().get("daqp", {}).get("kind") == "native" else "proxqp"
    assert layer.last_solutions[0].solver == small_dense        # small dense: DAQP
    torch.testing.assert_close(z.detach(), torch.tensor(qp["z"]), rtol=1e-6, atol=1e-6)
    sparse = [t.detach().to_sparse_csc() for t in (P, C, A)]
    z, _, _ = layer(sparse[0], q, sparse[1], d, sparse[2], b)
    assert layer.last_solutions[0].solver == expected
    torch.testing.assert_close(z.detach(), torch.tensor(qp["z"]), rtol=1e-6, atol=1e-6)


def test_fallback_solvers_are_tried_after_the_solver():
    qp = make_qp(5, 3, 0, seed=8)
    P, q, C, d = tensors(qp, "PqCd")
    layer = dqp.QPLayer(qp_solver="proxqp", fallback_solvers="qpoases" if "qpoases" in dqp.available_solvers()
                        else ["proxqp"])
    z, _, _ = layer(P, q, C, d)
    assert layer.last_solutions[0].solver == "proxqp"        # the first one succeeded
    torch.testing.assert_close(z.detach(), torch.tensor(qp["z"]), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("options,match", [
    (dict(fallback_solvers=3), "fallback_solvers must be"),
    (dict(fallback_solvers=["proxqp", 1]), "fallback_solvers must be"),
    (dict(fallback_solvers=["osqp"]), "fallback_solvers: 'osqp' is not a native solver"),
    (dict(qp_solver="osqp", fallback_solvers=["proxqp"]), "fallback_solvers needs a native qp_solver"),
    (dict(fallback_solvers=["no_such_solver"]), "no_such_solver"),
    (dict(time_limit=-1.0), "time_limit must be"),
    (dict(time_limit=float("inf")), "time_limit must be"),
    (dict(time_limit=True), "time_limit must be"),
])
def test_bad_chain_options_raise_value_errors_naming_them(options, match):
    with pytest.raises(ValueError, match=match):
        dqp.QPLayer(**options)


def test_time_limit_is_accepted_and_reaches_the_core():
    layer = dqp.QPLayer(time_limit=2.5)
    assert layer.engine.core.settings.time_limit == 2.5
    qp = make_qp(4, 2, 0, seed=9)
    z, _, _ = layer(*tensors(qp, "PqCd"))
    assert layer.last_solutions[0].optimal
