"""Two processes under `mpiexec -n 2`: the checks of two_processes.py (collectives, SyncBatchNorm against BatchNorm
on the whole batch, DDP against one process on the combined batches, bad setups), a failing or vanishing process
ending the run, and `tinygrad-norm train --distributed`. Slow: every launch starts two interpreters."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import distributed

from ..data.idx_files import tiny_mnist, write_idx

pytestmark = pytest.mark.slow
LAUNCH_TIMEOUT = 300  # seconds for one launch on a loaded 2-core machine; a hang fails the test instead


def launch(*commands: list[str], timeout: float = LAUNCH_TIMEOUT, **env: str) -> subprocess.CompletedProcess:
    """Run `mpiexec -n 1 COMMAND : -n 1 COMMAND ...` (one process per command; one command runs twice)."""
    mpiexec = distributed.find_mpiexec()
    assert mpiexec is not None, "no mpiexec: install the mpi extra (pip install -e '.[mpi]')"
    if len(commands) == 1:
        commands = commands * 2
    argv = [mpiexec]
    for command in commands:
        argv += [*([":"] if argv[1:] else []), "-n", "1", *command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env={**os.environ, **env})


def passed(result: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def test_checks_in_two_processes():
    result = passed(launch([sys.executable, str(Path(__file__).with_name("two_processes.py"))]))
    assert "rank 0: all checks passed" in result.stdout and "rank 1: all checks passed" in result.stdout


FAILING_RANK_1 = """
import sys
from tinygrad_norm import distributed
import numpy as np
distributed.init(timeout=TIMEOUT)
if distributed.rank() == 1:
    ACTION
distributed.all_reduce(np.ones(3))
print("rank", distributed.rank(), "got past the all_reduce")
"""


@pytest.mark.parametrize(
    "action, timeout, says",
    [
        ('raise RuntimeError("rank 1 broke")', 600, ["RuntimeError: rank 1 broke", "rank 1 failed; aborting the run"]),
        ("sys.exit(0)", 2, ["rank 0: all_reduce of a float64 array of shape (3,) waited more than 2 s"]),
    ],
    ids=["exception", "early exit"],
)
def test_a_failing_process_ends_the_run(action, timeout, says):
    code = FAILING_RANK_1.replace("TIMEOUT", str(timeout)).replace("ACTION", action)
    result = launch([sys.executable, "-c", code], timeout=120)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "got past" not in result.stdout
    if action == "sys.exit(0)" and not result.stderr:
        return  # MPICH's launcher now and then ends the run itself, silently, before rank 0's timeout: ended, too
    for line in says:
        assert line in result.stderr, result.stderr


TRAIN = [sys.executable, "-m", "tinygrad_norm", "train", "--distributed", "--quiet"]


def without_seconds(epoch_line: str) -> str:
    return re.sub(r"  [\d.]+ s$", "", epoch_line)


def tiny_mnist_folder(root: Path, train_samples: int) -> list[str]:
    """MNIST files of `train_samples` training and 8 test images under root/mnist; the options that train on them."""
    folder = root / "mnist"
    folder.mkdir()
    for prefix, count in (("train", train_samples), ("t10k", 8)):
        images, labels = tiny_mnist(count, seed=count)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    return ["--dataset", "mnist", "--data-dir", str(root)]


def test_distributed_training_writes_on_rank_0_and_resumes_on_every_rank(tmp_path):
    first, resumed, straight = (str(tmp_path / name) for name in ("first.ckpt", "resumed.ckpt", "straight.ckpt"))
    metrics = tmp_path / "metrics.csv"
    data = [*tiny_mnist_folder(tmp_path, 70), "--batch-size", "16"]  # 3 batches an epoch, the last of 6 samples

    def train(*options: str) -> subprocess.CompletedProcess:
        return passed(launch([*TRAIN, *data, *options]))

    out = train("--epochs", "1", "--save", first, "--metrics", str(metrics)).stdout
    assert out.count("epoch 1/1 ") == 1 and out.count("test accuracy:") == 1, out  # rank 0 alone prints
    assert len(metrics.read_text().splitlines()) == 2
    last_epoch = train("--resume", first, "--epochs", "2", "--save", resumed).stdout.splitlines()[0]
    assert last_epoch.startswith("epoch 2/2 ")
    out = train("--epochs", "2", "--save", straight).stdout
    assert without_seconds(out.splitlines()[1]) == without_seconds(last_epoch)
    resumed_state, straight_state = tn.load(resumed), tn.load(straight)
    assert resumed_state["processes"] == 2
    for resumed_row, straight_row in zip(resumed_state["history"], straight_state["history"], strict=True):
        assert {**resumed_row, "seconds": 0} == {**straight_row, "seconds": 0}
    for key, value in straight_state["model"].items():
        np.testing.assert_array_equal(resumed_state["model"][key], value, err_msg=key)


def test_distributed_training_refuses_bad_setups_clearly(tmp_path):
    result = launch([*TRAIN, "--epochs", "1", *tiny_mnist_folder(tmp_path, 1)])
    assert result.returncode == 2, result.stdout + result.stderr
    assert re.search(r"tinygrad-norm: error: rank [01]: world_size \(2\) is larger than the dataset \(1 samples\)",
                     result.stderr), result.stderr  # whichever rank gets there first
    assert "Traceback" not in result.stderr

    result = launch([*TRAIN, "--epochs", "1", "--model", "mlp"], [*TRAIN, "--epochs", "1", "--model", "cnn"])
    assert result.returncode == 2, result.stdout + result.stderr
    assert ("the processes hold different models: parameter 1.weight (256, 64) float32 on rank 0, "
            "parameter 0.weight (32, 1, 3, 3) float32 on rank 1") in result.stderr
    assert "Traceback" not in result.stderr
