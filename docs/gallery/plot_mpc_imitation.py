"""
Imitation-learned MPC
=====================

A differentiable linear MPC controller for a double integrator with input
and state bounds: every control step solves a QP through dqp, batched over
initial states. Its cost weights start wrong and are learned by imitation of
an expert MPC's actions, by gradient descent through the QP layer.
"""
from _show import QUICK, output_folder, show
from mpc import imitation

out = output_folder("mpc")
result = imitation.main(["--out", str(out)] + (["--quick"] if QUICK else ["--steps", "60"]))
show(out / "mpc_imitation.png")
