"""Options of the layer: the seed package's names and defaults, plus ours."""
from __future__ import annotations

import difflib
import numbers
from typing import Any

# The seed's options with its defaults (see the seed README and REFERENCE.md).
SEED_DEFAULTS: dict[str, Any] = {
    "qp_solver": None,            # None: "auto", dqp's native chain (ProxQP dense, PIQP sparse)
    "lin_solver": None,           # None: chosen by storage ("auto")
    "solve_type": "dense",        # "dense" or "sparse": must match the inputs
    "eps_abs": 1e-6,
    "eps_rel": 0.0,
    "eps_active": 1e-5,
    "dual_available": None,       # None: trust the solver's duals when it returns them
    "normalize_constraints": False,
    "refine_active": False,
    "warm_start_from_previous": False,
    "omp_parallel": False,
    "n_cpu": None,
    "empty_batch": True,
    "qp_solver_keywords": None,
    "verbose": False,
    "time": False,
    "check_PSD": False,
}

# dqp's own options.
EXTRA_DEFAULTS: dict[str, Any] = {
    "polish": True,               # take the reduced-KKT point when it satisfies KKT
    "on_failure": "raise",        # "raise", "warn" or "nan" for a failed solve
    "max_iter": 10000,
    "fallback_solvers": None,     # native solvers tried in order when qp_solver fails
    "time_limit": None,           # seconds per forward solve (native solvers that take one)
    "n_threads": None,            # batch threads; None: n_cpu with omp_parallel, else every core
    "storage": "auto",            # dense inputs: "auto" (sparse path when large and mostly zeros), "input", "sparse"
}

DEFAULTS = {**SEED_DEFAULTS, **EXTRA_DEFAULTS}


def batch_threads(settings: dict) -> int:
    """Threads for a batch: n_threads, else n_cpu with omp_parallel, else torch's per-process count.

    torch.get_num_threads() follows OMP_NUM_THREADS and torch.set_num_threads,
    and torchrun sets OMP_NUM_THREADS=1 for each of several processes, so
    processes sharing a machine (DDP, Ray workers) do not oversubscribe it.
    """
    if settings["n_threads"] is not None:
        return settings["n_threads"]
    if settings["omp_parallel"] and settings["n_cpu"]:
        return settings["n_cpu"]
    import torch   # dqp's torch front imports it anyway; here only its thread setting is read
    return max(1, torch.get_num_threads())


def _fail(name: str, expected: str, value: Any) -> None:
    raise ValueError(f"{name} must be {expected}, got {value!r}")


def _check_flag(settings: dict, name: str) -> None:
    if not isinstance(settings[name], (bool, int)) or settings[name] not in (True, False, 0, 1):
        _fail(name, "True or False", settings[name])


def _check_positive(settings: dict, name: str, allow_zero: bool = False) -> None:
    value = settings[name]
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and value == value and value < float("inf")
    if not ok or value < 0 or (value == 0 and not allow_zero):
        _fail(name, "a finite number " + (">= 0" if allow_zero else "> 0"), value)


def build_settings(**options: Any) -> dict:
    """Settings for :class:`dqp.dQP.dQP_layer`, as a dict (the seed's API).

    Every option of the seed package is accepted with its default; unknown
    names raise a TypeError that lists the known ones, and a bad value a
    ValueError naming the option. The table of options is in the user guide
    (Settings).

    Example:
        >>> from dqp import dQP
        >>> settings = dQP.build_settings(qp_solver="daqp", eps_active=1e-6)
        >>> settings["qp_solver"], settings["eps_abs"], settings["empty_batch"]
        ('daqp', 1e-06, True)
    """
    unknown = [name for name in options if name not in DEFAULTS]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, DEFAULTS, n=1)
            hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        raise TypeError(f"unknown option {', '.join(hints)}; known options are: {', '.join(sorted(DEFAULTS))}")
    settings = {**DEFAULTS, **options}
    validate(settings)
    return settings


def validate(settings: dict) -> None:
    for name in ("normalize_constraints", "refine_active", "warm_start_from_previous", "omp_parallel",
                 "empty_batch", "verbose", "time", "check_PSD", "polish"):
        _check_flag(settings, name)
    for name in ("eps_abs", "eps_rel"):
        _check_positive(settings, name, allow_zero=True)
    _check_positive(settings, "eps_active")
    if settings["eps_abs"] == 0 and settings["eps_rel"] == 0:
        raise ValueError("eps_abs and eps_rel cannot both be 0")
    if settings["solve_type"] not in ("dense", "sparse"):
        _fail("solve_type", "'dense' or 'sparse'", settings["solve_type"])
    if settings["storage"] not in ("auto", "input", "sparse"):
        _fail("storage", "'auto', 'input' or 'sparse'", settings["storage"])
    if settings["dual_available"] not in (None, True, False):
        _fail("dual_available", "None, True or False", settings["dual_available"])
    if settings["on_failure"] not in ("raise", "warn", "nan"):
        _fail("on_failure", "'raise', 'warn' or 'nan'", settings["on_failure"])
    for name in ("n_cpu", "n_threads"):
        value = settings[name]
        if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
            _fail(name, "None or an integer >= 1", value)
    if not isinstance(settings["max_iter"], int) or settings["max_iter"] < 1:
        _fail("max_iter", "an integer >= 1", settings["max_iter"])
    fallbacks = settings["fallback_solvers"]
    if isinstance(fallbacks, str):
        settings["fallback_solvers"] = fallbacks = [fallbacks]
    if fallbacks is not None and (not isinstance(fallbacks, (list, tuple))
                                  or not all(isinstance(f, str) for f in fallbacks)):
        _fail("fallback_solvers", "None, a solver name or a list of them", fallbacks)
    limit = settings["time_limit"]
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))
                              or not limit > 0 or limit == float("inf")):
        _fail("time_limit", "None or a finite number of seconds > 0", limit)
    keywords = settings["qp_solver_keywords"]
    if keywords is not None and not isinstance(keywords, dict):
        _fail("qp_solver_keywords", "None or a dict", keywords)
    for name in ("qp_solver", "lin_solver"):
        if settings[name] is not None and not isinstance(settings[name], str):
            _fail(name, "None or a solver name (str)", settings[name])
