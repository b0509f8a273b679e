"""The seed README's example in JAX, through dqp.jax.

    P = 2 I₂,  q = 0,  C = [[-1, -1], [-1, 0], [0, -1]],  d = [-1, 0, 0]
    z* = (½, ½),  μ* = (1, 0, 0)

For the optimal value p* = ½ z*ᵀPz* + qᵀz* the envelope theorem gives
∇P = ½z*z*ᵀ, ∇q = z*, ∇C = μ*z*ᵀ, ∇d = -μ*. The script computes them with
jax.jit(jax.grad(...)) and forward mode (jax.jacfwd), and exits with status 1
if any differs from the closed form by more than 1e-6.
"""
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from dqp.jax import qp_layer  # noqa: E402

P = 2 * jnp.eye(2)
q = jnp.zeros(2)
C = jnp.array([[-1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]])
d = jnp.array([-1.0, 0.0, 0.0])


def optimal_value(P, q, C, d):
    z, _, _ = qp_layer(P, q, C, d)
    return 0.5 * z @ P @ z + q @ z


def main() -> int:
    z, _, mu = qp_layer(P, q, C, d)
    grads = jax.jit(jax.grad(optimal_value, argnums=(0, 1, 2, 3)))(P, q, C, d)
    forward = jax.jacfwd(optimal_value, argnums=1)(P, q, C, d)
    z_exact, mu_exact = np.array([0.5, 0.5]), np.array([1.0, 0.0, 0.0])
    expected = [0.5 * np.outer(z_exact, z_exact), z_exact, np.outer(mu_exact, z_exact), -mu_exact]
    print("z* =", np.asarray(z), " mu* =", np.asarray(mu))
    worst = 0.0
    for name, got, want in zip(("P", "q", "C", "d"), grads, expected):
        error = float(np.max(np.abs(np.asarray(got) - want)))
        worst = max(worst, error)
        print(f"grad {name}: {np.asarray(got).round(6).tolist()}  (closed form error {error:.1e})")
    worst = max(worst, float(np.max(np.abs(np.asarray(forward) - z_exact))))
    print(f"jacfwd in q: {np.asarray(forward).round(6).tolist()}")
    print("OK" if worst <= 1e-6 else f"FAILED: error {worst:.1e}")
    return 0 if worst <= 1e-6 else 1


if __name__ == "__main__":
    sys.exit(main())
