"""Ray on one local cluster (2 CPUs): Ray Train's TorchTrainer takes the same steps as one process on the whole
batch, and the --ray runs of `dqp diagnose FOLDER`, bench/mpc.py and bench/maros_meszaros.py give the tables of
the local runs (all but the timing columns)."""
from __future__ import annotations

import csv
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'dqp[ray]')")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES, BENCH = ROOT / "examples", ROOT / "bench"


@pytest.fixture(scope="module")
def cluster():
    """One local cluster for the module; the code under test finds it connected and uses it as it is."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # by name, as the drivers import themselves on Ray workers
    spec.loader.exec_module(module)
    return module


def _csv(path: Path, drop: tuple) -> list:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(handle)]


def test_ray_train_steps_equal_one_process_on_the_whole_batch(cluster, tmp_path):
    example = _load(EXAMPLES / "ray_train.py", "ray_train_example")
    trained = example.main(["--steps", "3", "--batch", "16", "--workers", "2", "--out", str(tmp_path)])
    model = example.allocation_model
    single = model.train(3, 16)
    initial = model.Allocator().state_dict()
    for name, parameter in single.named_parameters():
        assert not torch.equal(parameter.detach(), initial[name])
        torch.testing.assert_close(trained["parameters"][name], parameter.detach(), rtol=0, atol=1e-10)
    # The loss written is the whole batch's: that of the single process's model before each step.
    assert trained["threads"] == 1
    x, target = model.make_data(16, seed=1)
    first = ((model.Allocator()(x) - target) ** 2).sum(dim=1).mean().item()
    assert trained["losses"][0] == pytest.approx(first, rel=1e-12)
    with open(tmp_path / "ray_train.csv") as handle:
        assert [int(row["step"]) for row in csv.DictReader(handle)] == [0, 1, 2]
    assert (tmp_path / "ray_train.png").stat().st_size > 5_000
    assert set(torch.load(tmp_path / "ray_train.pt")) == {"W", "L"}


def _write_problems(folder: Path) -> None:
    """Three small feasible QPs in the reference's .npz format (z = 0 is feasible), one with an equality."""
    rng = np.random.default_rng(7)
    for k, (n, m, p) in enumerate([(3, 4, 0), (5, 6, 1), (4, 8, 0)]):
        M = rng.standard_normal((n, n))
        arrays = {"Q": M @ M.T + np.eye(n), "q": rng.standard_normal(n), "G": rng.standard_normal((m, n)),
                  "h": rng.random(m)}
        if p:
            arrays.update(A=rng.standard_normal((p, n)), b=np.zeros(p))
        np.savez(folder / f"qp{k}.npz", **arrays)


def test_diagnose_folder_on_ray_equals_the_local_table(cluster, tmp_path, capsys):
    from dqp.__main__ import main
    from dqp._diagnose_folder import TIMING_DEPENDENT

    folder = tmp_path / "problems"
    folder.mkdir()
    _write_problems(folder)
    common = ["diagnose", str(folder), "--solvers", "daqp,proxqp", "--repeats", "2", "--no-progress"]
    assert main(common + ["--csv", str(tmp_path / "local.csv")]) == 0
    assert main(common + ["--csv", str(tmp_path / "ray.csv"), "--ray"]) == 0
    output = capsys.readouterr().out
    assert output.count("qp2") == 2                      # the summary line of each run
    local, distributed = (_csv(tmp_path / name, TIMING_DEPENDENT) for name in ("local.csv", "ray.csv"))
    assert [(r["problem"], r["solver"]) for r in local] == [(f"qp{k}", s) for k in range(3)
                                                           for s in ("daqp", "proxqp")]
    assert all(r["status"] == "optimal" and r["agrees"] == "True" for r in local)
    assert distributed == local


def test_mpc_bench_on_ray_equals_the_local_table(cluster, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    mpc = _load(BENCH / "mpc.py", "mpc")
    try:
        data = mpc.find_data(None)
    except SystemExit:
        if os.environ.get("CI"):
            raise
        pytest.skip("MPC data (shared/data/mpc_qpbenchmark) not found")
    monkeypatch.setattr(mpc, "RESULTS", tmp_path)
    monkeypatch.setattr(mpc, "INPUTS", tmp_path / "inputs")
    common = ["--quick", "--impls", "dqp", "--families", "LIPMWALK", "--data-dir", str(data)]
    assert mpc.main(common + ["--output", "local"]) == 0
    assert mpc.main(common + ["--output", "ray", "--ray"]) == 0
    timing = ("forward", "total", "backward", "floor", "floor_solver", "ratio_forward", "ratio_total", "samples")
    local, distributed = (_csv(tmp_path / name, timing) for name in ("local.csv", "ray.csv"))
    assert [r["problem"] for r in local] == ["LIPMWALK0", "LIPMWALK1"]
    assert all(r["success"] == "1" for r in local)
    assert distributed == local


def test_maros_meszaros_bench_on_ray_equals_the_local_table(cluster, tmp_path, monkeypatch):
    from dqp.problems import maros_meszaros_dir

    data = maros_meszaros_dir()
    if data is None:
        pytest.skip("Maros–Meszaros data (../shared/data/maros_meszaros) not found")
    monkeypatch.syspath_prepend(str(BENCH))
    sweep = _load(BENCH / "maros_meszaros.py", "maros_meszaros")
    common = ["--problems", "HS21,HS35", "--solvers", "daqp,proxqp", "--repeats", "1", "--data-dir", str(data)]
    assert sweep.main(common + ["--output", str(tmp_path / "local")]) == 0
    assert sweep.main(common + ["--output", str(tmp_path / "ray"), "--ray"]) == 0
    timing = ("forward_time", "backward_time", "derivative_overhead", "solve_time", "active_set_time",
              "core_forward_time", "forward_repeats", "backward_repeats")
    local, distributed = (_csv(tmp_path / name, timing) for name in ("local.csv", "ray.csv"))
    assert [(r["problem"], r["solver"]) for r in local] == [("HS21", "daqp"), ("HS21", "proxqp"),
                                                          ("HS35", "daqp"), ("HS35", "proxqp")]
    assert all(r["ok"] == "True" for r in local)
    assert distributed == local
