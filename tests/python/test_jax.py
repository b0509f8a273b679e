"""dqp.jax: the QP layer for JAX, against finite differences, closed forms
and the torch layer on the same data."""
from __future__ import annotations

import numpy as np
import pytest
import torch

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

import dqp  # noqa: E402
import dqp.jax as djax  # noqa: E402
from dqp.jax import _callbacks  # noqa: E402

from conftest import make_qp  # noqa: E402

NAMES = ("P", "q", "C", "d", "A", "b")


def _problem(n=5, m=4, p=2, seed=0, n_active=2):
    qp = make_qp(n, m, p, seed, n_active=n_active)
    return {k: jnp.asarray(qp[k]) for k in NAMES}, qp


def _loss(out, weights):
    z, lam, mu = out
    return weights[0] @ z + 0.5 * jnp.sum(z ** 2) + weights[1] @ lam + weights[2] @ mu


def _weights(qp, seed=1):
    rng = np.random.default_rng(seed)
    return tuple(jnp.asarray(rng.standard_normal(qp[k].shape[-1])) for k in ("z", "lam", "mu"))


def _torch_gradients(data, weights, **settings):
    tensors = {k: torch.tensor(np.asarray(v), requires_grad=True) for k, v in data.items()}
    layer = dqp.QPLayer(**settings)
    z, lam, mu = layer(*(tensors[k] for k in NAMES))
    w = [torch.tensor(np.asarray(x)) for x in weights]
    loss = (z @ w[0] + 0.5 * (z ** 2).sum(-1) + lam @ w[1] + mu @ w[2]).sum()
    loss.backward()
    return {k: tensors[k].grad.numpy() for k in NAMES}


def _step(shape, index, h, symmetric):
    """A step along entry ``index``; for P along (Eᵢⱼ + Eⱼᵢ)/2, which keeps P symmetric and
    whose directional derivative is the (symmetric) gradient's entry (i, j)."""
    step = np.zeros(shape)
    step[index] = h
    return 0.5 * (step + step.T) if symmetric else step


def _central_difference(f, x, h=1e-6, symmetric=False):
    x = np.asarray(x, dtype=np.float64)
    f = jax.jit(f)           # compiled once: the probes then cost a solve each
    out = None
    for index in np.ndindex(x.shape):
        step = _step(x.shape, index, h, symmetric)
        value = (np.asarray(f(jnp.asarray(x + step))) - np.asarray(f(jnp.asarray(x - step)))) / (2 * h)
        if out is None:
            out = np.zeros(value.shape + x.shape)
        out[(Ellipsis,) + index] = value
    return out


def test_seed_example_solution_and_closed_form_gradients():
    P = 2 * jnp.eye(2)
    q = jnp.zeros(2)
    C = jnp.array([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]])
    d = jnp.array([-1.0, 0.0, 0.0])
    z, lam, mu = djax.qp_layer(P, q, C, d)
    np.testing.assert_allclose(z, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(mu, [1.0, 0.0, 0.0], atol=1e-8)
    assert lam.shape == (0,)

    def value(P, q, C, d):
        z, _, _ = djax.qp_layer(P, q, C, d)
        return 0.5 * z @ P @ z + q @ z

    gP, gq, gC, gd = jax.jit(jax.grad(value, argnums=(0, 1, 2, 3)))(P, q, C, d)
    # Envelope theorem: ∇P = ½zzᵀ, ∇q = z, ∇C = μzᵀ, ∇d = -μ.
    np.testing.assert_allclose(gP, 0.125 * np.ones((2, 2)), atol=1e-8)
    np.testing.assert_allclose(gq, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(gC, [[0.5, 0.5], [0, 0], [0, 0]], atol=1e-8)
    np.testing.assert_allclose(gd, [-1.0, 0, 0], atol=1e-8)


@pytest.mark.parametrize("shape", [(5, 4, 2), (5, 4, 0), (5, 0, 2)], ids=["both", "inequality_only", "equality_only"])
def test_jit_grad_matches_finite_differences_and_torch(shape):
    n, m, p = shape
    data, qp = _problem(n, m, p, seed=3, n_active=min(2, m))
    weights = _weights(qp)

    def loss(*args):
        return _loss(djax.qp_layer(*args, eps_active=1e-7), weights)

    args = tuple(data[k] for k in NAMES)
    grads = jax.jit(jax.grad(loss, argnums=tuple(range(6))))(*args)
    expected = _torch_gradients(data, weights, eps_active=1e-7)
    for i, name in enumerate(NAMES):
        if data[name].size == 0:
            continue
        np.testing.assert_allclose(grads[i], expected[name], rtol=1e-7, atol=1e-9, err_msg=name)

        def along(x, i=i):
            return loss(*(x if j == i else a for j, a in enumerate(args)))

        fd = _central_difference(along, args[i], symmetric=name == "P")
        np.testing.assert_allclose(grads[i], fd, rtol=1e-5, atol=1e-6, err_msg=name)


def test_jacfwd_equals_jacrev_and_finite_differences():
    data, qp = _problem(seed=4)
    args = tuple(data[k] for k in NAMES)
    for i in range(6):
        def z_of(x, i=i):
            return djax.qp_layer(*(x if j == i else a for j, a in enumerate(args)))[0]

        forward = jax.jit(jax.jacfwd(z_of))(args[i])
        reverse = jax.jit(jax.jacrev(z_of))(args[i])
        if NAMES[i] == "P":
            # jacfwd sees the symmetric part of each direction; so does jacrev's symmetric gradient.
            forward = 0.5 * (forward + jnp.swapaxes(forward, -1, -2))
        np.testing.assert_allclose(forward, reverse, rtol=1e-8, atol=1e-10, err_msg=NAMES[i])
        fd = _central_difference(z_of, args[i], symmetric=NAMES[i] == "P")
        np.testing.assert_allclose(forward, fd, rtol=1e-5, atol=1e-6, err_msg=NAMES[i])


def test_jvp_gives_zero_tangent_to_inactive_multipliers():
    data, qp = _problem(seed=5)
    args = tuple(data[k] for k in NAMES)
    rng = np.random.default_rng(0)
    tangents = tuple(jnp.asarray(rng.standard_normal(a.shape)) for a in args)
    (_, _, mu), (_, _, dmu) = jax.jvp(lambda *a: djax.qp_layer(*a), args, tangents)
    inactive = np.setdiff1d(np.arange(mu.shape[0]), qp["J"])
    assert inactive.size > 0
    assert np.all(np.asarray(dmu)[inactive] == 0.0)
    assert np.any(np.asarray(dmu)[qp["J"]] != 0.0)


def _batch(B=6, n=5, m=4, p=2):
    problems = [make_qp(n, m, p, seed=10 + i, n_active=2) for i in range(B)]
    return {k: jnp.asarray(np.stack([qp[k] for qp in problems])) for k in NAMES}, problems


def test_vmap_is_one_batch_engine_call_and_equals_the_loop(monkeypatch):
    data, problems = _batch()
    calls = []
    forward = _callbacks.forward
    monkeypatch.setattr(_callbacks, "forward", lambda *a: calls.append(1) or forward(*a))
    z, lam, mu = jax.jit(jax.vmap(djax.qp_layer))(*(data[k] for k in NAMES))
    assert len(calls) == 1
    for i, qp in enumerate(problems):
        np.testing.assert_allclose(z[i], qp["z"], atol=1e-7)
        np.testing.assert_allclose(mu[i], qp["mu"], atol=1e-7)
    # A leading batch axis without vmap does the same; shared P is broadcast.
    z2, _, _ = djax.qp_layer(data["P"][0], data["q"], data["C"], data["d"], data["A"], data["b"])
    z3 = jnp.stack([djax.qp_layer(data["P"][0], *(data[k][i] for k in NAMES[1:]))[0] for i in range(len(problems))])
    np.testing.assert_allclose(z2, z3, atol=1e-10)


def test_vmapped_grad_matches_torch_batch_and_finite_differences():
    data, problems = _batch()
    rng = np.random.default_rng(2)
    weights = tuple(jnp.asarray(rng.standard_normal(data[k].shape[-1])) for k in ("q", "b", "d"))

    def total(*args):
        out = jax.vmap(djax.qp_layer)(*args)
        return jnp.sum(jax.vmap(lambda z, lam, mu: _loss((z, lam, mu), weights))(*out))

    args = tuple(data[k] for k in NAMES)
    grads = jax.jit(jax.grad(total, argnums=tuple(range(6))))(*args)
    expected = _torch_gradients(data, weights)
    for i, name in enumerate(NAMES):
        np.testing.assert_allclose(grads[i], expected[name], rtol=1e-7, atol=1e-9, err_msg=name)
    fd = _central_difference(lambda q: total(args[0], q, *args[2:]), args[1])
    np.testing.assert_allclose(grads[1], fd, rtol=1e-5, atol=1e-6)
    # Per-example Jacobians: vmap of jacfwd and of jacrev agree.
    jf = jax.vmap(jax.jacfwd(lambda q, *rest: djax.qp_layer(rest[0], q, *rest[1:])[0]))(
        args[1], args[0], *args[2:])
    jr = jax.vmap(jax.jacrev(lambda q, *rest: djax.qp_layer(rest[0], q, *rest[1:])[0]))(
        args[1], args[0], *args[2:])
    np.testing.assert_allclose(jf, jr, rtol=1e-8, atol=1e-10)


def test_float32_in_gives_float32_out_and_gradients_close_to_float64():
    data, qp = _problem(seed=6)
    weights = _weights(qp)
    args64 = tuple(data[k] for k in NAMES)
    args32 = tuple(a.astype(jnp.float32) for a in args64)
    out = djax.qp_layer(*args32)
    assert all(x.dtype == jnp.float32 for x in out)
    g32 = jax.jit(jax.grad(lambda q: _loss(djax.qp_layer(args32[0], q, *args32[2:]),
                                           tuple(w.astype(jnp.float32) for w in weights))))(args32[1])
    g64 = jax.grad(lambda q: _loss(djax.qp_layer(args64[0], q, *args64[2:]), weights))(args64[1])
    assert g32.dtype == jnp.float32
    np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


def test_degenerate_point_matches_torch():
    # Two copies of the same active row: K is singular, both layers return the least-squares derivative.
    P = jnp.eye(2) * 2.0
    q = jnp.array([-2.0, -2.0])
    C = jnp.array([[1.0, 1.0], [1.0, 1.0], [-1.0, 0.0]])
    d = jnp.array([1.0, 1.0, 5.0])
    weights = (jnp.array([1.0, -0.5]), jnp.zeros(0), jnp.array([0.3, 0.7, 0.0]))
    data = dict(P=P, q=q, C=C, d=d, A=jnp.zeros((0, 2)), b=jnp.zeros(0))
    with pytest.warns(RuntimeWarning, match="degenerate"):
        expected = _torch_gradients(data, weights)
    grads = jax.grad(lambda *a: _loss(djax.qp_layer(*a), weights), argnums=(0, 1, 2, 3))(P, q, C, d)
    for i, name in enumerate(NAMES[:4]):
        assert np.all(np.isfinite(grads[i]))
        np.testing.assert_allclose(grads[i], expected[name], rtol=1e-7, atol=1e-9, err_msg=name)


def test_infeasible_problem_raises_or_gives_nan_and_zero_gradient():
    P, q = jnp.eye(2), jnp.ones(2)
    C = jnp.array([[1.0, 0.0], [-1.0, 0.0]])
    d = jnp.array([-1.0, -1.0])          # z0 <= -1 and z0 >= 1
    with pytest.raises(Exception, match="infeasible|status"):
        jax.block_until_ready(djax.qp_layer(P, q, C, d))
    for on_failure in ("warn", "nan"):
        with pytest.warns(RuntimeWarning, match="NaN"):
            z, _, _ = djax.qp_layer(P, q, C, d, on_failure=on_failure)
        assert np.all(np.isnan(z))
        with pytest.warns(RuntimeWarning):
            g = jax.grad(lambda q: jnp.nansum(djax.qp_layer(P, q, C, d, on_failure=on_failure)[0]))(q)
        np.testing.assert_array_equal(g, 0.0)


def test_bad_inputs_name_the_argument():
    P, q = jnp.eye(3), jnp.ones(3)
    with pytest.raises(ValueError, match="P must be"):
        djax.qp_layer(jnp.eye(2), q)
    with pytest.raises(ValueError, match="C must be"):
        djax.qp_layer(P, q, jnp.ones((2, 2)), jnp.ones(2))
    with pytest.raises(ValueError, match="d is given without C"):
        djax.qp_layer(P, q, None, jnp.ones(2))
    with pytest.raises(ValueError, match="batch axis must agree"):
        djax.qp_layer(P, jnp.ones((4, 3)), jnp.ones((5, 1, 3)), jnp.ones((5, 1)))
    with pytest.raises(TypeError, match="unknown option"):
        djax.qp_layer(P, q, eps_actve=1e-6)


def test_sparse_matrices_get_an_error_naming_the_argument():
    # Not supported yet: a BCOO or scipy matrix used to fail inside numpy
    # ("setting an array element with a sequence"), naming nothing.
    import scipy.sparse
    from jax.experimental import sparse as jax_sparse
    P, q = jnp.eye(3), jnp.ones(3)
    C, d = jnp.array([[1.0, 0.0, 0.0]]), jnp.array([0.5])
    with pytest.raises(TypeError, match="P: sparse matrices .*BCOO.* not supported by dqp.jax"):
        djax.qp_layer(jax_sparse.BCOO.fromdense(P), q, C, d)
    with pytest.raises(TypeError, match="C: sparse matrices"):
        djax.qp_layer(P, q, scipy.sparse.csr_matrix(np.asarray(C)), d)
    z, _, _ = djax.qp_layer(jax_sparse.BCOO.fromdense(P).todense(), q, C, d)   # the advice works
    assert np.all(np.isfinite(z))


def test_jax_seed_example_runs():
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "jax_seed_example.py"
    spec = importlib.util.spec_from_file_location("jax_seed_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main() == 0
