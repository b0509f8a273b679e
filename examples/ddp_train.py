"""A model with a dqp layer trained under torch DistributedDataParallel.

    torchrun --nproc_per_node 2 examples/ddp_train.py          # 2 processes, gloo, CPU
    python examples/ddp_train.py                               # the same in one process

The model (examples/allocation_model.py, shared with ray_train.py) maps
features to an allocation on the simplex through a QP with a learnable P.
Each process builds its own model (same seed, so the same initial weights)
and takes its shard of every batch; DDP averages the gradients, so every step
equals one step of a single process on the whole batch. dqp's batch threads
default to torch.get_num_threads(), which torchrun sets to 1 per process
(OMP_NUM_THREADS=1): processes sharing a machine do not oversubscribe it.

``--steps``, ``--batch`` and ``--save FILE`` (rank 0 writes the final
parameters, for tests); rendezvous from torchrun's environment.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parent))
from allocation_model import parameters, train  # noqa: E402  (the model shared with ray_train.py)


def _print_progress(steps: int):
    def on_step(step: int, loss: float) -> None:
        if steps > 1 and (step % 10 == 0 or step == steps - 1):
            print(f"step {step:3d}  loss on rank 0's shard {loss:.5f}", flush=True)
    return on_step


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
        on_step = _print_progress(args.steps) if rank == 0 else None
        model = train(args.steps, args.batch, rank, world, on_step=on_step)
        if rank == 0:
            print(f"{world} process(es), {torch.get_num_threads()} thread(s) each; "
                  f"dqp batch threads: {model.qp.threads}")
            if args.save:
                torch.save(parameters(model), args.save)
    finally:
        if world > 1:
            dist.destroy_process_group()


if __name__ == "__main__":
    main()
