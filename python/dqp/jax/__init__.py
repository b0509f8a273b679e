"""dqp for JAX: ``dqp.jax.qp_layer(P, q, C, d, A, b, **settings)``.

Needs ``jax`` (``pip install "dqp[jax]"``). See :func:`qp_layer`.
"""
from __future__ import annotations

try:
    import jax  # noqa: F401
except ImportError as error:
    raise ImportError('dqp.jax needs JAX: pip install "dqp[jax]" (or pip install jax)') from error

from ._layer import qp_layer

__all__ = ["qp_layer"]
