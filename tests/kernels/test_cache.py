"""Numba's compile cache: an installed, read-only copy of the kernels imports and runs for a user without a
writable home; NUMBA_CACHE_DIR and XDG_CACHE_HOME are respected; a cold compile says so once, a cached load is
silent. Each case runs in a fresh Python process."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tinygrad_norm.kernels

KERNELS_DIR = Path(tinygrad_norm.kernels.__file__).parent
NOTICE = "compiling Numba kernels"

# Runs as root up to the setuid: Python's standard modules, numpy and Numba (LLVM, the threading layer) are loaded
# while the files they come from are readable (the interpreter may live in root's home), then the process becomes
# nobody and imports the read-only copy.
READ_ONLY_SCRIPT = """
import getpass, os, sys, tempfile
import numpy as np
from numba import njit, prange

@njit(parallel=True)
def warm_up(a):
    for i in prange(a.size):
        a[i] += 1.0

warm_up(np.zeros(4))
read_only, tmp = sys.argv[1], sys.argv[2]
os.setgid(65534)
os.setuid(65534)
os.environ["HOME"] = "/nonexistent"
os.environ["TMPDIR"] = tmp
tempfile.tempdir = None
sys.path.insert(0, read_only)

try:  # the failure this guards against, reproduced: a plain cache=True function cannot be defined here
    import plain_cached
    print("plain cache=True imported")
except RuntimeError as error:
    print("plain cache=True failed:", error)

import numba
from tinygrad_norm.kernels import cpu
assert cpu.__file__.startswith(read_only), cpu.__file__
mask = np.empty(1000, np.uint8)
cpu.dropout_mask(0.5, 1, 0, mask)
x = np.random.default_rng(0).standard_normal((4, 6, 1))
y, dx, mean, rstd = np.empty_like(x), np.empty_like(x), np.empty((4, 1)), np.empty((4, 1))
cpu.row_norm_forward(x, None, None, 1, 1e-5, True, y, mean, rstd)
cpu.row_norm_backward(x, x, mean, rstd, None, 1, True, dx, None, None)
print("kernel ran, kept", int(mask.sum()), "normalized", bool(abs(y.mean(axis=1)).max() < 1e-12))
print("cache dir", numba.config.CACHE_DIR)
"""


def _environment(**overrides):
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(overrides)
    return env


def _python(args, env):
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.skipif(not hasattr(os, "setuid") or os.geteuid() != 0, reason="needs root to become another user")
def test_read_only_install_without_writable_home_imports_and_runs():
    root = Path(tempfile.mkdtemp(prefix="tgn-read-only-"))
    try:
        package = root / "site" / "tinygrad_norm"
        shutil.copytree(KERNELS_DIR, package / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
        (package / "__init__.py").write_text("")
        (root / "site" / "plain_cached.py").write_text(
            "from numba import njit\n\n@njit(cache=True)\ndef one():\n    return 1\n")
        tmp = root / "tmp"
        tmp.mkdir()
        for path in [root, *root.rglob("*")]:
            path.chmod(0o1777 if path == tmp else 0o555 if path.is_dir() else 0o444)

        cold, warm = (_python(["-c", READ_ONLY_SCRIPT, str(root / "site"), str(tmp)], _environment()) for _ in "12")

        for result in (cold, warm):
            assert result.returncode == 0, result.stderr
            assert "plain cache=True failed: cannot cache function" in result.stdout  # the setup is really read-only
            assert "kernel ran, kept" in result.stdout and "normalized True" in result.stdout
        cache_dir = cold.stdout.split("cache dir ", 1)[1].strip()
        assert cache_dir.startswith(str(tmp)) and any(Path(cache_dir).rglob("*.nbi")), cold.stdout
        assert cold.stderr.count(NOTICE) == 1, cold.stderr
        assert NOTICE not in warm.stderr, warm.stderr  # the second process loads every kernel from the fallback cache
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o700)
        shutil.rmtree(root)


CALL_ONE_KERNEL = (
    "import numba, numpy as np\n"
    "from tinygrad_norm.kernels import cpu\n"
    "cpu.dropout_mask(0.5, 1, 0, np.empty(10, np.uint8))\n"
    "print(numba.config.CACHE_DIR)\n"
)


def test_numba_cache_dir_is_respected_and_only_a_cold_compile_prints_a_notice(tmp_path):
    env = _environment(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    cold = _python(["-c", CALL_ONE_KERNEL], env)
    warm = _python(["-c", CALL_ONE_KERNEL], env)
    assert cold.returncode == 0 and warm.returncode == 0, cold.stderr + warm.stderr
    assert cold.stdout.strip() == str(tmp_path / "cache")
    assert any((tmp_path / "cache").rglob("*.nbi"))
    assert cold.stderr.count(NOTICE) == 1
    assert NOTICE not in warm.stderr


def test_xdg_cache_home_is_used_when_numba_cache_dir_is_unset(tmp_path):
    script = "import numba\nimport tinygrad_norm.kernels.cpu\nprint(numba.config.CACHE_DIR)\n"
    result = _python(["-c", script], _environment(XDG_CACHE_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "tinygrad_norm" / "numba")
