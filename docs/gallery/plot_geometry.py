"""
A bilevel mesh mapping through a sparse QP
==========================================

The inner problem is a harmonic map of a triangulated grid onto a non-convex
domain, a sparse QP whose P is a weighted graph Laplacian; the outer loss
penalises flipped (inverted) triangles, and the learned parameters are the
Laplacian's edge weights — gradients land on the **values of a sparse P in
its own pattern**. Flipped triangles are drawn in red.
"""
from _show import QUICK, output_folder, show
from geometry import train

out = output_folder("geometry")
result = train.main(["--out", str(out), "--quick"] if QUICK else
                    ["--out", str(out), "--k", "20", "--iterations", "40", "--sizes"])
show(out / "geometry_before_after.png", out / "geometry_flips.png")
