"""Warnings that point at the user's line, not at dqp's or torch's internals."""
from __future__ import annotations

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_TORCH = None


def _internal(filename: str) -> bool:
    global _TORCH
    if _TORCH is None:
        import torch
        _TORCH = os.path.dirname(os.path.abspath(torch.__file__))
    path = os.path.abspath(filename)
    return path.startswith(_PACKAGE + os.sep) or path.startswith(_TORCH + os.sep)


def warn(message: str, category=RuntimeWarning) -> None:
    """warnings.warn at the first frame outside dqp and torch: the user's
    ``layer(...)`` line, however many module, autograd and compile wrappers
    lie in between."""
    level, frame = 2, sys._getframe(1)     # stacklevel 2: warn's caller
    while frame is not None and _internal(frame.f_code.co_filename):
        level += 1
        frame = frame.f_back
    warnings.warn(message, category, stacklevel=level)
