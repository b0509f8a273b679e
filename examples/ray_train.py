"""The DDP example's model trained under Ray Train's TorchTrainer.

    python examples/ray_train.py                       # a local Ray cluster, 2 workers (gloo, CPU)
    python examples/ray_train.py --address auto        # an existing cluster (`ray start --head` first)

Ray Train starts the workers, sets up the torch process group (gloo) and
runs the same loop as ``ddp_train.py`` on each (examples/allocation_model.py:
every worker takes its shard of each batch, DDP averages the gradients), so
the trained parameters equal a single process's on the whole batch. Each
worker all-reduces its shard loss, so the loss printed and written is the
whole batch's. Rank 0 saves the parameters and the loss curve as a Ray Train
checkpoint; this script reads it back and writes
``OUT/ray_train.{csv,png,pt}`` (loss per step, its plot, the parameters).
"""
from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import allocation_model  # noqa: E402  (the model shared with ddp_train.py)


def quiet_ray_train() -> None:
    """Run in every Ray worker process: keep Ray Train's warnings that need the dashboard (its state API,
    from `pip install "ray[default]"`) out of the output; errors still show."""
    import logging

    logging.getLogger("ray.train").setLevel(logging.ERROR)


def train_loop(config: dict) -> None:
    """Run on every Ray Train worker: the shared loop, then rank 0 reports a checkpoint."""
    import ray.train
    import torch.distributed as dist

    context = ray.train.get_context()
    rank, world = context.get_world_rank(), context.get_world_size()
    torch.set_num_threads(1)          # the workers share the machine's cores
    losses = []

    def on_step(step: int, loss: float) -> None:
        # Equal shards: the mean of the shard losses is the whole batch's loss.
        total = torch.tensor([loss], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(total)
        losses.append(total.item() / world)
        if rank == 0 and (step % 10 == 0 or step == config["steps"] - 1):
            # Not print(): Ray Train's workers send print() both to the output and to its logger (twice shown).
            sys.stdout.write(f"step {step:3d}  loss {losses[-1]:.5f}\n")
            sys.stdout.flush()

    model = allocation_model.train(config["steps"], config["batch"], rank, world, on_step=on_step)
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = None
        if rank == 0:
            torch.save({"parameters": allocation_model.parameters(model), "losses": losses,
                        "threads": model.qp.threads}, Path(folder) / "model.pt")
            checkpoint = ray.train.Checkpoint.from_directory(folder)
        ray.train.report({"loss": losses[-1] if losses else float("nan")}, checkpoint=checkpoint)


def fit(steps: int, batch: int, workers: int = 2, storage: str | None = None) -> dict:
    """Train under a TorchTrainer on the connected Ray cluster; the checkpoint's contents.

    ``storage`` is Ray Train's storage folder (a temporary one by default)."""
    import ray.cloudpickle
    from ray.train import RunConfig, ScalingConfig
    from ray.train.torch import TorchConfig, TorchTrainer

    if batch % workers:
        raise ValueError(f"batch ({batch}) must be divisible by the number of workers ({workers})")
    # Workers get the loop and the model by value: nothing needs to be importable on the cluster but dqp.
    for module in (allocation_model, sys.modules[train_loop.__module__]):
        if module.__name__ != "__main__":
            ray.cloudpickle.register_pickle_by_value(module)
    with tempfile.TemporaryDirectory() as scratch:
        trainer = TorchTrainer(train_loop, train_loop_config={"steps": steps, "batch": batch},
                               scaling_config=ScalingConfig(num_workers=workers, use_gpu=False),
                               torch_config=TorchConfig(backend="gloo"),
                               run_config=RunConfig(name="dqp_allocation", storage_path=storage or scratch))
        result = trainer.fit()
        if result.error is not None:
            raise result.error
        with result.checkpoint.as_directory() as folder:
            return torch.load(Path(folder) / "model.pt")


def write_outputs(out: Path, trained: dict) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ray_train.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "loss"])
        writer.writerows((step, f"{loss:.10g}") for step, loss in enumerate(trained["losses"]))
    torch.save(trained["parameters"], out / "ray_train.pt")
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot(trained["losses"])
    ax.set_xlabel("SGD step")
    ax.set_ylabel("loss (whole batch)")
    ax.set_title("Allocator under Ray Train (2 workers, gloo)", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out / "ray_train.png", dpi=120)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="SGD steps (50)")
    parser.add_argument("--batch", type=int, default=64, help="global batch, split over the workers (64)")
    parser.add_argument("--workers", type=int, default=2, help="Ray Train workers, one CPU each (2)")
    parser.add_argument("--address", help="a running Ray cluster to join ('auto', HOST:PORT, ray://HOST:PORT); "
                                          "default: start a local one")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder (examples/output)")
    parser.add_argument("--quick", action="store_true", help="the smoke test: 3 steps, batch 16")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.batch = 3, 16
    if args.steps < 1 or args.workers < 1:
        parser.error("--steps and --workers must be >= 1")
    if args.batch % args.workers:
        parser.error(f"--batch {args.batch} must be divisible by --workers {args.workers}")
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(address=args.address or "local", include_dashboard=False,
                 runtime_env={"worker_process_setup_hook": quiet_ray_train})
    try:
        trained = fit(args.steps, args.batch, args.workers)
    finally:
        if started:
            ray.shutdown()
    write_outputs(args.out, trained)
    print(f"{args.workers} Ray Train workers; dqp batch threads per worker: {trained['threads']}; "
          f"loss {trained['losses'][0]:.5f} -> {trained['losses'][-1]:.5f}")
    print(f"wrote {args.out / 'ray_train.csv'}, {args.out / 'ray_train.png'} and {args.out / 'ray_train.pt'}")
    return trained


if __name__ == "__main__":
    main()
