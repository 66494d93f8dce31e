"""The `tinygrad-norm` command and `python -m tinygrad_norm`: usage without running anything (also with no
command), the demo subcommand, exit status 2 for bad arguments; and the message an uninstalled checkout gives."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).parent / "tinygrad-norm"  # the console script the install puts beside python


def _run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("command", [[sys.executable, "-m", "tinygrad_norm"], [SCRIPT]], ids=["-m", "script"])
@pytest.mark.parametrize("arguments", [["--help"], []], ids=["help", "no-command"])
def test_help_prints_usage_and_runs_nothing(command, arguments):
    result = _run(*command, *arguments)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: tinygrad-norm")
    assert all(name in result.stdout for name in ("train", "evaluate", "demo"))
    assert "loss" not in result.stdout


def test_the_demo_runs_as_a_subcommand():
    result = _run(SCRIPT, "demo")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loss   = ") and "w.grad" in result.stdout


def test_bad_arguments_exit_2_without_a_traceback():
    result = _run(sys.executable, "-m", "tinygrad_norm", "bogus")
    assert result.returncode == 2
    assert "invalid choice: 'bogus'" in result.stderr and "Traceback" not in result.stderr


def test_an_uninstalled_checkout_names_the_fix(tmp_path):
    """The package folder alone, without the install that maps kernels/ to tinygrad_norm.kernels."""
    shutil.copytree(ROOT / "tinygrad_norm", tmp_path / "tinygrad_norm", ignore=shutil.ignore_patterns("__pycache__"))
    code = (
        "import sys; "
        "sys.meta_path[:] = [f for f in sys.meta_path if '__editable__' not in getattr(f, '__module__', '')]; "
        "import tinygrad_norm"
    )
    result = _run(sys.executable, "-c", code, cwd=tmp_path)
    assert result.returncode == 1
    assert "ImportError: tinygrad_norm.kernels is missing" in result.stderr
    assert "pip install -e ." in result.stderr
