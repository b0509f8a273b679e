"""Messages and types (issue 19, item 5): unsupported layouts, meta tensors,
Python lists, a sparse input with the seed's default solve_type, the types
of the layer's views, and the documentation of forward."""
import numpy as np
import pytest
import torch

import dqp
from dqp import dQP
from conftest import make_qp


def _qp():
    return make_qp(3, 2, 1, seed=11)


def test_bsr_input_names_the_accepted_layouts():
    qp = _qp()
    P = torch.tensor(qp["P"]).to_sparse_bsr((1, 1))
    with pytest.raises(TypeError, match=r"P has layout torch.sparse_bsr; dqp accepts dense .*COO, CSR or CSC"):
        dqp.QPLayer(solve_type="sparse")(P, *(torch.tensor(qp[k]) for k in "qCdAb"))


def test_meta_tensor_is_named():
    qp = _qp()
    q = torch.empty(3, dtype=torch.float64, device="meta")
    with pytest.raises(ValueError, match="q is a meta tensor"):
        dqp.QPLayer()(torch.tensor(qp["P"]), q)


def test_python_lists_are_array_data():
    qp = _qp()
    z, _, _ = dqp.QPLayer()(qp["P"].tolist(), qp["q"].tolist(), qp["C"].tolist(), qp["d"].tolist(),
                            qp["A"].tolist(), qp["b"].tolist())
    np.testing.assert_allclose(z.numpy(), qp["z"], atol=1e-8)


def test_python_list_of_strings_is_a_type_error_naming_the_argument():
    with pytest.raises(TypeError, match="q must be a torch tensor or an array-like of numbers"):
        dqp.QPLayer()(torch.eye(2, dtype=torch.float64), ["a", "b"])


def test_list_input_takes_the_dtype_of_the_tensors():
    qp = _qp()
    z, _, _ = dqp.QPLayer()(qp["P"].tolist(), torch.tensor(qp["q"], dtype=torch.float32))
    assert z.dtype == torch.float32


def test_seed_default_dense_solve_type_with_sparse_inputs_says_to_set_sparse():
    qp = _qp()
    layer = dQP.dQP_layer()                                     # solve_type='dense' by default
    with pytest.raises(ValueError, match=r"torch sparse tensor but solve_type='dense': set solve_type='sparse'"):
        layer(torch.tensor(qp["P"]).to_sparse_csc(), torch.tensor(qp["q"]))


def test_sparse_solve_type_with_dense_inputs_says_to_pass_sparse():
    qp = _qp()
    layer = dQP.dQP_layer(settings=dQP.build_settings(solve_type="sparse"))
    with pytest.raises(ValueError, match=r"solve_type='sparse' but P is dense: pass torch sparse"):
        layer(torch.tensor(qp["P"]), torch.tensor(qp["q"]))


def test_views_of_the_last_call_follow_the_documented_types():
    qp = _qp()
    layer = dqp.QPLayer()
    layer(*(torch.tensor(qp[k]).unsqueeze(0).repeat(2, *[1] * qp[k].ndim) if k == "q" else torch.tensor(qp[k])
            for k in "PqCdAb"))
    assert isinstance(layer.ok, torch.Tensor) and layer.ok.dtype == torch.bool and layer.ok.shape == (2,)
    assert isinstance(layer.active, np.ndarray) and layer.active.dtype == bool and layer.active.shape == (2, 2)
    assert isinstance(layer.statuses, list) and layer.statuses == ["optimal", "optimal"]
    assert isinstance(layer.degenerate, list) and len(layer.degenerate) == 2


@pytest.mark.parametrize("cls", [dqp.QPLayer, dQP.dQP_layer])
def test_forward_docstring_states_shapes_and_the_batch_rule(cls):
    doc = cls.forward.__doc__
    assert doc is not None and "batch" in doc and "(B, n)" in doc and "empty_batch" in doc
    import pydoc
    text = pydoc.render_doc(cls.forward)
    assert "(B, n)" in text and "Module" not in text.splitlines()[0]


def test_settings_page_has_the_options_table_with_every_default():
    import pathlib
    from dqp._settings import DEFAULTS
    page = (pathlib.Path(__file__).parents[2] / "docs" / "guide" / "settings.md").read_text()
    section = page.split("# Settings", 1)[1].split("\n\n", 2)[1]     # the first table of the page
    table = [line for line in section.splitlines() if line.startswith("| `")]
    rows = {line.split("`")[1]: line for line in table}
    assert set(DEFAULTS) <= set(rows), set(DEFAULTS) - set(rows)
    assert "1e-5" in rows["eps_active"] and "1e-6" in rows["eps_abs"]
    assert "True" in rows["empty_batch"] and "False" in rows["empty_batch"]
