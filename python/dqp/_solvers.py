"""Which forward and linear solvers this installation has."""
from __future__ import annotations

from typing import Optional

from . import _bridge, _core

# The native chain: DAQP then ProxQP for small dense problems (n < 100), PIQP for the others,
# then the rest (HiGHS too for sparse problems) when an answer fails or is inaccurate.
NATIVE_DEFAULT = "auto"
BRIDGE_PREFIX = "qpsolvers:"


def available_solvers() -> dict[str, dict]:
    """Forward solvers: name -> {"kind", "dense", "sparse", "duals"}.

    Native solvers run inside the C++ core with the GIL released; "qpsolvers"
    ones run their solve through the qpsolvers package. A name that is both
    is native; ``"qpsolvers:NAME"`` forces the bridge. ``python -m dqp
    solvers`` prints the same list.

    Example:
        >>> import dqp
        >>> dqp.available_solvers()["daqp"]
        {'kind': 'native', 'dense': True, 'sparse': False, 'duals': True}
    """
    solvers = {}
    qpsolvers = _bridge.qpsolvers_module()
    for name in qpsolvers.available_solvers:
        solvers[name] = {
            "kind": "qpsolvers",
            "dense": name in qpsolvers.dense_solvers,
            "sparse": name in qpsolvers.sparse_solvers,
            "duals": name in _bridge.SOLVERS_WITH_DUALS,
        }
    for name, info in _core.native_solvers().items():
        solvers[name] = {"kind": "native", "dense": info["dense"], "sparse": info["sparse"], "duals": info["duals"]}
    return solvers


def available_linear_solvers() -> dict[str, dict]:
    """Linear solvers for the reduced KKT system: name -> capabilities
    (``kind``, ``dense``, ``sparse``, ``least_squares``, ``description``).
    Pass a name as ``lin_solver``; ``"auto"`` (the default) picks by storage.

    Example:
        >>> import dqp
        >>> solvers = dqp.available_linear_solvers()
        >>> "lu" in solvers and solvers["lu"]["dense"]
        True
    """
    solvers = {}
    for name, info in _core.linear_solvers().items():
        solvers[name] = {"kind": "native", **info}
    return solvers


def resolve_qp_solver(name: Optional[str]) -> tuple[str, bool]:
    """(solver name, is_native) for a user-facing name; ValueError if unknown."""
    if name is None or name == NATIVE_DEFAULT:
        return NATIVE_DEFAULT, True
    if name in _core.native_solvers():
        return name, True
    bridged = name[len(BRIDGE_PREFIX):] if name.startswith(BRIDGE_PREFIX) else name
    qpsolvers = _bridge.qpsolvers_module()
    if bridged in qpsolvers.available_solvers:
        return bridged, False
    known = sorted(set(_core.native_solvers()) | set(qpsolvers.available_solvers))
    raise ValueError(f"qp_solver: unknown or uninstalled solver '{name}'; available solvers are: {', '.join(known)}")


def resolve_linear_solver(name: Optional[str]) -> str:
    """Registry name for a user-facing linear solver name; ValueError if unknown."""
    return _core.resolve_linear_solver_name("auto" if name is None else name)
