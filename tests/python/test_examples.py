"""Smoke tests of the runnable examples (examples/): each runs with its tiny setting and must show that it
worked — every solver agrees with the closed forms, every grid point is solved, the Sudoku model beats its
untrained self on held-out puzzles, the MPC imitation loss falls by half, the mesh flips fewer triangles."""
from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(relative: str):
    """Import an example script as a module (its folder on sys.path for its sibling modules)."""
    path = EXAMPLES / relative
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(f"example_{path.parent.name}_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


def test_all_solvers_agree_with_the_closed_forms(capsys):
    assert load("all_solvers.py").main([]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("OK:")
    assert any(line.startswith("daqp ") and "native" in line for line in lines)


def test_critical_regions_solves_every_grid_point(tmp_path):
    result = load("critical_regions/critical_regions.py").main(["--quick", "--out", str(tmp_path)])
    assert result["problems"] == 21 * 21
    assert result["solved"] == result["problems"]
    assert result["regions"] >= 4          # several active sets, not one
    assert (tmp_path / "critical_regions.png").stat().st_size > 10_000
    with open(tmp_path / "critical_regions.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == result["problems"]
    # The diagonal θ₁ = θ₂ is a weakly active boundary of the row z₃ ≥ 0 and lies on the grid: dqp flags it.
    diagonal = [r for r in rows if r["theta1"] == r["theta2"]]
    assert diagonal and any(r["degenerate"] == "1" for r in diagonal)
