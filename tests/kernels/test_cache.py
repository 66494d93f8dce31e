"""Numba's compile cache: an installed, read-only copy of the kernels imports and runs for a user without a
writable home; NUMBA_CACHE_DIR and XDG_CACHE_HOME are respected; an unusable folder means compiling in memory, a
temporary folder another user could write to is not used, a damaged cache file is dropped and its kernel recompiled;
a cold compile says so once per dtype, a cached load is silent. Each case runs in a fresh Python process."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import tinygrad_norm.kernels

import tinygrad_norm

pytestmark = pytest.mark.slow

PACKAGE_DIR = Path(tinygrad_norm.__file__).parent
KERNELS_DIR = Path(tinygrad_norm.kernels.__file__).parent
NOTICE = "compiling Numba kernels"
IN_MEMORY = "so every run compiles them in memory"

# Runs as root up to the setuid: Python's standard modules and the third-party packages the kernels import (numpy,
# Numba with LLVM and its threading layer, threadpoolctl) are loaded while the files they come from are readable (the
# interpreter and its site-packages may live in a folder only root can read), then the process becomes nobody and
# imports the read-only copy.
READ_ONLY_SCRIPT = """
import getpass, os, sys, tempfile
import numpy as np
import threadpoolctl
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
@pytest.mark.parametrize("numba_cache_dir", ["unset", "read-only"])
def test_read_only_install_without_writable_home_imports_and_runs(numba_cache_dir):
    """Unset: the kernels are cached in a private temporary folder. A read-only NUMBA_CACHE_DIR: they compile in
    memory in every run, which one line says, with the fix."""
    root = Path(tempfile.mkdtemp(prefix="tgn-read-only-"))
    try:
        package = root / "site" / "tinygrad_norm"
        shutil.copytree(KERNELS_DIR, package / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
        (package / "__init__.py").write_text("")
        (root / "site" / "plain_cached.py").write_text(
            "from numba import njit\n\n@njit(cache=True)\ndef one():\n    return 1\n"
        )
        tmp, read_only_cache = root / "tmp", root / "cache"
        tmp.mkdir()
        read_only_cache.mkdir()
        for path in [root, *root.rglob("*")]:
            path.chmod(0o1777 if path == tmp else 0o555 if path.is_dir() else 0o444)
        env = _environment(**({"NUMBA_CACHE_DIR": str(read_only_cache)} if numba_cache_dir == "read-only" else {}))

        cold, warm = (_python(["-c", READ_ONLY_SCRIPT, str(root / "site"), str(tmp)], env) for _ in "12")

        for result in (cold, warm):
            assert result.returncode == 0, result.stderr
            assert "plain cache=True failed: cannot cache function" in result.stdout  # the setup is really read-only
            assert "kernel ran, kept" in result.stdout and "normalized True" in result.stdout
        if numba_cache_dir == "read-only":
            for result in (cold, warm):
                assert result.stderr.count(IN_MEMORY) == 1, result.stderr
                assert f"NUMBA_CACHE_DIR={read_only_cache}" in result.stderr
                assert NOTICE in result.stderr  # nothing was saved: the second run compiles again
            assert not any(read_only_cache.iterdir())
            return
        cache_dir = cold.stdout.split("cache dir ", 1)[1].strip()
        assert cache_dir.startswith(str(tmp)) and any(Path(cache_dir).rglob("*.nbi")), cold.stdout
        assert cold.stderr.count(NOTICE) == 1, cold.stderr
        assert warm.stderr == "", warm.stderr  # the second process loads every kernel from the fallback cache
    finally:
        for path in [root, *root.rglob("*")]:
            path.chmod(0o700)
        shutil.rmtree(root)


def test_an_unusable_numba_cache_dir_still_imports_the_package_and_compiles_in_memory(tmp_path):
    """Any user: NUMBA_CACHE_DIR under a file, and no other place Numba could fall back to (no home, and a file
    where the package's __pycache__ folders would be): importing the package and running its kernels works."""
    site = tmp_path / "site"
    shutil.copytree(PACKAGE_DIR, site / "tinygrad_norm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(KERNELS_DIR, site / "tinygrad_norm" / "kernels", ignore=shutil.ignore_patterns("__pycache__"))
    for folder in [path for path in site.rglob("*") if path.is_dir()]:
        (folder / "__pycache__").write_text("")
    (tmp_path / "file").write_text("")
    script = (
        "import numpy as np\n"
        "import tinygrad_norm as tn\n"
        "x = tn.tensor(np.linspace(-2, 2, 12).reshape(3, 4), dtype='float32', requires_grad=True)\n"
        "y = tn.nn.LayerNorm(4)(tn.nn.GELU()(x))\n"
        "y.sum().backward()\n"
        "print(tn.__file__, y.shape, x.grad.shape)\n"
    )
    env = _environment(NUMBA_CACHE_DIR=str(tmp_path / "file" / "cache"), HOME="/dev/null", PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=site, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(site)), result.stdout
    lines = result.stderr.splitlines()
    assert len([line for line in lines if IN_MEMORY in line]) == 1, result.stderr
    assert all(line.startswith("tinygrad_norm.kernels: ") for line in lines), result.stderr


CALL_ONE_KERNEL = (
    "import numba, numpy as np\n"
    "from tinygrad_norm.kernels import cpu\n"
    "cpu.dropout_forward(np.ones((10, 1), np.float32), 0.5, 1, 0, np.empty((10, 1), np.float32))\n"
    "print(numba.config.CACHE_DIR)\n"
)


def _private_folder_env(tmp_path, **overrides):
    """No usable home; the temporary folder is tmp_path; the user name is fixed, so is the folder's name."""
    return _environment(HOME="/dev/null", TMPDIR=str(tmp_path), LOGNAME="tgn-user", USER="tgn-user", **overrides)


@pytest.mark.parametrize("planted", ["writable by others", "owned by another user", "private"])
def test_the_temporary_folder_is_used_only_when_private_to_the_user(tmp_path, planted):
    if planted == "owned by another user" and (not hasattr(os, "chown") or os.geteuid() != 0):
        pytest.skip("needs root to give a folder to another user")
    folder = tmp_path / "tinygrad_norm-tgn-user"
    folder.mkdir()
    folder.chmod(0o777 if planted == "writable by others" else 0o700)
    if planted == "owned by another user":
        os.chown(folder, 65534, 65534)

    result = _python(["-c", CALL_ONE_KERNEL], _private_folder_env(tmp_path))

    assert result.returncode == 0, result.stderr
    cache_dir = Path(result.stdout.strip())
    if planted == "private":
        assert cache_dir == folder / "numba" and any(cache_dir.rglob("*.nbi"))
        assert f"not using {folder}" not in result.stderr
        return
    assert folder not in cache_dir.parents and not any(folder.rglob("*.nbi"))
    assert cache_dir.parent == tmp_path and cache_dir.name.startswith("tinygrad_norm-tgn-user-")
    info = cache_dir.stat()
    assert info.st_uid == os.getuid() and info.st_mode & 0o777 == 0o700
    assert f"not using {folder} ({'owned by uid' if 'owned' in planted else 'writable by others'}" in result.stderr


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


DROPOUT_IN = (
    "import sys, numpy as np\n"
    "from tinygrad_norm.kernels import cpu, reference\n"
    "x = np.linspace(-1, 1, 50, dtype=sys.argv[1]).reshape(-1, 1)\n"
    "x.flags.writeable = 'read-only' not in sys.argv\n"
    "y, expected = np.empty_like(x), np.empty_like(x)\n"
    "cpu.dropout_forward(x, 0.5, 3, 0, y)\n"
    "reference.dropout_forward(x, 0.5, 3, 0, expected)\n"
    "print((y == expected).all())\n"
)


@pytest.mark.parametrize("damaged", ["index", "data"])
def test_a_damaged_cache_file_is_dropped_and_its_kernel_compiled_again(tmp_path, damaged):
    env = _environment(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    cold = _python(["-c", DROPOUT_IN, "float32"], env)
    assert cold.returncode == 0, cold.stderr
    files = list((tmp_path / "cache").rglob("*.nbi" if damaged == "index" else "*.nbc"))
    assert files
    for path in files:
        path.write_bytes(b"I12x\n.")  # a ValueError from pickle, as a half-written file can give

    repaired, warm = _python(["-c", DROPOUT_IN, "float32"], env), _python(["-c", DROPOUT_IN, "float32"], env)

    assert repaired.returncode == 0 and repaired.stdout.strip() == "True", repaired.stderr
    dropped = [line for line in repaired.stderr.splitlines() if "dropped the unreadable cache entry" in line]
    assert dropped and all(line.startswith("tinygrad_norm.kernels: ") for line in dropped), repaired.stderr
    assert "_dropout_elements" in dropped[0] and "(ValueError: " in dropped[0]
    assert warm.returncode == 0 and warm.stdout.strip() == "True" and warm.stderr == "", warm.stderr


def test_the_notice_says_what_compiles_when_each_dtype_compiles_on_first_use(tmp_path):
    env = _environment(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    inputs = [["float32"], ["float64"], ["float32"], ["float64"], ["float32", "read-only"], ["float32", "read-only"]]
    runs = [_python(["-c", DROPOUT_IN, *args], env) for args in inputs]
    assert all(run.returncode == 0 and run.stdout.strip() == "True" for run in runs), [run.stderr for run in runs]
    first32, first64, cached32, cached64, first_read_only, cached_read_only = (run.stderr for run in runs)
    assert first32.count(NOTICE) == 1 and f"{NOTICE} for float32 arrays (" in first32
    assert first64.count(NOTICE) == 1 and f"{NOTICE} for float64 arrays (" in first64
    assert "a kernel compiles on its first call with each float dtype, and once more for read-only" in first64
    assert first_read_only.count(NOTICE) == 1 and f"{NOTICE} for read-only float32 arrays (" in first_read_only
    assert cached32 == cached64 == cached_read_only == ""
