"""Learn Sudoku end to end through a QP layer (OptNet's experiment) with dqp, beside qpth.

A seeded generator makes puzzles and their solutions (examples/sudoku/puzzles.py);
the model (examples/sudoku/model.py) maps a puzzle to a relaxed board through
one equality-constrained QP whose constraint matrix is learned. Each backend
trains from the same initial parameters on the same data in the same order:
dqp with a dense A, dqp with a sparse A (gradients on its values), and qpth
(OptNet's own layer) when it is installed (`pip install qpth`, or
bench/setup_peers.sh for bench/.venv-peers); the script says so when it is not.

    python examples/sudoku/train.py [--size 2] [--epochs 15] [--qpth-epochs 1] [--out DIR] [--quick]

Writes sudoku.csv (epoch, backend, training loss, held-out board accuracy,
seconds) and sudoku.png (loss and accuracy curves) into the output folder.
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from model import SudokuQP, blank_cell_accuracy, board_accuracy  # noqa: E402
from puzzles import dataset  # noqa: E402

HERE = Path(__file__).resolve().parent
warnings.filterwarnings("ignore", message="Sparse (CSR tensor support|invariant checks)")


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Learn Sudoku through a QP layer: dqp (dense and sparse A) beside qpth.")
    parser.add_argument("--size", type=int, default=2, choices=(2, 3), help="box size n: 2 is 4×4, 3 is 9×9 (2)")
    parser.add_argument("--train", type=int, default=2000, help="training puzzles (2000)")
    parser.add_argument("--test", type=int, default=200, help="held-out puzzles (200)")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of dqp (15)")
    parser.add_argument("--qpth-epochs", type=int, default=1,
                        help="epochs of qpth (1: enough for its seconds per epoch; it is much slower)")
    parser.add_argument("--batch", type=int, default=50, help="puzzles per batch (50)")
    parser.add_argument("--lr", type=float, default=0.05, help="Adam learning rate (0.05)")
    parser.add_argument("--equalities", type=int, default=None, help="rows of the learned A (40 for size 2, 300 for 3)")
    parser.add_argument("--clip", type=float, default=0.0, help="clip the gradient's norm to this (0: no clipping)")
    parser.add_argument("--eps", type=float, default=0.1, help="P = eps·I (0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of data and initial parameters (0)")
    parser.add_argument("--backends", default="dqp-dense,dqp-sparse,qpth",
                        help="comma-separated among dqp-dense, dqp-sparse, qpth (all three)")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder (examples/sudoku/output)")
    parser.add_argument("--quick", action="store_true", help="small run for the smoke test (200 puzzles, 3 epochs, lr 0.1)")
    args = parser.parse_args(argv)
    if args.quick:
        args.train, args.test, args.epochs, args.qpth_epochs, args.batch, args.lr = 200, 50, 3, 1, 20, 0.1
    if args.equalities is None:
        args.equalities = 40 if args.size == 2 else 300
    for name in ("train", "test", "epochs", "qpth_epochs", "batch", "equalities"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be positive, got {getattr(args, name)}")
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"dqp-dense", "dqp-sparse", "qpth"}
    if unknown:
        parser.error(f"--backends: unknown {sorted(unknown)}; choose among dqp-dense, dqp-sparse, qpth")
    return args


def evaluate(model, puzzles: torch.Tensor, solutions: torch.Tensor) -> dict:
    """Held-out board accuracy and accuracy on the empty cells."""
    with torch.no_grad():
        boards = model(puzzles)
    return {"test_accuracy": board_accuracy(boards, solutions),
            "blank_cell_accuracy": blank_cell_accuracy(boards, solutions, puzzles)}


def train_one(backend: str, args, data, progress) -> list[dict]:
    """Train one backend from the seed's initial parameters; one row per epoch."""
    (train_x, train_y), (test_x, test_y) = data
    solver, storage = ("qpth", "dense") if backend == "qpth" else ("dqp", backend.split("-")[1])
    torch.manual_seed(args.seed)
    model = SudokuQP(args.size, args.equalities, args.eps, storage=storage, backend=solver, seed=args.seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    epochs = args.qpth_epochs if backend == "qpth" else args.epochs
    # Cosine decay over the dqp schedule (qpth follows the same one for as long as it runs): a constant 0.1
    # overshoots once the boards are nearly right.
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    order_rng = np.random.default_rng(args.seed)
    rows = []
    batches = (len(train_x) + args.batch - 1) // args.batch
    task = progress.add_task(f"{backend:<10}", total=epochs * batches)
    rows.append({"backend": backend, "epoch": 0, "train_loss": float("nan"), **evaluate(model, test_x, test_y),
                 "seconds": 0.0})
    for epoch in range(1, epochs + 1):
        order = order_rng.permutation(len(train_x))
        losses = []
        start = time.perf_counter()
        for k in range(batches):
            index = torch.from_numpy(order[k * args.batch:(k + 1) * args.batch])
            boards = model(train_x[index])
            loss = torch.nn.functional.mse_loss(boards, train_y[index])
            optimizer.zero_grad()
            loss.backward()
            if args.clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip)
            optimizer.step()
            losses.append(loss.item())
            progress.advance(task)
        seconds = time.perf_counter() - start
        schedule.step()
        rows.append({"backend": backend, "epoch": epoch, "train_loss": float(np.mean(losses)),
                     **evaluate(model, test_x, test_y), "seconds": seconds})
        progress.console.print(f"{backend:<10} epoch {epoch:>3}: loss {np.mean(losses):.5f}  held-out board accuracy "
                               f"{rows[-1]['test_accuracy']:6.1%} (empty cells {rows[-1]['blank_cell_accuracy']:6.1%})"
                               f"  {seconds:6.2f} s")
    return rows


def plot(path: Path, rows: list, args) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for backend in dict.fromkeys(r["backend"] for r in rows):
        mine = [r for r in rows if r["backend"] == backend]
        per_epoch = np.mean([r["seconds"] for r in mine if r["epoch"] > 0])
        label = f"{backend} ({per_epoch:.2f} s/epoch)"
        ax_loss.plot([r["epoch"] for r in mine if r["epoch"] > 0], [r["train_loss"] for r in mine if r["epoch"] > 0],
                     marker="o", ms=3, label=label)
        ax_acc.plot([r["epoch"] for r in mine], [100 * r["test_accuracy"] for r in mine], marker="o", ms=3, label=label)
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss (MSE)")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("held-out board accuracy (%)")
    ax_acc.set_ylim(0, 102)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    N = args.size ** 2
    fig.suptitle(f"Sudoku {N}×{N} through a QP layer: {args.train} training, {args.test} held-out puzzles", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None) -> list[dict]:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    backends = list(args.backends)
    if "qpth" in backends and importlib.util.find_spec("qpth") is None:
        print("qpth is not installed in this environment: training dqp only "
              "(pip install qpth for the side-by-side comparison)")
        backends.remove("qpth")
    start = time.perf_counter()
    train = dataset(args.size, args.train, seed=args.seed)
    test = dataset(args.size, args.test, seed=args.seed + 10_000)
    as_tensors = lambda pair: tuple(torch.from_numpy(a) for a in pair)  # noqa: E731
    data = (as_tensors(train), as_tensors(test))
    print(f"generated {args.train} + {args.test} puzzles of size {args.size} in {time.perf_counter() - start:.1f} s "
          f"(mean clues {train[0].sum() / args.train:.1f} of {args.size ** 4})")

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    rows = []
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()) as progress:
        for backend in backends:
            rows += train_one(backend, args, data, progress)
    with open(args.out / "sudoku.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["backend", "epoch", "train_loss", "test_accuracy",
                                                    "blank_cell_accuracy", "seconds"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
    plot(args.out / "sudoku.png", rows, args)
    print("backend     s/epoch   final held-out board accuracy")
    for backend in backends:
        mine = [r for r in rows if r["backend"] == backend and r["epoch"] > 0]
        print(f"{backend:<10} {np.mean([r['seconds'] for r in mine]):8.2f}   {mine[-1]['test_accuracy']:.1%}")
    print(f"wrote {args.out / 'sudoku.png'} and {args.out / 'sudoku.csv'}")
    return rows


if __name__ == "__main__":
    main()
