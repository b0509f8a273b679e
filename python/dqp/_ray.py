"""Independent runs spread over a Ray cluster: ``--ray [ADDRESS]`` of ``dqp
diagnose FOLDER`` and of the benchmark sweeps (bench/mpc.py,
bench/maros_meszaros.py).

One Ray task per run (problem × solver). A task calls the same function the
local path calls, by module and name, so the run keeps its own isolation and
timeout (a child process killed after the timeout, inside the task) and
returns the same plain data; the caller builds the same table from it. Tasks
import that function on the worker: dqp must be installed there, and a
module outside dqp (a benchmark driver) must be at the same path on every
node (``search_path``), which a local cluster or a shared file system gives.
"""
from __future__ import annotations

import importlib
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional, Sequence

# `--ray` with no address: start a new local cluster rather than join one found on the machine.
LOCAL = "local"


def import_ray():
    """The ``ray`` module, or an ImportError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ImportError("--ray needs Ray: pip install 'dqp[ray]' (ray[train]==2.60.0)") from None
    return ray


@contextmanager
def connected(address: Optional[str] = LOCAL) -> Iterator[Any]:
    """Ray connected for the block; yields the ``ray`` module.

    An existing connection (``ray.init`` called by the caller) is used as it
    is. Otherwise ``address`` ``None`` or ``"local"`` starts a local cluster
    on this machine's cores, ``"auto"``, ``HOST:PORT`` or ``ray://HOST:PORT``
    joins a running one; the connection made here is closed on exit (a local
    cluster started here is stopped with it)."""
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    ray.init(address=address or LOCAL, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _call(search_path: Sequence[str], module: str, function: str, *args):
    """On a worker: ``module.function(*args)``, with ``search_path`` first on sys.path."""
    for entry in reversed(list(search_path)):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    return getattr(importlib.import_module(module), function)(*args)


def run_all(module: str, function: str, calls: Sequence[tuple], *, search_path: Sequence[str] = (),
            on_result: Optional[Callable[[int, Any], None]] = None,
            on_failure: Callable[[BaseException], Any] = lambda error: error) -> list:
    """``module.function(*arguments)`` for every ``arguments`` in ``calls``, one Ray task each (1 CPU).

    Returns the results in the order of ``calls``; ``on_result(index, result)``
    is called as each task finishes (progress, incremental writes). A task
    that fails as a whole (its worker died, it raised) gives
    ``on_failure(error)`` as its result: the sweep goes on. Arguments that
    are ``ray.ObjectRef`` (from ``ray.put``, to share a large problem between
    its solvers' tasks) reach the function as their values."""
    ray = import_ray()
    task = ray.remote(num_cpus=1, max_retries=0)(_call)
    path = [str(entry) for entry in search_path]
    pending = {task.remote(path, module, function, *arguments): index for index, arguments in enumerate(calls)}
    results: list = [None] * len(pending)
    waiting = list(pending)
    while waiting:
        done, waiting = ray.wait(waiting, num_returns=1)
        for reference in done:
            index = pending[reference]
            try:
                results[index] = ray.get(reference)
            except ray.exceptions.RayError as error:
                results[index] = on_failure(error)
            if on_result is not None:
                on_result(index, results[index])
    return results
