"""``qp_layer``: dqp's QP layer as a JAX function.

Forward: a ``jax.pure_callback`` into dqp's C++ engine (a vmapped call is one
batch-engine call). Derivative: a ``jax.custom_jvp`` rule linear in the
tangents, on the forward's active set J (x = [z; λ; μ], μ zero off J):

    K ẋ = −[Ṗz + q̇ + Ȧᵀλ + Ċᵀμ;  Ȧz − ḃ;  a∘(Ċz − ḋ)],
    K   = [[P, Aᵀ, Cᵀdiag(a)], [A, 0, 0], [diag(a)C, 0, I − diag(a)]],

a the 0/1 indicator of J: the reduced KKT matrix, extended by an identity on
the inactive μ so that it is symmetric and of fixed size. K⁻¹ is applied by
``jax.lax.custom_linear_solve`` whose solve is a callback into the same C++
factorization the forward uses; JAX transposes the rule for reverse mode, so
jvp, jacfwd, grad, vjp, jacrev, vmap and jit all come from it.
"""
from __future__ import annotations

import functools
import sys
from typing import Optional

import jax
import jax.numpy as jnp

from .. import _settings
from .._engine import Engine
from . import _callbacks

_ENGINES: dict = {}


def _frozen(value):
    if isinstance(value, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


class _Options:
    """Hashable settings (a static argument of the custom_jvp) owning their engine."""

    def __init__(self, settings: dict):
        self.settings = settings
        self.key = _frozen(settings)

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Options) and other.key == self.key

    @property
    def engine(self) -> Engine:
        engine = _ENGINES.get(self.key)
        if engine is None:
            engine = _ENGINES[self.key] = Engine(self.settings)
        return engine


def _forward_call(options: _Options, P, q, C, d, A, b):
    n, m, p = q.shape[-1], d.shape[-1], b.shape[-1]
    shapes = (jax.ShapeDtypeStruct((n,), q.dtype), jax.ShapeDtypeStruct((p,), q.dtype),
              jax.ShapeDtypeStruct((m,), q.dtype), jax.ShapeDtypeStruct((m,), jnp.bool_),
              jax.ShapeDtypeStruct((), jnp.bool_))
    return jax.pure_callback(functools.partial(_callbacks.forward, options.engine), shapes,
                             P, q, C, d, A, b, vmap_method="expand_dims")


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _qp(options: _Options, P, q, C, d, A, b):
    z, lam, mu, _, _ = _forward_call(options, P, q, C, d, A, b)
    return z, lam, mu


@_qp.defjvp
def _qp_jvp(options: _Options, primals, tangents):
    P, q, C, d, A, b = primals
    dP, dq, dC, dd, dA, db = tangents
    z, lam, mu, active, ok = _forward_call(options, P, q, C, d, A, b)
    n, p = z.shape[0], lam.shape[0]
    a = active.astype(z.dtype)
    # A failed solve has no derivative: zero tangents, and no NaN from its
    # point leaks into the linear map (reverse mode multiplies by it).
    zs, lams, mus = (jnp.where(ok, x, 0) for x in (z, lam, mu))
    dP = 0.5 * (dP + dP.T)      # P is symmetric: its derivative is taken on symmetric directions
    r_z = -(dP @ zs + dq + dA.T @ lams + dC.T @ (a * mus))
    r_lam = db - dA @ zs
    r_mu = a * (dd - dC @ zs)
    rhs = jnp.concatenate([r_z, r_lam, r_mu])

    def matvec(v):
        vz, vlam, vmu = v[:n], v[n:n + p], v[n + p:]
        return jnp.concatenate([P @ vz + A.T @ vlam + C.T @ (a * vmu), A @ vz, a * (C @ vz) + (1 - a) * vmu])

    def solve(_, right):
        return jax.pure_callback(functools.partial(_callbacks.solve, options.engine),
                                 jax.ShapeDtypeStruct(right.shape, right.dtype),
                                 P, C, A, active, right, vmap_method="expand_dims")

    dx = jax.lax.custom_linear_solve(matvec, rhs, solve, symmetric=True)
    dx = jnp.where(ok, dx, 0)
    return (z, lam, mu), (dx[:n], dx[n:n + p], dx[n + p:])


def _as_array(value, name: str, ndim: int, dtype) -> jax.Array:
    array = jnp.asarray(value)
    if array.ndim not in (ndim, ndim + 1):
        raise ValueError(f"{name} must have {ndim} dimensions (or {ndim + 1} with a leading batch axis), "
                         f"got shape {tuple(array.shape)}")
    return array.astype(dtype)


def _refuse_sparse(named) -> None:
    """A clear error for sparse matrices, which the JAX front does not take yet
    (jnp.asarray of a BCOO fails deep inside numpy with no name)."""
    from jax.experimental import sparse as jax_sparse
    scipy_sparse = sys.modules.get("scipy.sparse")
    for name, value in named:
        if isinstance(value, jax_sparse.JAXSparse) or (scipy_sparse is not None and scipy_sparse.issparse(value)):
            raise TypeError(f"{name}: sparse matrices ({type(value).__name__}) are not supported by dqp.jax yet; "
                            f"pass a dense array ({name}.todense()), or use the torch layer dqp.QPLayer, "
                            "which takes sparse tensors")


def qp_layer(P, q, C=None, d=None, A=None, b=None, **settings):
    """Solve ``minimize ½ zᵀPz + qᵀz s.t. Cz ≤ d, Az = b`` and return ``(z, lam, mu)``.

    Differentiable in every input under ``jax.jvp``/``jacfwd`` and
    ``jax.grad``/``vjp``/``jacrev``, inside ``jax.jit`` and ``jax.vmap``.
    A leading batch axis on any input solves a batch (unbatched inputs are
    shared), as does ``jax.vmap``: both reach dqp's C++ batch engine in one
    call. Inputs are dense ``jax.numpy`` arrays; float32 in gives float32
    out, float64 needs ``jax_enable_x64`` (dqp computes in float64).
    ``settings`` are those of :func:`dqp.build_settings`, e.g.
    ``qp_solver="daqp"``, ``eps_active=1e-6``, ``on_failure="nan"``.

    The gradient with respect to P is symmetric, ½(gzᵀ + zgᵀ), as in the
    torch layer; at a degenerate point the derivative is that of the active
    set the forward polished on (least squares where its KKT matrix is
    singular), as in the torch layer.
    """
    _refuse_sparse(zip("PqCdAb", (P, q, C, d, A, b)))
    options = _Options(_settings.build_settings(**settings))
    floats = [x for x in (P, q, C, d, A, b) if x is not None]
    dtype = jnp.result_type(*floats)
    if not jnp.issubdtype(dtype, jnp.floating):
        dtype = jnp.result_type(float)
    P = _as_array(P, "P", 2, dtype)
    q = _as_array(q, "q", 1, dtype)
    n = q.shape[-1]
    if P.shape[-2:] != (n, n):
        raise ValueError(f"P must be ({n}, {n}) to match q of length {n}, got shape {tuple(P.shape)}")
    C, d = _pair(C, d, "C", "d", n, dtype)
    A, b = _pair(A, b, "A", "b", n, dtype)
    args = (P, q, C, d, A, b)
    batched = [x.ndim == base + 1 for x, base in zip(args, _callbacks.BASE_NDIM)]
    if not any(batched):
        return _qp(options, *args)
    sizes = {x.shape[0] for x, is_batched in zip(args, batched) if is_batched}
    if len(sizes) > 1:
        raise ValueError(f"inputs with a leading batch axis must agree on its size, got sizes {sorted(sizes)}")
    axes = tuple(0 if is_batched else None for is_batched in batched)
    return jax.vmap(functools.partial(_qp, options), in_axes=axes)(*args)


def _pair(M, v, matrix_name: str, vector_name: str, n: int, dtype):
    if (M is None) != (v is None):
        given, missing = (matrix_name, vector_name) if v is None else (vector_name, matrix_name)
        raise ValueError(f"{given} is given without {missing}: pass both or neither")
    if M is None:
        return jnp.zeros((0, n), dtype), jnp.zeros((0,), dtype)
    M = _as_array(M, matrix_name, 2, dtype)
    v = _as_array(v, vector_name, 1, dtype)
    rows = v.shape[-1]
    if M.shape[-2:] != (rows, n):
        raise ValueError(f"{matrix_name} must be ({rows}, {n}) to match {vector_name} of length {rows} and "
                         f"q of length {n}, got shape {tuple(M.shape)}")
    return M, v
