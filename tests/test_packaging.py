"""The wheel installs `kernels/` as `tinygrad_norm.kernels`, holds no top-level `kernels` module, and ships the
bundled digits (`tinygrad_norm/data/digits.npz`) where `load_digits` finds them."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # builds a wheel and installs it


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    # build from a copy: setuptools reuses a build/ folder, which could hold files the tree no longer has
    source = tmp_path_factory.mktemp("source") / "tinygrad_norm"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "build", "*.egg-info", "__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        check=True,
    )
    (path,) = out.glob("tinygrad_norm-*.whl")
    return path


def test_wheel_maps_kernels_under_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert "kernels" not in top_level
    assert {"tinygrad_norm", "tinygrad_norm-0.1.0.dist-info"} <= top_level
    for kernel_file in sorted(p.name for p in (ROOT / "kernels").glob("*.py")):
        assert f"tinygrad_norm/kernels/{kernel_file}" in names
    digits = "tinygrad_norm/data/digits.npz"
    assert digits in names and zipfile.ZipFile(wheel).read(digits) == (ROOT / digits).read_bytes()


def test_installed_wheel_imports_kernels_and_loads_digits(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        check=True,
    )
    code = (
        "import tinygrad_norm.kernels.reference as r, tinygrad_norm; print(r.__file__, tinygrad_norm.__file__);"
        "x, y = tinygrad_norm.data.load_digits(train=False); print(x.shape, y.shape)"
    )
    env = {"PYTHONPATH": str(target), "PATH": ""}
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    files, digits = result.stdout.splitlines()
    kernel_file, package_file = files.split()
    assert Path(kernel_file).parent == target / "tinygrad_norm" / "kernels"
    assert Path(package_file).parent == target / "tinygrad_norm"
    assert digits == "(360, 1, 8, 8) (360,)"
