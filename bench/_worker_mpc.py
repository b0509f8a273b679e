"""Times one implementation on many saved QPs in one interpreter (bench/mpc.py):
62 small problems, where starting a process per problem would cost more than
the solves. Each problem is timed as bench/_worker_qp.py times one (same rules,
same code); a problem whose layer raises is recorded with its error and the
run goes on.

    python _worker_mpc.py IMPL MANIFEST.json OUTPUT.json [--repeats R] [--budget S] [--slow S] [--timeout S]

MANIFEST.json is a list of INPUT.npz paths written by common.save_qp; OUTPUT.json
gets one result per input, in order, as _worker_qp.py writes one.
"""
from __future__ import annotations

import argparse
import json

import torch

from _worker_qp import load, make, time_calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("impl")
    parser.add_argument("manifest")
    parser.add_argument("output")
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timed calls per problem")
    parser.add_argument("--slow", type=float, default=2.0, help="a warm-up this long is the one timed sample")
    parser.add_argument("--timeout", type=float, default=float("inf"), help="a call this long is a timeout")
    args = parser.parse_args()
    torch.set_num_threads(1)  # one small problem at a time: no intra-op threads to wake
    results = []
    with open(args.manifest) as handle:
        inputs = json.load(handle)
    for path in inputs:
        try:
            qp = load(path)
            run, info = make(args.impl, qp, "dense", 1, "auto")
            result = {"impl": args.impl, "input": path,
                      **time_calls(run, qp, args.repeats, args.budget, args.slow, args.timeout)}
            if info is not None:
                result["info"] = info()
        except Exception as error:  # the layer refused or failed: recorded, not fatal
            result = {"impl": args.impl, "input": path, "error": f"{type(error).__name__}: {str(error)[:200]}"}
        results.append(result)
    with open(args.output, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
