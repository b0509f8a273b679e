"""A model with a dqp layer trained under torch DistributedDataParallel.

    torchrun --nproc_per_node 2 examples/ddp_train.py          # 2 processes, gloo, CPU
    python examples/ddp_train.py                               # the same in one process

The model maps features x to the linear term of a box-and-simplex QP and its
learnable P factor: z(x) = argmin ½ zᵀ(LLᵀ + εI)z + (Wx)ᵀz s.t. z ≥ 0,
Σz = 1, and is trained to reproduce target allocations. Each process builds
its own model (same seed, so the same initial weights) and takes its shard
of every batch; DDP averages the gradients, so every step equals one step of
a single process on the whole batch. dqp's batch threads default to
torch.get_num_threads(), which torchrun sets to 1 per process
(OMP_NUM_THREADS=1): processes sharing a machine do not oversubscribe it.

``--steps``, ``--batch`` and ``--save FILE`` (rank 0 writes the final
parameters, for tests); rendezvous from torchrun's environment.
"""
from __future__ import annotations

import argparse
import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import dqp

FEATURES, N = 4, 3


class Allocator(torch.nn.Module):
    """Features -> an allocation on the simplex, through a differentiable QP."""

    def __init__(self, seed: int = 0):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.W = torch.nn.Parameter(torch.randn(N, FEATURES, generator=generator, dtype=torch.float64))
        self.L = torch.nn.Parameter(torch.eye(N, dtype=torch.float64)
                                    + 0.1 * torch.randn(N, N, generator=generator, dtype=torch.float64))
        self.qp = dqp.QPLayer()
        self.register_buffer("C", -torch.eye(N, dtype=torch.float64))
        self.register_buffer("d", torch.zeros(N, dtype=torch.float64))
        self.register_buffer("A", torch.ones(1, N, dtype=torch.float64))
        self.register_buffer("b", torch.ones(1, dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        P = self.L @ self.L.T + 0.1 * torch.eye(N, dtype=torch.float64)
        z, _, _ = self.qp(P, x @ self.W.T, self.C, self.d, self.A, self.b)
        return z


def make_data(size: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Features and target allocations from a hidden linear rule (softmax)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(size, FEATURES, generator=generator, dtype=torch.float64)
    rule = torch.randn(FEATURES, N, generator=generator, dtype=torch.float64)
    return x, torch.softmax(x @ rule, dim=1)


def train(steps: int, batch: int, rank: int = 0, world: int = 1, lr: float = 0.5) -> torch.nn.Module:
    """``steps`` SGD steps; each process takes rows rank::world of every batch."""
    model = Allocator()
    wrapped = DistributedDataParallel(model) if world > 1 else model
    optimizer = torch.optim.SGD(wrapped.parameters(), lr=lr)
    for step in range(steps):
        x, target = make_data(batch, seed=1 + step)
        x, target = x[rank::world], target[rank::world]
        loss = ((wrapped(x) - target) ** 2).sum(dim=1).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if rank == 0 and steps > 1 and (step % 10 == 0 or step == steps - 1):
            print(f"step {step:3d}  loss on rank 0's shard {loss.item():.5f}", flush=True)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=64, help="global batch, split over the processes")
    parser.add_argument("--save", help="rank 0 saves the final parameters here (torch.save)")
    args = parser.parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if args.batch % world:
        parser.error(f"--batch {args.batch} must be divisible by the number of processes ({world})")
    if world > 1:
        dist.init_process_group("gloo")
    try:
        model = train(args.steps, args.batch, rank, world)
        if rank == 0:
            print(f"{world} process(es), {torch.get_num_threads()} thread(s) each; "
                  f"dqp batch threads: {model.qp.threads}")
            if args.save:
                torch.save({name: p.detach() for name, p in model.named_parameters()}, args.save)
    finally:
        if world > 1:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
