"""dqp: differentiable quadratic programming with a C++ core.

    minimize ½ zᵀ P z + qᵀ z   subject to   C z ≤ d,   A z = b

* ``dqp.QPLayer``: a torch module returning (z, λ, μ), differentiable in all
  of P, q, C, d, A, b; dense or sparse, batched or not, float32 or float64.
* ``from dqp import dQP``: the seed package's API (``dQP.build_settings``,
  ``dQP.dQP_layer``), so its users switch by changing one import.
* ``dqp.solve``: one QP on numpy / scipy data.
* ``dqp.available_solvers()``, ``dqp.available_linear_solvers()``.
* ``dqp.diagnose``: which solver suits a problem (also ``dqp diagnose``);
  ``dqp.load_problem``: .npz and Maros–Meszaros .mat files.
"""
from __future__ import annotations

try:
    import torch  # noqa: F401
except ImportError as error:  # pragma: no cover - environment problem
    raise ImportError("dqp needs PyTorch: install a CPU build first, e.g. pip install torch==2.13.0") from error

from . import _core
from . import dQP
from ._function import GradientOverflowError, QPSolveError
from ._layer import QPLayer
from ._numpy_api import QPResult, solve
from ._settings import build_settings
from ._solvers import available_linear_solvers, available_solvers
from .diagnose import diagnose
from .problems import load_problem

__version__ = "0.1.0"

__all__ = [
    "GradientOverflowError", "QPLayer", "QPResult", "QPSolveError", "available_linear_solvers", "available_solvers",
    "build_settings", "dQP", "diagnose", "load_problem", "solve", "__version__",
]
