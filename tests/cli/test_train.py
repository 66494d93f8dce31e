"""`tinygrad-norm train` and `evaluate` end to end, on one epoch of the bundled digits (a fraction of a second)."""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm.cli import main

from ..data.idx_files import tiny_mnist, write_idx

ACCURACY = re.compile(r"^test accuracy: (0\.\d{4}|1\.0000)$", re.M)


@pytest.fixture(autouse=True)
def keep_backend():
    previous = tn.get_backend_name()
    yield
    tn.set_backend(previous)


def train(capsys, *options: str) -> tuple[str, float]:
    """Run `tinygrad-norm train --epochs 1 OPTIONS` in this process; (stdout, final test accuracy)."""
    status = main(["train", "--epochs", "1", *options])
    out, err = capsys.readouterr()
    assert status == 0, err
    (accuracy,) = ACCURACY.findall(out)
    return out, float(accuracy)


def fails(capsys, *argv: str) -> str:
    """Run a command that must fail with status 2 and one line on stderr; return that line."""
    assert main(list(argv)) == 2
    out, err = capsys.readouterr()
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_default_run_learns(capsys):
    out, accuracy = train(capsys)
    assert accuracy > 0.85  # one epoch of the default MLP; 20 epochs reach about 0.98
    assert re.search(r"^epoch 1/1  lr 0\.001  loss \d\.\d{4}  train acc", out, re.M)
    assert re.search(r"^wall time: \d+\.\d s$", out, re.M)


@pytest.mark.parametrize(
    "options",
    [
        ("--model", "cnn"),
        ("--model", "cnn", "--norm", "instance"),
        ("--model", "cnn", "--norm", "layer", "--optimizer", "sgd", "--lr", "0.05"),
        ("--model", "cnn", "--norm", "rms", "--optimizer", "adamw", "--weight-decay", "0.05"),
        ("--model", "cnn", "--norm", "group", "--scheduler", "onecycle"),
        ("--norm", "layer", "--optimizer", "rmsprop"),
        ("--norm", "group", "--scheduler", "cosine"),
        ("--norm", "rms", "--scheduler", "step", "--l1", "1e-5"),
        ("--norm", "none", "--dropout", "0", "--batch-size", "100", "--seed", "3"),
        ("--backend", "numpy", "--quiet"),
    ],
)
def test_options(capsys, options):
    _, accuracy = train(capsys, *options)
    assert accuracy > 0.5


def test_metrics_plot_save_and_evaluate(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    metrics, plot, checkpoint = tmp_path / "m.csv", tmp_path / "curves.png", tmp_path / "run.ckpt"
    status = main(["train", "--epochs", "2", "--metrics", str(metrics), "--plot", str(plot), "--save", str(checkpoint)])
    out, _ = capsys.readouterr()
    assert status == 0
    rows = list(csv.DictReader(metrics.open()))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert set(rows[0]) == {"epoch", "lr", "train_loss", "train_accuracy", "test_accuracy", "seconds"}
    assert all(np.isfinite(float(value)) for row in rows for value in row.values())
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert tn.load(checkpoint)["epoch"] == 2

    assert main(["evaluate", "--checkpoint", str(checkpoint)]) == 0
    report, _ = capsys.readouterr()
    assert ACCURACY.findall(report) == ACCURACY.findall(out)  # the saved model is the trained one
    matrix = [line.split()[1:] for line in report.splitlines() if re.match(r"^\s+\d+(\s+\d+){10}$", line)]
    assert len(matrix) == 10 and sum(int(n) for row in matrix for n in row) == 360  # the digits test split


def test_plot_without_matplotlib_still_trains(capsys, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    assert main(["train", "--epochs", "1", "--plot", str(tmp_path / "p.png")]) == 0
    out, err = capsys.readouterr()
    assert "pip install 'tinygrad-norm[plot]'" in err and ACCURACY.search(out)
    assert not (tmp_path / "p.png").exists()


def test_mnist_files_from_a_folder(capsys, tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for prefix, count in (("train", 96), ("t10k", 32)):
        images, labels = tiny_mnist(count, seed=count)
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", labels)
    train(capsys, "--dataset", "mnist", "--data-dir", str(tmp_path), "--model", "cnn", "--batch-size", "32")


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["train", "--lr", "-1"], "--lr must be a positive number"),
        (["train", "--epochs", "0"], "--epochs must be a positive integer"),
        (["train", "--dropout", "1.5"], "--dropout must be in [0, 1)"),
        (["train", "--batch-size", "0"], "--batch-size must be a positive integer"),
        (["train", "--lr", "fast"], "invalid float value: 'fast'"),
        (["train", "--norm", "weight"], "invalid choice: 'weight'"),
        (["train", "--norm", "instance"], "--norm instance needs feature maps"),
        (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["train", "--resume", "/nonexistent/run.ckpt"], "/nonexistent/run.ckpt"),
        (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"], "train-images-idx3-ubyte"),
        (["evaluate"], "--checkpoint"),
        (["evaluate", "--checkpoint", "/nonexistent/run.ckpt"], "/nonexistent/run.ckpt"),
    ],
)
def test_bad_input_is_one_line_and_status_2(capsys, argv, says):
    assert says in fails(capsys, *argv)


def test_foreign_or_mismatched_checkpoints_are_refused(capsys, tmp_path):
    foreign = tmp_path / "foreign.ckpt"
    foreign.write_bytes(b"not a checkpoint at all")
    assert "not a readable tinygrad_norm checkpoint" in fails(capsys, "train", "--resume", str(foreign))
    tn.save({"model": {}}, tmp_path / "other.ckpt")
    assert "not a checkpoint written by" in fails(capsys, "train", "--resume", str(tmp_path / "other.ckpt"))

    run = tmp_path / "run.ckpt"
    assert main(["train", "--epochs", "1", "--save", str(run)]) == 0
    capsys.readouterr()
    assert "--norm layer (saved: batch)" in fails(capsys, "train", "--resume", str(run), "--norm", "layer")


# ---- in new processes: resuming is exact, Ctrl-C leaves the last checkpoint ---------------------------------------


def command(*argv: str) -> list[str]:
    return [sys.executable, "-m", "tinygrad_norm", *argv]


def test_resume_in_a_new_process_is_bit_identical(tmp_path):
    straight, split = tmp_path / "straight.ckpt", tmp_path / "split.ckpt"
    options = ["--model", "cnn", "--batch-size", "128", "--quiet"]
    subprocess.run(
        command("train", "--epochs", "4", "--save", str(straight), *options), check=True, capture_output=True
    )
    subprocess.run(command("train", "--epochs", "2", "--save", str(split), *options), check=True, capture_output=True)
    resumed = subprocess.run(
        command("train", "--resume", str(split), "--epochs", "4", "--save", str(split)),
        check=True,
        capture_output=True,
        text=True,
    )
    assert "epoch 3/4" in resumed.stdout and "epoch 1/" not in resumed.stdout
    a, b = tn.load(straight), tn.load(split)
    assert a["epoch"] == b["epoch"] == 4
    for key, value in a["model"].items():
        assert np.array_equal(value, b["model"][key]), key
    for key in ("train_loss", "train_accuracy", "test_accuracy"):
        assert [row[key] for row in a["history"]] == [row[key] for row in b["history"]]


def test_ctrl_c_exits_130_and_keeps_the_last_checkpoint(tmp_path):
    checkpoint = tmp_path / "run.ckpt"
    child = subprocess.Popen(
        command("train", "--model", "cnn", "--epochs", "1000", "--save", str(checkpoint)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for line in child.stdout:
        if line.startswith("epoch 2/"):
            break
    child.send_signal(2)  # SIGINT, as Ctrl-C
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130
    assert err.strip().splitlines()[-1] == "tinygrad-norm: interrupted"
    assert tn.load(checkpoint)["epoch"] >= 2
