"""The performance targets of the "Performance II" issue, measured in one run
and written as one table, each target beside its measured value and, for a
miss, the bound that explains it (measured in the same run).

The run calls the benchmarks that own each number, in order:

1. ``overhead.py``: single small problems (LIPMWALK0, WHLIPBAL0, random n = 10)
   through ``dqp.QPLayer``, forward + backward, against the fastest qpsolvers
   forward and the C++ solve; an empty autograd.Function gives the bound;
2. ``batch_dense.py`` at B = 128, n = 50 with dqp, libdqp (its defaults:
   cvxopt, scipy LU) and libdqp on DAQP (dqp's dense default);
   then, in this process, the same batch split into DAQP's own solve time,
   dqp's forward work and its backward (one thread), and the wall time DAQP
   alone would take on dqp's threads: the least any DAQP-based layer can take;
3. ``storage.py --mpc-only``: QUADCMPC3/4 given as dense tensors (``auto``)
   against the same data as sparse tensors;
4. ``mpc.py --impls dqp``: the MPC set's shifted geometric mean of forward +
   backward against the forward-only floor;
5. with ``--build``: ``scripts/setup.sh`` then ``scripts/test.sh`` on a fresh
   clone of this repository's HEAD with an empty ccache, each timed (this
   reinstalls dqp into the running interpreter from HEAD; ~25 minutes).

    python bench/targets.py                 # ≈ 10 minutes on 2 cores
    python bench/targets.py --quick         # fewer calls and repeats (a smoke run)
    python bench/targets.py --build         # also the fresh-clone build times

Run ``bash bench/setup_peers.sh`` first (libdqp's environment). Writes each
benchmark's results under results/targets/ and the table to
results/targets.md.
"""
from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import HERE, INPUTS, RESULTS, command_line, dqp_version, fmt_ratio, fmt_time, machine_line

OUT = RESULTS / "targets"
ROOT = HERE.parent


def run(script: str, *arguments: str) -> None:
    command = [sys.executable, str(HERE / script), *arguments]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, check=True, cwd=HERE)


def read_csv(path: Path) -> list:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def load_average() -> float:
    return os.getloadavg()[0]


def batch_breakdown(path: Path, calls: int) -> dict:
    """Where dqp's time goes on the saved batch: per problem (one thread)
    DAQP's solve, dqp's other forward work and the backward; and the wall time
    of the solves alone spread over the default threads."""
    import torch
    import dqp

    data = np.load(path)
    tensors = {k: torch.from_numpy(np.ascontiguousarray(data[k])) for k in "PqCdAb"}
    out = {}
    for threads in (1, None):
        layer = dqp.QPLayer() if threads is None else dqp.QPLayer(n_threads=threads)
        forward, backward, solve, core = [], [], [], []
        for call in range(calls + 2):
            leaves = [tensors[k].clone().requires_grad_(True) for k in "PqCdAb"]
            t0 = time.perf_counter()
            z, _, _ = layer(*leaves)
            t1 = time.perf_counter()
            z.sum().backward()
            t2 = time.perf_counter()
            if call >= 2:
                forward.append(t1 - t0)
                backward.append(t2 - t1)
                solve.append(sum(s.solve_time for s in layer.last_solutions))
                core.append(sum(s.total_time for s in layer.last_solutions))
        key = "one" if threads == 1 else "default"
        out[key] = {"forward": statistics.median(forward), "backward": statistics.median(backward),
                    "solve": statistics.median(solve), "core": statistics.median(core),
                    "threads": layer.threads, "B": tensors["q"].shape[0],
                    "solver": layer.last_solutions[0].solver}
    return out


def fresh_clone_build() -> dict:
    """Seconds of scripts/setup.sh and then scripts/test.sh on a fresh clone of HEAD, empty ccache."""
    # The clone sits beside this checkout, so that its tests find ../shared/data
    # as they do here (a clone one level deeper skipped a hundred of them).
    clone = Path(tempfile.mkdtemp(prefix="dqp-build-", dir=ROOT.parent))
    cache = Path(tempfile.mkdtemp(prefix="dqp-ccache-"))
    try:
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        # Nothing inherited from a shell that sourced scripts/ccache.sh for this
        # checkout: its CCACHE_BASEDIR would keep the clone's paths absolute,
        # and then the wheel's build tree and the tests' share no object.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CCACHE_")}
        env["CCACHE_DIR"] = str(cache)
        times = {}
        ccache = shutil.which("ccache")
        for name in ("setup", "test"):
            if ccache and name == "test":   # count test.sh's compilations alone
                subprocess.run([ccache, "--zero-stats"], env=env, check=True, stdout=subprocess.DEVNULL)
            print(f"$ bash scripts/{name}.sh (fresh clone, empty ccache)", flush=True)
            start = time.perf_counter()
            subprocess.run(["bash", f"scripts/{name}.sh"], cwd=clone, env=env, check=True,
                           stdout=subprocess.DEVNULL)
            times[name] = time.perf_counter() - start
        if ccache:
            stats = subprocess.run([ccache, "--print-stats"], env=env, capture_output=True, text=True).stdout
            counts = dict(line.split("\t", 1) for line in stats.splitlines() if "\t" in line)
            hits = int(counts.get("direct_cache_hit", 0)) + int(counts.get("preprocessed_cache_hit", 0))
            times["hits"], times["compiles"] = hits, hits + int(counts.get("cache_miss", 0))
        return times
    finally:
        shutil.rmtree(clone, ignore_errors=True)
        shutil.rmtree(cache, ignore_errors=True)


def mpc_summary(path: Path) -> dict:
    from mpc import geomean, shifted_geomean
    everything = [r for r in read_csv(path) if r["impl"] == "dqp"]
    rows = [r for r in everything if r["success"] == "1"]
    return {"solved": len(rows), "count": len(everything),
            "total": shifted_geomean([float(r["total"]) for r in rows]),
            "floor": shifted_geomean([float(r["floor"]) for r in rows]),
            "ratio": geomean([float(r["ratio_total"]) for r in rows])}


def verdict(value: float, target: float, at_most: bool) -> str:
    met = value <= target if at_most else value >= target
    return "met" if met else "**missed**"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="200 calls, 5 repeats, MPC --quick (a smoke run)")
    parser.add_argument("--build", action="store_true",
                        help="also time setup.sh and test.sh on a fresh clone with an empty ccache (~25 min)")
    parser.add_argument("--output", type=Path, default=RESULTS / "targets", help="stem of the table (.md)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    started, load_before = time.perf_counter(), load_average()
    version = dqp_version()   # before --build reinstalls dqp from a clone

    calls, repeats = ("200", "5") if args.quick else ("2000", "20")
    run("overhead.py", "--calls", calls, "--output", str(OUT / "overhead"))
    run("batch_dense.py", "--sizes", "50", "--batches", "128", "--repeats", repeats,
        "--impls", "dqp", "libdqp", "libdqp-daqp", "--output", str(OUT / "batch"))
    breakdown = batch_breakdown(INPUTS / "dense_n50_B128.npz", int(repeats))
    run("storage.py", "--mpc-only", "--repeats", "3" if args.quick else "9", "--output", str(OUT / "storage"))
    run("mpc.py", "--impls", "dqp", "--output", "targets/mpc", *(["--quick"] if args.quick else []))
    build = fresh_clone_build() if args.build else None
    seconds, load_after = time.perf_counter() - started, load_average()

    overhead = {r["problem"]: r for r in read_csv(OUT / "overhead.csv")}
    batch = {r["impl"]: r for r in read_csv(OUT / "batch.csv")}
    storage = {r["case"]: r for r in read_csv(OUT / "storage.csv")}
    mpc = mpc_summary(RESULTS / "targets" / "mpc.csv")

    rows = []
    for name, against, target in (("LIPMWALK0", "floor", 3.0), ("WHLIPBAL0", "floor", 1.5),
                                  ("random n=10", "solve", 5.0)):
        r = overhead.get(name)
        if r is None:
            rows.append((name, "not measured (MPC data not found)", "-", ""))
            continue
        total, core, empty = float(r["total"]), float(r["core"]), float(r["empty_function"])
        base = float(r["floor"]) if against == "floor" else float(r["solve"])
        ratio = total / base
        base_text = (f"the fastest qpsolvers forward ({r['floor_solver']}, {fmt_time(base)})" if against == "floor"
                     else f"the C++ solve ({fmt_time(base)})")
        bound = (empty + core) / base
        rows.append((f"{name}: layer forward + backward ≤ {target:g}× {against}",
                     f"{fmt_time(total)} = {fmt_ratio(ratio)} {base_text}", verdict(ratio, target, True),
                     f"an empty autograd.Function with dqp's outputs costs {fmt_time(empty)} and the C++ forward "
                     f"{fmt_time(core)}: {fmt_ratio(bound)} before any backward work"))
    quad = storage.get("QUADCMPC3")
    if quad is not None:
        ratio = float(quad["auto_over_sparse_input"])
        rows.append(("QUADCMPC3 as dense tensors (`auto`) ≤ 2× the same data as sparse tensors",
                     f"{quad['auto_ms']} ms against {quad['sparse_ms']} ms = {fmt_ratio(ratio)} "
                     f"(`auto` chose {quad['auto_storage']}; dense path {quad['dense_ms']} ms)",
                     verdict(ratio, 2.0, True), ""))
    mine = float(batch["dqp"]["total"]) if "dqp" in batch and batch["dqp"]["total"] else math.nan
    one, default = breakdown["one"], breakdown["default"]
    per = lambda seconds: fmt_time(seconds / one["B"])  # noqa: E731
    solve_wall = default["solve"] / default["threads"]
    for peer, target, label in (("libdqp", 30.0, "each package's default solver"),
                                ("libdqp-daqp", 20.0, "both on DAQP")):
        r = batch.get(peer)
        if r is None or not r.get("total"):
            rows.append((f"B = 128, n = 50, {label}: ≥ {target:g}× faster than libdqp", "-",
                         f"not measured ({(r or {}).get('error') or 'run bench/setup_peers.sh'})", ""))
            continue
        theirs = float(r["total"])
        ratio = theirs / mine
        rows.append((f"B = 128, n = 50, forward + backward, {label}: libdqp / dqp ≥ {target:g}×",
                     f"dqp {fmt_time(mine)}, libdqp {fmt_time(theirs)}: {fmt_ratio(ratio)}",
                     verdict(ratio, target, False),
                     f"DAQP's solves alone take {fmt_time(solve_wall)} on dqp's {default['threads']} threads "
                     f"(at most {fmt_ratio(theirs / solve_wall)} if nothing else cost anything); per problem on "
                     f"one thread: DAQP {per(one['solve'])}, dqp's other forward work "
                     f"{per(one['core'] - one['solve'])}, Python around the forward "
                     f"{per(one['forward'] - one['core'])}, backward {per(one['backward'])}"))
    rows.append((f"MPC set ({mpc['count']} problems): forward + backward against the forward-only floor",
                 f"shifted geometric mean {fmt_time(mpc['total'])} against {fmt_time(mpc['floor'])}; "
                 f"geometric mean of the ratios {fmt_ratio(mpc['ratio'])}; solved {mpc['solved']}/{mpc['count']}",
                 "reported (no target)", ""))
    if build is not None:
        rows.append(("`scripts/test.sh` after `scripts/setup.sh` on a fresh clone adds ≤ 4 min",
                     f"setup {fmt_time(build['setup'])}, then test {fmt_time(build['test'])} (empty ccache)",
                     verdict(build["test"], 240.0, True),
                     (f"test.sh's C++ build took {build['hits']} of its {build['compiles']} compilations from "
                      "setup.sh's through ccache; " if "hits" in build else "")
                     + "the rest is the C++ tests' own sources, their run, the install check and pytest"))
    else:
        rows.append(("`scripts/test.sh` after `scripts/setup.sh` on a fresh clone adds ≤ 4 min",
                     "not measured in this run (`--build`)", "-", ""))

    lines = [f"# Performance targets, one run\n",
             f"`{command_line('targets.py', sys.argv[1:])}`, {fmt_time(seconds)}; {machine_line()}; "
             f"{version}.",
             "", f"1-minute load average {load_before:.1f} before, {load_after:.1f} after the run. Every ratio is "
             "between two times of this run. Each benchmark's own tables: results/targets/.", "",
             "| target | measured | | what bounds it (same run) |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    lines += ["", f"The batch's solver: {default['solver']}; one thread: forward {fmt_time(one['forward'])}, "
              f"backward {fmt_time(one['backward'])}; {default['threads']} threads: forward "
              f"{fmt_time(default['forward'])}, backward {fmt_time(default['backward'])}."]
    args.output.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.output.with_suffix('.md')}")


if __name__ == "__main__":
    main()
