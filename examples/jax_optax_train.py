"""Learning a QP's cost from demonstrations in JAX: dqp.jax + optax.

A hidden cost (P*, W*) maps features x to allocations on the simplex,
z(x) = argmin ½zᵀPz + (Wx)ᵀz s.t. z ≥ 0, Σz = 1. The model learns L (P = LLᵀ
+ εI) and W from (x, z) pairs with Adam, the batch solved by one vmapped,
jitted call into dqp's C++ batch engine. Prints the loss; exits with status
1 unless it falls at least tenfold.
"""
import sys

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402

from dqp.jax import qp_layer  # noqa: E402

N, FEATURES, BATCH, STEPS = 4, 3, 64, 150
C, d = -jnp.eye(N), jnp.zeros(N)
A, b = jnp.ones((1, N)), jnp.ones(1)


def allocate(params, x):
    L, W = params
    P = L @ L.T + 0.1 * jnp.eye(N)
    solve = jax.vmap(lambda q: qp_layer(P, q, C, d, A, b)[0])
    return solve(x @ W.T)


def loss(params, x, target):
    return jnp.mean(jnp.sum((allocate(params, x) - target) ** 2, axis=1))


def main() -> int:
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    truth = (jnp.eye(N) + 0.3 * jax.random.normal(keys[0], (N, N)), jax.random.normal(keys[1], (N, FEATURES)))
    x = jax.random.normal(keys[2], (BATCH, FEATURES))
    target = allocate(truth, x)
    params = (jnp.eye(N), 0.1 * jax.random.normal(keys[3], (N, FEATURES)))
    optimizer = optax.adam(0.05)
    state = optimizer.init(params)

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params, x, target)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    first = None
    for i in range(STEPS):
        params, state, value = step(params, state)
        first = float(value) if first is None else first
        if i % 25 == 0 or i == STEPS - 1:
            print(f"step {i:3d}  loss {float(value):.6f}")
    ok = float(value) <= first / 10
    print("OK" if ok else "FAILED: the loss did not fall tenfold")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
