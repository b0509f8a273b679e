"""Command line: ``dqp solvers`` lists what this installation can use;
``dqp diagnose PROBLEM`` compares the solvers on one problem (or on every
problem of a folder, optionally spread over a Ray cluster with ``--ray``)."""
from __future__ import annotations

import argparse
import sys

DIAGNOSE_HELP = """\
Solve PROBLEM with every selected forward solver, each in its own process (a
crash or hang is reported, not fatal), and compare: status, median solve and
derivative times, objective, primal/dual residuals, complementarity, active
set, gradient of a random linear loss of z with respect to (q, d, b) against
the most accurate solver's, a finite-difference check, degeneracy. Recommends
the fastest solver whose solution and gradient agree within --tolerance.

PROBLEM is a .npz file with keys Q, q, G, h, A, b (the reference's format;
G/h and A/b optional, sparse matrices as pickled scipy objects) or a
Maros-Meszaros .mat file (keys n, m, P, q, r, A, l, u: l <= Az <= u, +-1e20
meaning infinite), or a FOLDER of such files: then every problem x solver is
run, a summary line per problem is printed, and --csv writes one row per
problem x solver.

--ray [ADDRESS] runs each problem x solver as a Ray task (pip install
'dqp[ray]'), each in its own process with its own --timeout as locally, and
builds the same table: no ADDRESS starts a local Ray cluster on this
machine's cores; 'auto', HOST:PORT or ray://HOST:PORT joins a running one
(dqp must be installed on its nodes).
"""

DIAGNOSE_EPILOG = """\
examples:
  dqp diagnose HS21.mat
  dqp diagnose HS21.mat --solvers proxqp,osqp,daqp --repeats 20
  dqp diagnose problem.npz --json > report.json
  dqp diagnose HS21.mat --plot hs21.png --eps-abs 1e-8 --no-polish
  dqp diagnose problems/ --solvers daqp,proxqp --csv runs.csv
  dqp diagnose problems/ --ray                  # on a local Ray cluster
  dqp diagnose problems/ --ray auto             # on the cluster of `ray start --head`

exit status: 0 with a recommendation (for a folder: for every problem), 1
without (no solver agreed or succeeded), 2 for bad arguments or an
unreadable problem.
"""


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got '{text}'") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def _add_diagnose(commands) -> None:
    parser = commands.add_parser("diagnose", help="compare the solvers on one problem and recommend one",
                                 description=DIAGNOSE_HELP, epilog=DIAGNOSE_EPILOG,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("problem", metavar="PROBLEM", help="a .npz or Maros-Meszaros .mat file, or a folder of them")
    parser.add_argument("--solvers", action="append", metavar="NAMES",
                        help="comma-separated solver names (repeatable); default: every available solver "
                             "(see 'dqp solvers'); 'qpsolvers:NAME' forces the qpsolvers bridge")
    parser.add_argument("--repeats", type=_positive_int, default=5,
                        help="timed solves and backward passes per solver; medians are reported (default 5)")
    parser.add_argument("--timeout", type=_positive_float, default=60.0,
                        help="seconds per solver before it is killed and reported as timeout (default 60)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON on stdout (no table)")
    parser.add_argument("--plot", metavar="FILE.png", help="save a chart of time against accuracy per solver")
    parser.add_argument("--storage", choices=("auto", "dense", "sparse"), default="auto",
                        help="matrices given to the solvers; auto: the problem's own where the solver "
                             "takes it (default)")
    parser.add_argument("--tolerance", type=_positive_float, default=1e-4,
                        help="relative agreement of z and of the gradient with the most accurate solver "
                             "asked for a recommendation (default 1e-4)")
    parser.add_argument("--eps-abs", type=_positive_float, default=1e-6, help="solver tolerance (default 1e-6)")
    parser.add_argument("--eps-rel", type=float, default=0.0, help="relative solver tolerance (default 0)")
    parser.add_argument("--eps-active", type=_positive_float, default=1e-5,
                        help="slack below which a constraint is active (default 1e-5)")
    parser.add_argument("--no-polish", action="store_true",
                        help="keep each solver's own point (no reduced-KKT polishing): shows raw solver accuracy")
    parser.add_argument("--lin-solver", default=None, help="linear solver for the reduced KKT system "
                        "(default auto; see 'dqp solvers')")
    parser.add_argument("--fd-step", type=_positive_float, default=1e-6,
                        help="finite-difference step relative to max |(q, d, b)| (default 1e-6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random loss and direction (default 0)")
    parser.add_argument("--arrays", action="store_true", help="with --json: include z, λ, μ, active sets, gradients")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument("--ray", nargs="?", const="local", metavar="ADDRESS",
                        help="run each problem x solver as a Ray task; no ADDRESS: a new local cluster, else "
                             "'auto', HOST:PORT or ray://HOST:PORT")
    parser.add_argument("--csv", metavar="FILE.csv", help="write one row per problem x solver")


def _diagnose(args) -> int:
    from pathlib import Path

    from . import _diagnose_folder
    from .diagnose import diagnose

    progress = not args.no_progress and sys.stderr.isatty()
    folder = Path(args.problem).is_dir()
    if folder and args.plot:
        print("dqp diagnose: error: --plot draws one problem; give a file, not a folder", file=sys.stderr)
        return 2
    common = dict(solvers=args.solvers, repeats=args.repeats, timeout=args.timeout, storage=args.storage,
                  tolerance=args.tolerance, fd_step=args.fd_step, seed=args.seed, progress=progress,
                  eps_abs=args.eps_abs, eps_rel=args.eps_rel, eps_active=args.eps_active,
                  polish=not args.no_polish, lin_solver=args.lin_solver)
    try:
        if folder or args.ray is not None:
            reports = _diagnose_folder.diagnose_folder(args.problem if folder else [args.problem],
                                                       ray=False if args.ray is None else args.ray, **common)
        else:
            reports = [diagnose(args.problem, **common)]
    except (ValueError, FileNotFoundError, TypeError, ImportError, ConnectionError) as error:
        print(f"dqp diagnose: error: {error}", file=sys.stderr)
        return 2
    if args.csv:
        try:
            _diagnose_folder.write_csv(args.csv, reports)
        except OSError as error:
            print(f"dqp diagnose: error: cannot write the table {args.csv}: {error}", file=sys.stderr)
            return 2
    if not folder:
        return _single(args, reports[0])
    if args.json:
        import json
        print(json.dumps([report.to_dict(arrays=args.arrays) for report in reports], indent=2, allow_nan=False))
    else:
        from rich.console import Console

        Console().print(_diagnose_folder.summary_table(
            reports, f"dqp diagnose: {args.problem} ({len(reports)} problems)"))
        if args.csv:
            print(f"table saved to {args.csv}")
    return 0 if all(report.recommendation for report in reports) else 1


def _single(args, report) -> int:
    """Print one problem's report (and its plot)."""
    if args.plot:
        try:
            report.plot(args.plot)
        except (ValueError, OSError) as error:
            print(f"dqp diagnose: error: cannot write the plot {args.plot}: {error}", file=sys.stderr)
            return 2
    if args.json:
        print(report.to_json(arrays=args.arrays))
    else:
        report.print()
        if args.plot:
            print(f"plot saved to {args.plot}")
    return 0 if report.recommendation else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dqp", description="Differentiable QP layer: command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("solvers", help="list the forward and linear solvers this installation has")
    _add_diagnose(commands)
    args = parser.parse_args(argv)

    import dqp

    if args.command == "diagnose":
        return _diagnose(args)
    if args.command == "solvers":
        print("Forward solvers (qp_solver):")
        for name, info in sorted(dqp.available_solvers().items()):
            storage = "/".join(kind for kind in ("dense", "sparse") if info[kind]) or "-"
            print(f"  {name:<12} {info['kind']:<10} {storage:<13} {'duals' if info['duals'] else 'no duals'}")
        print("Linear solvers for the reduced KKT system (lin_solver):")
        for name, info in dqp.available_linear_solvers().items():
            print(f"  {name:<12} {info['description']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
