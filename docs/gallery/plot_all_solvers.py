"""
Every solver on the seed problem
================================

The seed's companion example: one QP through every forward solver this
installation has — the native C++ ones and those reached through qpsolvers —
with dqp's gradients compared against the closed forms of the envelope
theorem (∇P = ½ z*z*ᵀ, ∇q = z*, ∇C = μ*z*ᵀ, ∇d = −μ*).
"""
import all_solvers

status = all_solvers.main([])
assert status == 0, "a solver failed or deviated from the closed forms"
