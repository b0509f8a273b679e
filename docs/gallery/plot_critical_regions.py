"""
Critical regions of a parametric QP
===================================

A QP with 3 variables and 6 inequalities whose linear term depends on a
parameter θ ∈ ℝ², solved on a grid of θ in **one batched call**. The left
panel colours the parameter plane by active set; the right one shows the size
of the derivative ∂z/∂θ, and the black dots are the points dqp flags as
degenerate (a weakly active row, where the derivative jumps).
"""
from _show import QUICK, output_folder, show
from critical_regions import critical_regions

out = output_folder("critical_regions")
result = critical_regions.main(["--grid", "41" if QUICK else "121", "--out", str(out)])
show(out / "critical_regions.png")
