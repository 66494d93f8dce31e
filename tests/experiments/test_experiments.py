"""`tinygrad-norm experiment`: every experiment in its quick setting writes a PNG and CSVs of finite numbers;
the command's errors are one line with status 2; without matplotlib the CSVs are still written."""

from __future__ import annotations

import csv
import math

import pytest

from tinygrad_norm import experiments
from tinygrad_norm.cli import main
from tinygrad_norm.experiments import plot

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
HEADER = ["panel", "series", "x", "mean", "min", "max", "seed_0", "seed_1"]


def fails(capsys, *argv: str) -> str:
    """Run a command that must fail with status 2 and one line on stderr; return that line."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("name", list(experiments.EXPERIMENTS))
def test_quick_run_writes_png_and_finite_csv(name, tmp_path, capsys):
    assert main(["experiment", name, "--quick", "--seeds", "2", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{name}: ") and "wall time:" in out
    assert (tmp_path / f"{name}.png").read_bytes().startswith(PNG_MAGIC)
    rows = list(csv.reader((tmp_path / f"{name}.csv").open()))
    assert rows[0] == HEADER
    assert len(rows) > 2
    for row in rows[1:]:
        numbers = [float(cell) for cell in row[2:]]
        assert len(numbers) == 6 and all(math.isfinite(v) for v in numbers), row
        mean, low, high, *seeds = numbers[1:]
        assert low <= mean <= high and min(seeds) == low and max(seeds) == high
    summary = list(csv.reader((tmp_path / f"{name}-summary.csv").open()))
    assert len(summary) >= 2 and all(len(row) == len(summary[0]) for row in summary)


def test_without_matplotlib_the_csvs_are_written(tmp_path, capsys, monkeypatch):
    def missing():
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(plot, "pyplot", missing)
    assert main(["experiment", "bn-convergence", "--quick", "--seeds", "1", "--out", str(tmp_path), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "tinygrad-norm[plot]" in err
    assert (tmp_path / "bn-convergence.csv").exists() and not (tmp_path / "bn-convergence.png").exists()


def test_list_names_every_experiment(capsys):
    assert main(["experiment", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(experiments.EXPERIMENTS)


def test_bad_invocations_are_one_line_errors(capsys, tmp_path):
    assert "--list" in fails(capsys, "experiment")
    assert "unknown experiment 'nope'" in fails(capsys, "experiment", "nope")
    assert "--seeds must be a positive integer" in fails(capsys, "experiment", "batch-size", "--seeds", "0")
    assert "invalid choice" in fails(capsys, "experiment", "batch-size", "--dataset", "cifar")
    missing = fails(capsys, "experiment", "batch-size", "--dataset", "mnist", "--data-dir", str(tmp_path))
    assert "train-images-idx3-ubyte" in missing


def test_bn_convergence_falls_back_to_digits_without_mnist_files(tmp_path, capsys):
    assert main(["experiment", "bn-convergence", "--quick", "--seeds", "1", "--out", str(tmp_path),
                 "--data-dir", str(tmp_path), "--quiet"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert "using the bundled digits" in err and "(digits, 1 seeds)" in out.splitlines()[0]
