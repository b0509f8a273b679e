"""Smoke tests of the runnable examples (examples/): each runs with its tiny setting and must show that it
worked — every solver agrees with the closed forms, every grid point is solved, the Sudoku model beats chance on the
empty cells of held-out puzzles, the MPC imitation loss falls by half, the mesh flips fewer triangles."""
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


def test_sudoku_generator_is_seeded_and_unique():
    puzzles = load("sudoku/puzzles.py")
    import numpy as np

    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    (pa, sa), (pb, sb) = puzzles.make_puzzle(2, rng_a), puzzles.make_puzzle(2, rng_b)
    assert (pa == pb).all() and (sa == sb).all()
    assert puzzles.is_valid_solution(sa, 2)
    assert puzzles.count_solutions(pa, 2) == 1
    assert ((pa == 0) | (pa == sa)).all()
    big, solution = puzzles.make_puzzle(3, np.random.default_rng(0))
    assert puzzles.is_valid_solution(solution, 3) and puzzles.count_solutions(big, 3) == 1


def test_sudoku_learns_above_chance(tmp_path):
    rows = load("sudoku/train.py").main(["--quick", "--backends", "dqp-dense,dqp-sparse", "--out", str(tmp_path)])
    chance = 1 / 4  # a 4×4 board: four digits per empty cell
    for backend in ("dqp-dense", "dqp-sparse"):
        mine = [r for r in rows if r["backend"] == backend]
        untrained, trained = mine[0]["blank_cell_accuracy"], mine[-1]["blank_cell_accuracy"]
        assert trained > chance + 0.05 and trained > untrained + 0.03, (backend, untrained, trained)
        assert mine[-1]["train_loss"] < 0.5 * mine[1]["train_loss"]
    assert (tmp_path / "sudoku.png").exists() and (tmp_path / "sudoku.csv").exists()


def test_mpc_imitation_halves_the_loss(tmp_path):
    result = load("mpc/imitation.py").main(["--quick", "--out", str(tmp_path)])
    assert result["last_loss"] <= 0.5 * result["first_loss"]
    assert result["gap_learned"] < result["gap_start"]
    assert (tmp_path / "mpc_imitation.png").exists() and (tmp_path / "mpc_imitation.csv").exists()


def test_geometry_flips_fewer_triangles(tmp_path):
    result = load("geometry/train.py").main(["--quick", "--out", str(tmp_path)])
    assert result["flipped_first"] > 0
    assert result["flipped_last"] < result["flipped_first"]
    assert result["loss_last"] < result["loss_first"]
    assert (tmp_path / "geometry_before_after.png").exists() and (tmp_path / "geometry.csv").exists()


def test_mesh_laplacian_values_match_the_dense_laplacian():
    mesh = load("geometry/mesh.py")
    import numpy as np
    import torch

    vertices, triangles = mesh.triangulated_grid(4)
    edge_list = mesh.edges(triangles)
    pattern = mesh.LaplacianPattern(len(vertices), edge_list)
    w = torch.rand(len(edge_list), dtype=torch.float64)
    L = np.zeros((len(vertices), len(vertices)))
    for (i, j), weight in zip(edge_list, w.numpy()):
        L[i, j] -= weight
        L[j, i] -= weight
        L[i, i] += weight
        L[j, j] += weight
    expected = np.kron(np.eye(2), L)
    assert np.allclose(pattern.matrix(w).to_dense().numpy(), expected)
    areas = mesh.signed_areas(torch.from_numpy(vertices), torch.from_numpy(triangles))
    assert (areas > 0).all()
    assert float(areas.sum()) == pytest.approx(1.0)
