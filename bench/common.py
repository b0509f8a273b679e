"""Shared pieces of the benchmark drivers: environments, worker runs, tables."""
from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
INPUTS = RESULTS / "inputs"

# Which interpreter runs which implementation.
ENVIRONMENTS = {
    "dqp": sys.executable,
    "dqp-1thread": sys.executable,
    "libdqp": str(HERE / ".venv-libdqp" / "bin" / "python"),
    "libdqp-daqp": str(HERE / ".venv-libdqp" / "bin" / "python"),
    "qpth": str(HERE / ".venv-peers" / "bin" / "python"),
    "qplayer": str(HERE / ".venv-peers" / "bin" / "python"),
    "cvxpylayers": str(HERE / ".venv-peers" / "bin" / "python"),
}


def available(impl: str) -> bool:
    return Path(ENVIRONMENTS[impl]).exists()


def run_worker(impl: str, input_path: Path, repeats: int, budget: float, timeout: float,
               script: str = "_worker.py", extra: tuple = ()) -> dict:
    """Time `impl` on the saved inputs in its own interpreter; {"error": ...} on failure.

    `script` is the worker (`_worker.py`: dense batches; `_worker_qp.py`: one QP shared by a batch, dense or
    sparse storage), `extra` more arguments for it. The process is killed after `timeout` seconds."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        output = Path(handle.name)
    command = [ENVIRONMENTS[impl], str(HERE / script), impl, str(input_path), str(output),
               "--repeats", str(repeats), "--budget", str(budget), *map(str, extra)]
    env = dict(os.environ, PYTHONPATH="")
    try:
        completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE)
        if completed.returncode != 0:
            tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit {completed.returncode}: {tail[0][:200]}"}
        return json.loads(output.read_text())
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    finally:
        output.unlink(missing_ok=True)


def median(values) -> float:
    return statistics.median(values) if values else float("nan")


def machine_line() -> str:
    import numpy
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = "n/a"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, torch {torch_version}, "
            f"numpy {numpy.__version__}")


def peer_versions() -> str:
    versions = []
    for impl, packages in (("libdqp", ["libdqp"]), ("qpth", ["qpth", "proxsuite", "cvxpylayers"])):
        python = ENVIRONMENTS[impl]
        if not Path(python).exists():
            continue
        code = ("import importlib.metadata as m; print(', '.join(f'{p} {m.version(p)}' for p in "
                + repr(packages) + "))")
        result = subprocess.run([python, "-c", code], capture_output=True, text=True)
        if result.returncode == 0:
            versions.append(result.stdout.strip())
    return "; ".join(versions)


# ---------------------------------------------------------------------------
# Helpers of the structured and Maros–Meszaros peer drivers (structured.py, mm_peers.py)
# ---------------------------------------------------------------------------

def save_qp(path: Path, P, q, C, d, A, b, w) -> None:
    """One QP for `_worker_qp.py`: the matrices P, C, A (scipy sparse, shared by the batch) as CSC arrays,
    the vectors q, d, b and the loss weights w with a leading batch axis (B, ·)."""
    import numpy as np
    import scipy.sparse as sp

    arrays = {}
    for key, matrix in (("P", P), ("C", C), ("A", A)):
        matrix = sp.csc_matrix(matrix)
        matrix.sum_duplicates()
        matrix.sort_indices()
        arrays.update({f"{key}_indptr": matrix.indptr.astype(np.int64), f"{key}_indices": matrix.indices.astype(np.int64),
                       f"{key}_data": matrix.data.astype(np.float64), f"{key}_shape": np.array(matrix.shape)})
    for key, vector in (("q", q), ("d", d), ("b", b), ("w", w)):
        arrays[key] = np.atleast_2d(np.asarray(vector, dtype=np.float64))
    np.savez(path, **arrays)


def dqp_version() -> str:
    """dqp's version, where it is installed, and the repository's commit.

    A dqp imported from this repository (editable install) is the tree at that commit, plus any uncommitted
    library changes (said so); one installed elsewhere (e.g. a venv built from a clean checkout) is named by
    its install folder, and the commit is only the repository's, not necessarily the build's."""
    root = HERE.parent
    try:
        import dqp
        version = getattr(dqp, "__version__", "?")
        location = Path(dqp.__file__).resolve().parent
    except Exception as error:  # the tables do not depend on it
        return f"dqp (import failed: {type(error).__name__})"
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "python", "src", "include", "CMakeLists.txt"],
                               cwd=root, capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"dqp {version} ({location})"
    if root in location.parents:
        return f"dqp {version} (this repository at commit {commit}" + (
            ", with uncommitted library changes in the tree" if dirty else "") + ")"
    return f"dqp {version} (installed in {location.parent}{_build_source(location)}; repository at commit {commit})"


def _build_source(location: Path) -> str:
    """', built from DIR (a git checkout at commit X now)' when pip recorded a local source folder."""
    try:
        import importlib.metadata

        direct = importlib.metadata.distribution("dqp").read_text("direct_url.json")
        url = json.loads(direct or "{}").get("url", "")
        if not url.startswith("file://"):
            return ""
        source = url[len("file://"):]
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=source, capture_output=True, text=True)
        return f", built from {source}" + (f" (a git checkout, at commit {head.stdout.strip()} now)"
                                           if head.returncode == 0 else "")
    except Exception:  # only a note
        return ""


def fmt_time(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_ratio(ratio) -> str:
    if ratio is None or (isinstance(ratio, float) and math.isnan(ratio)):
        return "-"
    if ratio < 0.1:
        return f"{ratio:.2g}×"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×" if ratio >= 100 else f"{ratio:.1f}×"


def write_rows(path: Path, rows: list, fields: list) -> None:
    """CSV of dict rows; floats with 6 significant digits, missing keys empty."""
    import csv

    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else "" if v is None else v)
                             for k, v in row.items()})
    tmp.replace(path)


def progress_bar():
    """A rich progress display (spinner, bar, done/total, elapsed, remaining); its .console prints above it."""
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                               TimeElapsedColumn, TimeRemainingColumn)

    from rich.console import Console

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
                    console=Console(soft_wrap=True))  # log lines unbroken when the output is a file


def command_line(script: str, argv) -> str:
    import shlex

    return "python bench/" + script + "".join(" " + shlex.quote(a) for a in argv)
