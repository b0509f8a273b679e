"""torch.compile (issue 19, item 6): a model holding the layer compiles with
one graph break at the layer and no warnings, and gives the eager answer and
gradient."""
import warnings

import torch

import dqp
from conftest import make_qp


class Model(torch.nn.Module):
    def __init__(self, qp):
        super().__init__()
        self.linear = torch.nn.Linear(3, 3, dtype=torch.float64)
        self.layer = dqp.QPLayer()
        for name in "PCd":
            self.register_buffer(name, torch.tensor(qp[name]))

    def forward(self, x):
        z, _, _ = self.layer(self.P, self.linear(x), self.C, self.d)
        return (z * z).sum(dim=-1)


def test_compiled_model_has_one_graph_break_no_warnings_and_the_eager_answer():
    torch.manual_seed(0)
    model = Model(make_qp(3, 2, 0, seed=12))
    x = torch.randn(4, 3, dtype=torch.float64)
    eager = model(x)
    eager_grad = torch.autograd.grad(eager.sum(), model.linear.weight)[0]

    torch._dynamo.reset()
    explanation = torch._dynamo.explain(model)(x)
    assert explanation.graph_break_count == 1, [str(b.reason) for b in explanation.break_reasons]

    torch._dynamo.reset()
    compiled = torch.compile(model, backend="eager")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = compiled(x)
        grad = torch.autograd.grad(out.sum(), model.linear.weight)[0]
    assert not caught, [f"{w.filename}:{w.lineno}: {w.message}" for w in caught]
    torch.testing.assert_close(out, eager, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, eager_grad, rtol=1e-8, atol=1e-10)
