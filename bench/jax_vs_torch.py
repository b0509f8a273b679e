"""A vmapped dqp.jax call against the same batch through the torch layer.

B problems of n variables (the dense batch benchmark's generator, m = n,
p = n/2, every parameter batched), float64, default settings. Times, in one
run, the median of --repeats calls of
  forward:            jax.jit(jax.vmap(qp_layer))      vs  QPLayer(...)
  forward + backward: jax.jit(jax.grad(Σ vmap(...)))   vs  .backward() of the same loss
and prints the JAX / torch ratios.

    python bench/jax_vs_torch.py                  # B = 128, n = 50
"""
from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import dqp  # noqa: E402
from batch_dense import make_inputs  # noqa: E402
from dqp.jax import qp_layer  # noqa: E402

NAMES = ("P", "q", "C", "d", "A", "b")


def median_time(function, repeats: int) -> float:
    function()                                   # warm-up (and JAX's compilation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    data = make_inputs(args.n, args.batch)
    jargs = [jnp.asarray(data[k]) for k in NAMES]
    forward = jax.jit(jax.vmap(lambda *a: qp_layer(*a)[0]))
    grad = jax.jit(jax.grad(lambda *a: jnp.sum(jax.vmap(lambda *x: qp_layer(*x)[0])(*a)), argnums=tuple(range(6))))
    layer = dqp.QPLayer()

    def torch_forward():
        with torch.no_grad():
            layer(*(torch.from_numpy(data[k]) for k in NAMES))

    def torch_both():
        tensors = [torch.tensor(data[k], requires_grad=True) for k in NAMES]
        layer(*tensors)[0].sum().backward()

    rows = [("forward", median_time(lambda: forward(*jargs).block_until_ready(), args.repeats),
             median_time(torch_forward, args.repeats)),
            ("forward + backward", median_time(lambda: jax.block_until_ready(grad(*jargs)), args.repeats),
             median_time(torch_both, args.repeats))]
    print(f"B = {args.batch}, n = {args.n}, {torch.get_num_threads()} thread(s), median of {args.repeats}")
    print(f"{'':20s} {'dqp.jax (vmap)':>15s} {'dqp torch':>12s} {'jax / torch':>12s}")
    for name, t_jax, t_torch in rows:
        print(f"{name:20s} {t_jax * 1e3:12.2f} ms {t_torch * 1e3:9.2f} ms {t_jax / t_torch:11.2f}x")


if __name__ == "__main__":
    main()
