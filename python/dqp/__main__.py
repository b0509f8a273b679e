"""Command line: ``dqp solvers`` lists what this installation can use."""
from __future__ import annotations

import argparse
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="dqp", description="Differentiable QP layer: command-line tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("solvers", help="list the forward and linear solvers this installation has")
    args = parser.parse_args(argv)

    import dqp

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
