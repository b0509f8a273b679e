"""Shared pieces of the benchmark drivers: environments, worker runs, tables."""
from __future__ import annotations

import json
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
    "qpth": str(HERE / ".venv-peers" / "bin" / "python"),
    "qplayer": str(HERE / ".venv-peers" / "bin" / "python"),
    "cvxpylayers": str(HERE / ".venv-peers" / "bin" / "python"),
}


def available(impl: str) -> bool:
    return Path(ENVIRONMENTS[impl]).exists()


def run_worker(impl: str, input_path: Path, repeats: int, budget: float, timeout: float) -> dict:
    """Time `impl` on the saved inputs in its own interpreter; {"error": ...} on failure."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        output = Path(handle.name)
    command = [ENVIRONMENTS[impl], str(HERE / "_worker.py"), impl, str(input_path), str(output),
               "--repeats", str(repeats), "--budget", str(budget)]
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
