"""The seed package's API: ``from dqp import dQP``.

    settings = dQP.build_settings(qp_solver="osqp", lin_solver="qdldl", empty_batch=False)
    layer = dQP.dQP_layer(settings=settings)
    z, lam, mu, t_solve, t_total = layer(P, q, C, d)   # A, b optional

Outputs match the reference: z, the equality duals λ, all inequality duals μ
(exactly zero off the active set), and the solve and total times (None unless
``time=True``). ``empty_batch=True`` (the default) gives a single problem a
leading batch axis of size 1. ``layer.active`` and ``layer.nActive`` describe
the active set of the last call.
"""
from __future__ import annotations

from typing import Optional

import torch

from ._settings import build_settings
from ._layer import QPLayer

__all__ = ["build_settings", "dQP_layer"]


class dQP_layer(QPLayer):  # noqa: N801 - the seed's name
    """Seed-compatible differentiable QP layer; see :func:`build_settings`.

    ``layer(P, q, C, d[, A, b])`` returns ``(z, lam, mu, t_solve, t_total)``
    like the seed's layer; with ``empty_batch=True`` (the seed's default) an
    unbatched call's outputs get a leading axis of size 1. Everything else is
    :class:`dqp.QPLayer`'s behaviour.

    Example:
        >>> import torch
        >>> from dqp import dQP
        >>> layer = dQP.dQP_layer(settings=dQP.build_settings())
        >>> P = 2 * torch.eye(2, dtype=torch.float64)
        >>> C = torch.tensor([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
        >>> d = torch.tensor([-1.0, 0.0, 0.0], dtype=torch.float64)
        >>> z, lam, mu, t_solve, t_total = layer(P, torch.zeros(2, dtype=torch.float64), C, d)
        >>> tuple(z.shape), z.round(decimals=8).tolist()
        ((1, 2), [[0.5, 0.5]])
    """

    def __init__(self, settings: Optional[dict] = None):
        settings = build_settings() if settings is None else build_settings(**settings)
        torch_options = dict(settings)
        super().__init__(**torch_options)
        # The seed exposes every setting as an attribute of the layer.
        for key, value in settings.items():
            if not hasattr(type(self), key):
                setattr(self, key, value)

    @torch.compiler.disable
    def forward(self, P, q, C=None, d=None, A=None, b=None):
        """Solve and return ``(z, lam, mu, t_solve, t_total)``; the times are None unless ``time=True``.

        Inputs and the batch rule are those of :meth:`dqp.QPLayer.forward`:
        P (n, n) or (B, n, n) (torch sparse, or a list of them, with
        ``solve_type='sparse'``), q (n,) or (B, n), C (m, n), d (m,),
        A (p, n), b (p,), each optionally with a leading batch axis. An input
        with a batch axis keeps it in the outputs whatever its size;
        ``empty_batch=True`` (this layer's default) gives a fully unbatched
        call outputs of shape (1, n), (1, p), (1, m); with
        ``empty_batch=False`` they are (n,), (p,), (m,).
        """
        z, lam, mu, t_solve, t_total = self._run(P, q, C, d, A, b, self.settings["solve_type"])
        if self.settings["time"]:
            if self.settings["verbose"]:
                print(f"### Time solve: {t_solve:.3e} s, total: {t_total:.3e} s")
            return z, lam, mu, t_solve, t_total
        return z, lam, mu, None, None
