"""A model holding a dqp layer under DistributedDataParallel: 2 processes on
localhost (gloo, CPU) take the same step as one process on the whole batch."""
from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE = EXAMPLES / "ddp_train.py"


def _model():
    """examples/allocation_model.py, the model both multi-process examples train."""
    spec = importlib.util.spec_from_file_location("allocation_model", EXAMPLES / "allocation_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(not torch.distributed.is_available() or not torch.distributed.is_gloo_available(),
                    reason="torch built without distributed gloo")
@pytest.mark.parametrize("steps", [1, 3])
def test_ddp_steps_on_two_processes_equal_one_process_on_the_whole_batch(tmp_path, steps):
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc_per_node", "2",
               "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
               str(EXAMPLE), "--steps", str(steps), "--batch", "16", "--save", str(out)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 process(es), 1 thread(s) each; dqp batch threads: 1" in result.stdout
    distributed = torch.load(out)
    single = _model().train(steps, 16)
    for name, parameter in single.named_parameters():
        assert not torch.equal(parameter.detach(), _model().Allocator().state_dict()[name])
        torch.testing.assert_close(distributed[name], parameter.detach(), rtol=0, atol=1e-10)


def test_default_batch_threads_follow_torch():
    import dqp
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert dqp.QPLayer().threads == 1
        assert dqp.QPLayer(n_threads=3).threads == 3
    finally:
        torch.set_num_threads(before)
    assert dqp.QPLayer().threads == before
