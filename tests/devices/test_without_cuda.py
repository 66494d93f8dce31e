"""Where CUDA tensors cannot be used: the one-line reason (no CuPy, no driver, a driver CuPy cannot use, no device,
no numba.cuda), the errors that name it, `tinygrad-norm train --device cuda` ending with it and status 2, and
`tinygrad-norm info`. The reasons come from stand-in CuPy modules, so they are checked on any machine."""

from __future__ import annotations

import re
import subprocess
import sys
import types

import numba
import numpy as np
import pytest
from numba import cuda as numba_cuda

import tinygrad_norm as tn
from tinygrad_norm import cuda, devices
from tinygrad_norm.cli import main


class StandInRuntimeError(RuntimeError):
    pass


def stand_in_cupy(driver: int = 13000, count: int = 1, error: str | None = None) -> types.ModuleType:
    """A module with the part of CuPy's API that cuda.py asks: the driver version and the device count."""

    def device_count():
        if error is not None:
            raise StandInRuntimeError(error)
        return count

    runtime = types.SimpleNamespace(
        driverGetVersion=lambda: driver, getDeviceCount=device_count, getDevice=lambda: 0,
        CUDARuntimeError=StandInRuntimeError,
    )
    module = types.ModuleType("cupy")
    module.cuda = types.SimpleNamespace(runtime=runtime)
    return module


@pytest.fixture
def fresh_reason():
    """The reason is asked once per process: forget it before and after a test that changes the world."""
    cuda.unavailable_reason.cache_clear()
    yield
    cuda.unavailable_reason.cache_clear()


WORLDS = {  # name: (stand-in for the cupy module, None: CuPy is not installed; words of the reason)
    "no CuPy": (None, "CuPy is not installed (install the cuda extra: pip install 'tinygrad-norm[cuda]')"),
    "no driver": (stand_in_cupy(driver=0), "no CUDA driver is installed"),
    "old driver": (
        stand_in_cupy(error="cudaErrorInsufficientDriver: CUDA driver version is insufficient"),
        "the CUDA driver cannot be used: cudaErrorInsufficientDriver",
    ),
    "no device": (stand_in_cupy(count=0), "no CUDA device: the driver finds no GPU"),
}


@pytest.mark.parametrize("world", WORLDS)
def test_the_reason_names_what_is_missing(world, fresh_reason, monkeypatch):
    module, words = WORLDS[world]
    monkeypatch.setitem(sys.modules, "cupy", module)  # None: `import cupy` raises ImportError
    assert words in cuda.unavailable_reason()
    assert not cuda.is_available() and cuda.device_count() == 0
    for request in (lambda: tn.zeros(2, device="cuda"), lambda: tn.randn(2).cuda(), lambda: tn.randn(2).to("cuda:1"),
                    lambda: tn.tensor([1.0], device="cuda"), lambda: tn.nn.Linear(2, 2).cuda(), cuda.synchronize):
        with pytest.raises(RuntimeError, match=re.escape(f"CUDA tensors are not available here: {words}")):
            request()


def test_numba_without_a_gpu_is_a_reason(fresh_reason, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", stand_in_cupy())
    monkeypatch.delenv("NUMBA_ENABLE_CUDASIM", raising=False)
    monkeypatch.setattr(numba_cuda, "is_available", lambda: False)
    assert cuda.unavailable_reason().startswith("numba.cuda cannot use the GPU (install numba-cuda")
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", "1")
    cuda.unavailable_reason.cache_clear()
    assert "NUMBA_ENABLE_CUDASIM=1: numba.cuda is the simulator" in cuda.unavailable_reason()


def test_a_device_that_is_not_there(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", stand_in_cupy(count=2))
    monkeypatch.setattr(cuda, "unavailable_reason", lambda: None)
    assert devices.resolve(tn.device("cuda")) == "cuda:0" and devices.resolve(tn.device("cuda:1")) == "cuda:1"
    with pytest.raises(RuntimeError, match="device cuda:2 is not here: this machine has 2 CUDA device"):
        devices.resolve(tn.device("cuda:2"))


def test_the_cpu_never_asks_for_cuda(fresh_reason, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    x = tn.randn(2, 3, device="cpu")
    assert x.to("cpu") is x and tn.nn.Linear(3, 1).cpu()(x).device == "cpu"
    assert cuda.unavailable_reason.cache_info().misses == 0


@pytest.mark.parametrize("world", WORLDS)
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_train_on_cuda_ends_with_the_reason(world, device, fresh_reason, monkeypatch, capsys):
    module, words = WORLDS[world]
    monkeypatch.setitem(sys.modules, "cupy", module)
    assert main(["train", "--device", device, "--epochs", "1"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"tinygrad-norm: error: --device {device}: CUDA tensors are not available here: {words}")


def test_train_refuses_a_bad_device_name(capsys):
    assert main(["train", "--device", "gpu"]) == 2
    assert capsys.readouterr().err == (
        "tinygrad-norm: error: --device gpu: device must be 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...), got 'gpu'\n"
    )


def test_info_lists_versions_and_the_cuda_reason(capsys):
    assert main(["info"]) == 0
    rows = dict(re.split(r"  +", line, maxsplit=1) for line in capsys.readouterr().out.splitlines())
    assert rows["tinygrad_norm"] == tn.__version__ and rows["numpy"] == np.__version__
    assert rows["numba"] == numba.__version__ and rows["backend"].startswith(tn.get_backend_name())
    assert rows["threads"].startswith(str(numba.get_num_threads())) and {"python", "blas", "cupy"} <= rows.keys()
    reason = cuda.unavailable_reason()
    assert rows["cuda tensors"] == ("available" if reason is None else f"not available: {reason}")


@pytest.mark.slow
def test_info_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "tinygrad_norm.info"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tinygrad_norm") and "cuda tensors" in result.stdout
