"""``dqp diagnose``: one solver on one problem, optionally in its own process.

:func:`run_solver` does the measurements (timed forward solves, timed
backward passes, a finite-difference pair) and returns plain data.
:func:`run_isolated` runs it in a child process so that a solver that
segfaults, aborts or hangs is reported instead of taking the caller down:
the child is forked from a forkserver that has imported dqp once (spawned
where there is no forkserver), its stdout/stderr go to a log whose tail
explains a crash, and a timeout kills it.
"""
from __future__ import annotations

import faulthandler
import multiprocessing
import os
import signal
import sys
import tempfile
import time
import traceback
import types
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Optional

import numpy as np

from ._engine import Engine
from ._settings import build_settings
from .problems import Problem

# Testing hook: DQP_DIAGNOSE_FAULT="osqp=crash,daqp=hang" makes those solvers'
# workers crash (SIGSEGV), hang or raise, to exercise the containment.
FAULT_VARIABLE = "DQP_DIAGNOSE_FAULT"


@dataclass
class Job:
    problem: Problem
    solver: str
    storage: str                      # "dense" or "sparse"
    settings: dict                    # build_settings options (qp_solver included)
    repeats: int
    weights: np.ndarray               # loss L = weightsᵀ z
    direction: tuple                  # (δq, δd, δb), unit norm together
    fd_step: float                    # relative step of the finite difference
    budget: Optional[float] = None    # seconds after which no more repeats start
    fault: Optional[str] = None


def faults_from_environment() -> dict:
    spec = os.environ.get(FAULT_VARIABLE, "")
    faults = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        solver, _, kind = item.partition("=")
        faults[solver.strip()] = kind.strip() or "crash"
    return faults


def _inject(fault: str) -> None:
    if fault == "hang":
        while True:
            time.sleep(3600)
    if fault == "raise":
        raise RuntimeError("injected failure (DQP_DIAGNOSE_FAULT)")
    if fault == "crash":
        if hasattr(signal, "SIGSEGV") and os.name != "nt":
            os.kill(os.getpid(), signal.SIGSEGV)
        os.abort()


def _timed(function, repeats: int, budget: Optional[float], started: float):
    """Results and wall times of up to ``repeats`` calls (at least one) within the budget."""
    times, result = [], None
    for i in range(repeats):
        if i > 0 and budget is not None and time.perf_counter() - started > budget:
            break
        tick = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - tick)
    return result, times


def run_solver(job: Job) -> dict:
    """Measure one solver; every value is plain Python / numpy (picklable)."""
    if job.fault:
        _inject(job.fault)
    started = time.perf_counter()
    sparse = job.storage == "sparse"
    engine = Engine(build_settings(**job.settings))
    problem = job.problem
    data = problem.engine_data(sparse)

    # The first call pays lazy imports and allocations: not timed.
    solution, message = engine.forward(sparse, data)
    if solution.optimal:
        (solution, message), solve_times = _timed(lambda: engine.forward(sparse, data), job.repeats, job.budget,
                                                  started)
    else:
        solve_times = []
    out = {
        "status": solution.status, "message": message, "solve_times": solve_times,
        "z": np.array(solution.z), "lam": np.array(solution.lam), "mu": np.array(solution.mu),
        "active": [int(i) for i in solution.active], "degenerate": bool(solution.degenerate),
        "degenerate_reason": solution.degenerate_reason, "polished": bool(solution.polished),
        "duals_recovered": bool(solution.duals_recovered), "iterations": int(solution.iterations),
        "solved_storage": solution.storage, "derivative_times": [],
    }
    if not (solution.optimal and solution.differentiable):
        return out

    dz, dlam, dmu = job.weights, np.zeros(problem.p), np.zeros(problem.m)
    engine.backward(sparse, data, solution, dz, dlam, dmu)
    grads, out["derivative_times"] = _timed(lambda: engine.backward(sparse, data, solution, dz, dlam, dmu),
                                            job.repeats, job.budget, started)
    out["grad_q"], out["grad_d"], out["grad_b"] = (np.array(grads[i]) for i in (1, 3, 5))

    # Central difference of L along the direction; z is piecewise affine in (q, d, b),
    # so it is exact up to solver noise while the active set does not change. Moving d
    # or b can make a problem infeasible (dependent equalities, a pinched feasible set):
    # then q alone is moved, which never does.
    P, q, C, d, A, b = data
    scale = max([1.0] + [float(np.max(np.abs(v))) for v in (q, d, b) if v.size])
    step = job.fd_step * scale
    dq, dd, db = job.direction
    q_only = (dq / (np.linalg.norm(dq) or 1.0), np.zeros_like(dd), np.zeros_like(db))
    for label, (dq, dd, db) in (("q, d, b", (dq, dd, db)), ("q", q_only)):
        ends = [engine.forward(sparse, (P, q + sign * step * dq, C, d + sign * step * dd, A, b + sign * step * db))[0]
                for sign in (1.0, -1.0)]
        if all(end.optimal for end in ends):
            out["fd_direction"] = label
            out["fd_step"] = step
            out["fd_analytic"] = float(out["grad_q"] @ dq + out["grad_d"] @ dd + out["grad_b"] @ db)
            out["fd_numeric"] = float(job.weights @ (ends[0].z - ends[1].z) / (2 * step))
            out.pop("fd_message", None)
            break
        out["fd_message"] = f"perturbed solves failed: {', '.join(sorted({end.status for end in ends}))}"
    else:
        out["fd_analytic"] = out["fd_numeric"] = None
    return out


# ---------------------------------------------------------------------------
# Isolation
# ---------------------------------------------------------------------------

def _context():
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        # Import dqp (and torch) once in the server instead of in every worker. Naming
        # the module also keeps the server from re-running the caller's __main__.
        context.set_forkserver_preload([__name__, "qpsolvers"])
        return context
    return multiprocessing.get_context("spawn")


@contextmanager
def _without_main():
    """Hide ``__main__`` while a worker starts.

    multiprocessing re-imports the parent's main script in every child: a
    script without an ``if __name__ == "__main__"`` guard would run again
    there, and code read from stdin cannot be re-imported at all. Workers
    need nothing from it.
    """
    main = sys.modules.get("__main__")
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        if main is not None:
            sys.modules["__main__"] = main


def _child(connection, job: Job, log_path: str) -> None:
    log = open(log_path, "a", buffering=1)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(log.fileno(), 1)          # solvers print from C: redirect the file descriptors
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    faulthandler.enable(log)
    try:
        result = run_solver(job)
    except BaseException as error:  # reported to the parent, like any failure
        traceback.print_exc(file=log)
        result = {"status": "error", "message": f"{type(error).__name__}: {error}"}
    connection.send(result)
    connection.close()


def _tail(path: str, lines: int = 6) -> str:
    """The end of a dead worker's output: faulthandler's report (innermost frames) or the last lines."""
    try:
        with open(path, errors="replace") as handle:
            kept = [line.rstrip() for line in handle if line.strip()]
    except OSError:
        return ""
    fatal = next((i for i, line in enumerate(kept) if line.startswith("Fatal Python error")), None)
    if fatal is not None:
        frames = [line for line in kept[fatal + 1:] if line.lstrip().startswith("File ")]
        return "\n".join([kept[fatal]] + frames[:3])
    return "\n".join(kept[-lines:])


def _describe_exit(code: Optional[int]) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code} without a result"


def run_isolated(job: Job, timeout: Optional[float]) -> dict:
    """:func:`run_solver` in a child process; a crash or timeout becomes a status."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    handle, log_path = tempfile.mkstemp(prefix=f"dqp-diagnose-{job.solver.replace(':', '-')}-", suffix=".log")
    os.close(handle)
    process = context.Process(target=_child, args=(sender, job, log_path), daemon=True,
                              name=f"dqp-diagnose-{job.solver}")
    try:
        with _without_main():
            process.start()
        sender.close()
        ready = wait([receiver, process.sentinel], timeout)
        if not ready:
            process.kill()
            process.join()
            return {"status": "timeout", "message": f"no result within {timeout:g} s; the worker was killed"}
        result = None
        if receiver in ready:
            try:
                result = receiver.recv()
            except (EOFError, OSError):
                result = None
        if result is not None:
            process.join(timeout=5)
            return result
        process.join()
        tail = _tail(log_path)
        message = f"worker {_describe_exit(process.exitcode)}" + (f"; last output:\n{tail}" if tail else "")
        return {"status": "crashed", "message": message}
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
            process.join()
        try:
            os.unlink(log_path)
        except OSError:
            pass
