"""
Learning Sudoku through a QP layer
==================================

OptNet's Sudoku experiment, written for dqp: a one-hot encoded 4×4 Sudoku
(z ∈ ℝ⁶⁴), the QP ``minimize ½ε‖z‖² − puzzleᵀz  subject to  A z = b, z ≥ 0``
with the equality constraints A **learned** end to end from solved boards
(b = A·z₀ for a learned feasible z₀). After training, the QP layer solves
held-out puzzles it has never seen. The full run (``python
examples/sudoku/train.py``) also trains qpth's OptNet layer on the same data
and compares seconds per epoch.
"""
from _show import QUICK, output_folder, show
from sudoku import train

out = output_folder("sudoku")
arguments = ["--backends", "dqp-dense", "--out", str(out)]
arguments += ["--quick"] if QUICK else []      # the example's defaults: 2000 puzzles, 15 epochs
rows = train.main(arguments)
show(out / "sudoku.png")
