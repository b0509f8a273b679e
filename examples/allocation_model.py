"""The model, data and training loop shared by the multi-process examples
(``ddp_train.py`` under torchrun, ``ray_train.py`` under Ray Train).

The model maps features x to the linear term of a box-and-simplex QP and its
learnable P factor: z(x) = argmin ½ zᵀ(LLᵀ + εI)z + (Wx)ᵀz s.t. z ≥ 0,
Σz = 1, and is trained to reproduce target allocations. Every process builds
its own model (same seed, so the same initial weights) and takes its shard
of every batch; DistributedDataParallel averages the gradients, so every step
equals one step of a single process on the whole batch.
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
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


def train(steps: int, batch: int, rank: int = 0, world: int = 1, lr: float = 0.5,
          on_step: Optional[Callable[[int, float], None]] = None) -> torch.nn.Module:
    """``steps`` SGD steps; each process takes rows rank::world of every batch.

    With ``world > 1`` the default process group must be initialized (torchrun
    + ``init_process_group``, or Ray Train's workers): the model is wrapped in
    DistributedDataParallel. ``on_step(step, loss)`` gets this process's shard
    loss after every step. Returns the (unwrapped) model."""
    if batch % world:
        raise ValueError(f"batch ({batch}) must be divisible by the number of processes ({world})")
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
        if on_step is not None:
            on_step(step, loss.item())
    return model


def parameters(model: torch.nn.Module) -> dict:
    """The trained parameters, detached (what the examples save and the tests compare)."""
    return {name: p.detach().clone() for name, p in model.named_parameters()}
