"""``dqp diagnose`` output: the rich table and the time-against-accuracy chart."""
from __future__ import annotations

import io
from typing import Optional

import numpy as np

from .diagnose import DiagnosticReport, SolverResult, _ms

# Values below this are exact to machine precision; the chart draws them on this floor.
EXACT = 1e-16
FLOOR = 3e-17


def _sci(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    return f"{value:.0e}"


def _objective(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.8g}"


def _versus(result: SolverResult, report: DiagnosticReport, value: Optional[float], text=None) -> str:
    if result.solver == report.reference:
        return "ref"
    if value is None:
        return "-"
    return text if text is not None else _sci(value)


# Short forms of the core's degeneracy reasons (describe_degeneracy), for the table.
SHORT_REASONS = {
    "more active constraints than variables": "too many active",
    "singular reduced KKT matrix": "singular KKT",
    "weakly active constraint (zero dual)": "weakly active",
}


def _degenerate(result: SolverResult) -> str:
    if result.degenerate is None:
        return "-"
    if not result.degenerate:
        return "no"
    text = result.degenerate_reason or "yes"
    for long, short in SHORT_REASONS.items():
        text = text.replace(long, short)
    return text


def table(report: DiagnosticReport):
    from rich.table import Table

    problem = report.problem
    title = (f"dqp diagnose: [bold]{problem['name']}[/]  n={problem['n']}, m={problem['m']} inequalities, "
             f"p={problem['p']} equalities, {problem['storage']} (nnz={problem['nnz']})")
    layer = report.settings["layer"]
    caption = (f"median of {report.settings['repeats']} runs · eps_abs {layer['eps_abs']:g} · eps_active "
               f"{layer['eps_active']:g} · polish {'on' if layer['polish'] else 'off'} · Δ: difference from the "
               f"most accurate solver (ref) · ok: agrees within {report.settings['tolerance']:g} · ★ recommended")
    grid = Table(title=title, caption=caption, caption_justify="left", header_style="bold")
    for header, justify in (("solver", "left"), ("storage", "left"), ("status", "left"), ("solve", "right"),
                            ("deriv.", "right"), ("objective", "right"), ("primal", "right"), ("dual", "right"),
                            ("compl.", "right"), ("|J|", "right"), ("ΔJ", "right"), ("Δz", "right"),
                            ("Δ∇", "right"), ("FD err", "right"), ("ok", "center"), ("degenerate", "left")):
        grid.add_column(header, justify=justify, no_wrap=header not in ("degenerate", "status"))
    for result in report.results:
        star = " ★" if result.solver == report.recommendation else ""
        status_style = "green" if result.ok else "red"
        active_text = None
        if result.active_symmetric_difference is not None:
            active_text = str(result.active_symmetric_difference)
            if result.active_symmetric_difference:
                active_text += f" (J={result.active_jaccard:.2f})"
        agrees = {True: "[green]✓[/]", False: "[red]✗[/]", None: "-"}[result.agrees]
        fd = _sci(result.fd_error)
        if result.fd_error is not None and result.fd_error > report.settings["fd_tolerance"]:
            fd = f"[yellow]{fd}[/]"
        grid.add_row(
            f"[bold]{result.solver}{star}[/]" if star else result.solver,
            result.storage, f"[{status_style}]{result.status}[/]",
            _ms(result.solve_time), _ms(result.derivative_time), _objective(result.objective),
            _sci(result.primal_residual), _sci(result.dual_residual), _sci(result.complementarity),
            "-" if result.n_active is None else str(result.n_active),
            _versus(result, report, result.active_symmetric_difference, active_text),
            _versus(result, report, result.z_difference), _versus(result, report, result.gradient_difference),
            fd, agrees, _degenerate(result),
        )
    return grid


def _summary(report: DiagnosticReport):
    from rich.text import Text

    lines = Text()
    if report.recommendation:
        lines.append("Recommendation: ", style="bold")
        lines.append(report.recommendation, style="bold green")
        lines.append(f" — {report.reason}\n")
    else:
        lines.append("No recommendation: ", style="bold red")
        lines.append(report.reason + "\n")
    for note in report.notes:
        lines.append(f"  • {note}\n", style="dim" if ":" in note.split(" ")[0] else "")
    return lines


def print_report(report: DiagnosticReport, console=None) -> None:
    from rich.console import Console

    if console is None:
        console = Console()
        if not console.is_terminal:
            console = Console(width=max(console.width, 170))
    console.print(table(report))
    console.print(_summary(report))


def render_text(report: DiagnosticReport, width: int = 170) -> str:
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    console.print(table(report))
    console.print(_summary(report))
    return buffer.getvalue()


def plot(report: DiagnosticReport, path) -> None:
    # A bare Figure (no pyplot): no GUI backend, no global figure state.
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    solved = [r for r in report.results if r.ok and r.solve_time is not None]
    figure = Figure(figsize=(13, 5.2), dpi=130)
    left, right = figure.subplots(1, 2)
    markers = "osD^v<>phXP"
    colours = colormaps["tab10"].colors + colormaps["Dark2"].colors
    handles = []
    tolerance = report.settings["tolerance"]
    for index, result in enumerate(solved):
        style = dict(marker=markers[index % len(markers)], color=colours[index % len(colours)], markersize=9,
                     linestyle="none", markeredgecolor="black", markeredgewidth=0.6)
        if result.solver == report.recommendation:
            style.update(markersize=15, marker="*", markeredgewidth=1.0, zorder=5)
        kkt = max(result.kkt_error or 0.0, FLOOR)
        left.plot([result.solve_time], [kkt], **style)
        if result.derivative_time is not None:
            gradient = 0.0 if result.solver == report.reference else result.gradient_difference
            if gradient is not None:
                right.plot([result.derivative_time], [max(gradient, FLOOR)], **style)
        label = result.solver
        if result.solver == report.recommendation:
            label += "  ★ recommended"
        if result.solver == report.reference:
            label += "  (reference)"
        if result.agrees is False:
            label += "  ✗ disagrees"
        legend_style = {key: value for key, value in style.items() if key != "zorder"}
        handles.append(Line2D([], [], **{**legend_style, "markersize": min(style["markersize"], 11)}, label=label))

    for axis, xlabel, ylabel, title in (
            (left, "forward solve time (median)", "KKT error: max(primal, dual, complementarity)",
             "Forward solve: time vs accuracy"),
            (right, "derivative time (median)", "relative gradient difference from the reference",
             "Derivative: time vs agreement")):
        _log_axes(axis)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.set_title(title)
    right.axhline(tolerance, color="tab:red", linestyle="--", linewidth=1)
    right.text(0.99, tolerance, f" tolerance {tolerance:g}", color="tab:red", fontsize=8, ha="right",
               va="bottom", transform=right.get_yaxis_transform())
    eps_abs = report.settings["layer"]["eps_abs"]
    left.axhline(eps_abs, color="0.4", linestyle=":", linewidth=1)
    left.text(0.99, eps_abs, f" eps_abs {eps_abs:g}", color="0.4", fontsize=8, ha="right", va="bottom",
              transform=left.get_yaxis_transform())

    problem = report.problem
    figure.suptitle(f"dqp diagnose — {problem['name']}: n={problem['n']}, m={problem['m']}, p={problem['p']}, "
                    f"{problem['storage']}", fontsize=13, fontweight="bold")
    failed = [f"{r.solver} ({r.status})" for r in report.results if not r.ok]
    if not solved:
        left.text(0.5, 0.5, "no solver found an optimal point", transform=left.transAxes, ha="center")
    footer = f"Recommendation: {report.recommendation or 'none'}"
    if failed:
        footer += "    Not shown: " + ", ".join(failed)
    figure.text(0.01, 0.01, footer, fontsize=9)
    if handles:
        figure.legend(handles=handles, loc="center right", fontsize=9, frameon=False, title="solver")
    figure.tight_layout(rect=(0, 0.04, 0.80 if handles else 1.0, 0.95))
    figure.savefig(path)


def _seconds(value: float, _position=None) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if value >= scale or unit == "ns":
            number = value / scale
            return f"{number:.3g} {unit}"
    return ""


def _log_axes(axis) -> None:
    """Log–log axes spanning at least a decade of time; 'exact' (≤ 1e-16) drawn as a band at the floor."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_xscale("log")
    axis.set_yscale("log")
    low, high = axis.get_xlim()
    if high / low < 10:
        centre = (low * high) ** 0.5
        low, high = centre / 10 ** 0.5, centre * 10 ** 0.5
    axis.set_xlim(low, high)
    axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if high / low < 300 else (1.0,), numticks=12))
    axis.xaxis.set_major_formatter(FuncFormatter(_seconds))
    axis.xaxis.set_minor_formatter(NullFormatter())
    top = max(axis.get_ylim()[1] * 3, 1e-2)
    axis.set_ylim(FLOOR / 3, top)
    decades = [10.0 ** k for k in range(-14, int(np.ceil(np.log10(top))) + 1, 2)]
    axis.set_yticks([FLOOR] + decades)
    axis.set_yticklabels(["exact"] + [f"1e{int(np.log10(v))}" for v in decades])
    axis.yaxis.set_minor_formatter(NullFormatter())
    axis.axhspan(FLOOR / 3, EXACT, color="0.92", zorder=0)
    axis.grid(True, which="major", alpha=0.3)
