"""Learn an MPC controller's cost weights by imitation, through dqp.

A double integrator (position p, velocity v, force u; time step dt)

    x_{t+1} = A x_t + B u_t,   |u_t| ≤ u_max,   |v_t| ≤ v_max

is driven by a linear MPC over a horizon T: z = (x_1 … x_T, u_0 … u_{T−1}),

    minimize  Σ_t x_tᵀ diag(Q) x_t + R u_t²   subject to   the dynamics from x_0 (equalities, b depends on x_0),
                                                            the input and velocity bounds (inequalities).

The expert uses the true weights (Q, R). The learner starts from other
weights and fits log Q, log R so that its planned inputs match the expert's on
a batch of initial states (one batched dqp call per step: the states enter b,
P = blockdiag(Q…, R…) is shared and learned, its gradient comes through the
QP). The closed loop of the learned controller is then compared with the
expert's from held-out initial states.

    python examples/mpc/imitation.py [--steps 150] [--out DIR] [--quick]

Writes mpc_imitation.csv (step, loss, weights) and mpc_imitation.png
(training loss, learned weights, closed-loop trajectories).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np
import torch

import dqp

HERE = Path(__file__).resolve().parent
DT, U_MAX, V_MAX = 0.2, 1.0, 1.5
TRUE_LOG_WEIGHTS = torch.log(torch.tensor([10.0, 1.0, 0.5], dtype=torch.float64))   # Q_p, Q_v, R


class LinearMPC(torch.nn.Module):
    """The MPC as a QP layer: initial states (B, 2) → planned inputs (B, T) and states (B, T, 2)."""

    def __init__(self, horizon: int, log_weights: torch.Tensor, learn: bool):
        super().__init__()
        self.T = horizon
        weights = log_weights.clone()
        self.log_weights = torch.nn.Parameter(weights) if learn else torch.nn.Parameter(weights, requires_grad=False)
        self.A_dyn = torch.tensor([[1.0, DT], [0.0, 1.0]], dtype=torch.float64)
        self.B_dyn = torch.tensor([0.5 * DT * DT, DT], dtype=torch.float64)
        self.layer = dqp.QPLayer()
        self._build_constraints()

    def _build_constraints(self) -> None:
        T, nx = self.T, 2
        n = T * nx + T                                   # states x_1 … x_T, then inputs u_0 … u_{T−1}
        E = torch.zeros(T * nx, n, dtype=torch.float64)
        for t in range(T):                               # x_{t+1} − A x_t − B u_t = 0   (x_0 goes to b)
            E[t * nx:(t + 1) * nx, t * nx:(t + 1) * nx] = torch.eye(nx, dtype=torch.float64)
            if t > 0:
                E[t * nx:(t + 1) * nx, (t - 1) * nx:t * nx] = -self.A_dyn
            E[t * nx:(t + 1) * nx, T * nx + t] = -self.B_dyn
        rows = []
        for t in range(T):
            u = torch.zeros(n, dtype=torch.float64)
            u[T * nx + t] = 1.0
            v = torch.zeros(n, dtype=torch.float64)
            v[t * nx + 1] = 1.0
            rows += [u, -u, v, -v]
        self.E = E
        self.C = torch.stack(rows)
        self.d = torch.tensor([U_MAX, U_MAX, V_MAX, V_MAX] * T, dtype=torch.float64)
        self.q = torch.zeros(n, dtype=torch.float64)

    def P(self) -> torch.Tensor:
        w = self.log_weights.exp()
        diagonal = torch.cat([w[:2].repeat(self.T), w[2].expand(self.T)])
        return 2.0 * torch.diag(diagonal)

    def forward(self, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        batch = x0.shape[0]
        b = torch.zeros(batch, self.T * 2, dtype=torch.float64)
        b[:, :2] = x0 @ self.A_dyn.T                      # x_1 − B u_0 = A x_0
        z, _, _ = self.layer(self.P(), self.q, self.C, self.d, self.E, b)
        states = z[:, :self.T * 2].reshape(batch, self.T, 2)
        return z[:, self.T * 2:], states


def closed_loop(controller: LinearMPC, x0: torch.Tensor, steps: int) -> np.ndarray:
    """States (B, steps + 1, 2) of the closed loop that applies each plan's first input."""
    x, trajectory = x0.clone(), [x0.clone()]
    with torch.no_grad():
        for _ in range(steps):
            u, _ = controller(x)
            x = x @ controller.A_dyn.T + u[:, :1] * controller.B_dyn
            trajectory.append(x.clone())
    return torch.stack(trajectory, dim=1).numpy()


def initial_states(count: int, generator: torch.Generator) -> torch.Tensor:
    return torch.stack([torch.empty(count, dtype=torch.float64).uniform_(-4, 4, generator=generator),
                        torch.empty(count, dtype=torch.float64).uniform_(-1, 1, generator=generator)], dim=1)


def plot(path: Path, rows: list, expert_loop: np.ndarray, start_loop: np.ndarray, learned_loop: np.ndarray) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    steps = [r["step"] for r in rows]
    axes[0].semilogy(steps, [r["loss"] for r in rows])
    axes[0].set_xlabel("step")
    axes[0].set_ylabel("imitation loss (MSE of planned inputs)")
    true = TRUE_LOG_WEIGHTS.exp().numpy()
    for k, (name, colour) in enumerate(zip(("Q_p", "Q_v", "R"), ("C0", "C1", "C2"))):
        ratio = [r[name] / r["R"] * true[2] for r in rows]      # weights are defined up to a common scale
        axes[1].plot(steps, ratio, color=colour, label=f"{name} (scaled to R = {true[2]:g})")
        axes[1].axhline(true[k], color=colour, ls=":", lw=1)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("learned weight (dotted: expert's)")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    time_axis = np.arange(expert_loop.shape[1]) * DT
    for i in range(expert_loop.shape[0]):
        axes[2].plot(time_axis, expert_loop[i, :, 0], color="k", lw=2, alpha=0.5, label="expert" if i == 0 else None)
        axes[2].plot(time_axis, start_loop[i, :, 0], color="C3", ls=":", label="initial weights" if i == 0 else None)
        axes[2].plot(time_axis, learned_loop[i, :, 0], color="C0", ls="--", label="learned" if i == 0 else None)
    axes[2].set_xlabel("time (s)")
    axes[2].set_ylabel("position, closed loop (held-out x₀)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.grid(alpha=0.3)
    fig.suptitle("Imitation-learned linear MPC (double integrator, input and velocity bounds) through dqp", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description="Learn an MPC controller's cost weights by imitation through dqp.")
    parser.add_argument("--horizon", type=int, default=15, help="MPC horizon T (15)")
    parser.add_argument("--batch", type=int, default=64, help="initial states per step (64)")
    parser.add_argument("--steps", type=int, default=150, help="Adam steps (150)")
    parser.add_argument("--lr", type=float, default=0.1, help="Adam learning rate (0.1)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial states (0)")
    parser.add_argument("--out", type=Path, default=HERE / "output", help="output folder (examples/mpc/output)")
    parser.add_argument("--quick", action="store_true", help="tiny run for the smoke test (horizon 8, 16 states, 25 steps)")
    args = parser.parse_args(argv)
    if args.quick:
        args.horizon, args.batch, args.steps = 8, 16, 25
    for name in ("horizon", "batch", "steps"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be positive, got {getattr(args, name)}")
    args.out.mkdir(parents=True, exist_ok=True)

    generator = torch.Generator().manual_seed(args.seed)
    expert = LinearMPC(args.horizon, TRUE_LOG_WEIGHTS, learn=False)
    start_weights = torch.log(torch.tensor([1.0, 1.0, 5.0], dtype=torch.float64))
    learner = LinearMPC(args.horizon, start_weights, learn=True)
    initial = LinearMPC(args.horizon, start_weights, learn=False)
    optimizer = torch.optim.Adam(learner.parameters(), lr=args.lr)

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    rows = []
    start = time.perf_counter()
    with Progress(TextColumn("imitation"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("loss {task.fields[loss]:.3e}")) as progress:
        task = progress.add_task("", total=args.steps, loss=float("nan"))
        for step in range(args.steps):
            x0 = initial_states(args.batch, generator)
            with torch.no_grad():
                target, _ = expert(x0)
            planned, _ = learner(x0)
            loss = torch.nn.functional.mse_loss(planned, target)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            weights = learner.log_weights.detach().exp().numpy()
            rows.append({"step": step, "loss": loss.item(), "Q_p": weights[0], "Q_v": weights[1], "R": weights[2]})
            progress.update(task, advance=1, loss=loss.item())
    seconds = time.perf_counter() - start

    held_out = initial_states(4, torch.Generator().manual_seed(args.seed + 1))
    loop_steps = 40
    expert_loop = closed_loop(expert, held_out, loop_steps)
    start_loop = closed_loop(initial, held_out, loop_steps)
    learned_loop = closed_loop(learner, held_out, loop_steps)
    gap_start = float(np.abs(start_loop - expert_loop).max())
    gap_learned = float(np.abs(learned_loop - expert_loop).max())

    with open(args.out / "mpc_imitation.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "loss", "Q_p", "Q_v", "R"])
        writer.writeheader()
        for row in rows:
            writer.writerow({k: f"{v:.6g}" if isinstance(v, float) else v for k, v in row.items()})
    plot(args.out / "mpc_imitation.png", rows, expert_loop, start_loop, learned_loop)
    first, last = rows[0]["loss"], min(r["loss"] for r in rows[-5:])
    weights = learner.log_weights.detach().exp().numpy()
    scale = TRUE_LOG_WEIGHTS.exp().numpy()[2] / weights[2]
    print(f"{args.steps} steps of {args.batch} batched MPC problems (n = {3 * args.horizon}) in {seconds:.1f} s "
          f"({seconds / args.steps * 1e3:.1f} ms per step, forward + backward)")
    print(f"imitation loss {first:.3e} -> {last:.3e} ({first / max(last, 1e-300):.0f}x lower)")
    print(f"learned weights, scaled to R = 0.5: Q_p {weights[0] * scale:.3g}, Q_v {weights[1] * scale:.3g} "
          f"(expert: 10, 1)")
    print(f"closed loop, largest state gap to the expert over {loop_steps} steps from 4 held-out states: "
          f"initial weights {gap_start:.3g}, learned {gap_learned:.3g}")
    print(f"wrote {args.out / 'mpc_imitation.png'} and {args.out / 'mpc_imitation.csv'}")
    return {"first_loss": first, "last_loss": last, "gap_start": gap_start, "gap_learned": gap_learned,
            "seconds": seconds}


if __name__ == "__main__":
    result = main()
    sys.exit(0 if result["last_loss"] <= 0.5 * result["first_loss"] else 1)
