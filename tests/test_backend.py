"""Backend selection: the environment variable, set_backend, use_backend, GPU arrays, and the errors."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu, reference

from tinygrad_norm import backend


@pytest.fixture(autouse=True)
def restore_backend():
    previous = backend.get_backend_name()
    yield
    backend.set_backend(previous)


def _run(script, **env_overrides):
    env = {k: v for k, v in os.environ.items() if k != backend.ENV_VAR}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)


REPORT = (
    "import sys\n"
    "from tinygrad_norm import backend\n"
    "print(backend.get_backend_name(), backend.kernels().__name__, 'numba.cuda' in sys.modules)\n"
)


@pytest.mark.slow
def test_default_is_numba_and_cuda_is_never_imported_unasked():
    result = _run(REPORT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numba", "tinygrad_norm.kernels.cpu", "False"]


@pytest.mark.slow
def test_environment_variable_chooses_the_backend():
    result = _run(REPORT, TINYGRAD_NORM_BACKEND="numpy")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["numpy", "tinygrad_norm.kernels.reference", "False"]


@pytest.mark.slow
def test_unknown_name_in_environment_variable_fails_at_import_naming_it():
    result = _run(REPORT, TINYGRAD_NORM_BACKEND="tpu")
    assert result.returncode != 0
    assert "ValueError: TINYGRAD_NORM_BACKEND: unknown backend 'tpu'" in result.stderr


def test_set_backend_switches_the_kernel_module():
    backend.set_backend("numpy")
    assert backend.get_backend_name() == "numpy"
    assert backend.kernels() is reference
    assert backend.kernels(np.zeros(3)) is reference
    backend.set_backend("numba")
    assert backend.kernels() is cpu


def test_use_backend_restores_the_previous_backend_on_exit_and_on_exception():
    backend.set_backend("numba")
    with backend.use_backend("numpy"):
        assert backend.kernels() is reference
    assert backend.get_backend_name() == "numba"
    with pytest.raises(KeyError), backend.use_backend("numpy"):
        raise KeyError("inside the block")
    assert backend.get_backend_name() == "numba"


def test_unknown_name_raises_value_error_listing_the_valid_names():
    with pytest.raises(ValueError, match="unknown backend 'cupy'; valid names: 'numpy', 'numba', 'cuda'"):
        backend.set_backend("cupy")
    with pytest.raises(ValueError), backend.use_backend("cupy"):
        pass
    assert backend.get_backend_name() == "numba"


def test_cuda_without_a_gpu_raises_runtime_error(monkeypatch):
    from numba import cuda

    if cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    with pytest.raises(RuntimeError, match="numba.cuda.is_available"):
        backend.set_backend("cuda")
    assert backend.get_backend_name() == "numba"


class FakeGpuArray:
    """Has what CuPy arrays have and numpy arrays lack: __cuda_array_interface__."""

    __cuda_array_interface__ = {"shape": (3,), "typestr": "<f4", "data": (0, False), "version": 3}


def test_gpu_arrays_get_the_cuda_module_whatever_the_backend(monkeypatch):
    stand_in = types.ModuleType("tinygrad_norm.kernels.cuda")  # the real one refuses to import without a GPU
    monkeypatch.setitem(sys.modules, "tinygrad_norm.kernels.cuda", stand_in)
    backend.set_backend("numpy")
    assert backend.kernels(FakeGpuArray()) is stand_in
    assert backend.kernels(np.zeros(3)) is reference
