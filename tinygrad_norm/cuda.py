"""CUDA as tensors need it (torch.cuda's names): whether CUDA tensors can be used here, and if not, why; how many
GPUs there are; which one is current; waiting for one.

A CUDA tensor's array is a CuPy array and its norm and dropout kernels are numba.cuda code, so CUDA tensors need
CuPy (the `cuda` extra), a CUDA driver that can run CuPy's runtime, at least one GPU, and numba.cuda on real
hardware (not Numba's simulator). `unavailable_reason()` checks these in that order and names the first that is
missing in one line. Nothing imports CuPy or numba.cuda before one of these functions is called.
"""

from __future__ import annotations

import functools
import os
from types import ModuleType

EXTRA = "pip install 'tinygrad-norm[cuda]'"


@functools.cache
def unavailable_reason() -> str | None:
    """Why CUDA tensors cannot be used in this process, in one line; None when they can. Asked once per process."""
    try:
        import cupy
    except ImportError:
        return f"CuPy is not installed (install the cuda extra: {EXTRA})"
    runtime = cupy.cuda.runtime
    try:
        if runtime.driverGetVersion() == 0:
            return "no CUDA driver is installed (CuPy finds none)"
        devices = runtime.getDeviceCount()
    except runtime.CUDARuntimeError as error:
        return f"the CUDA driver cannot be used: {error}"
    if devices == 0:
        return "no CUDA device: the driver finds no GPU"
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return "NUMBA_ENABLE_CUDASIM=1: numba.cuda is the simulator, which cannot run kernels on GPU arrays"
    from numba import cuda

    if not cuda.is_available():
        return f"numba.cuda cannot use the GPU (install numba-cuda, part of the cuda extra: {EXTRA})"
    return None


def is_available() -> bool:
    """Whether CUDA tensors can be used here (as torch.cuda.is_available)."""
    return unavailable_reason() is None


def cupy() -> ModuleType:
    """The CuPy module, once CUDA tensors are known to work here; RuntimeError with the reason otherwise."""
    reason = unavailable_reason()
    if reason is not None:
        raise RuntimeError(f"CUDA tensors are not available here: {reason}")
    import cupy

    return cupy


def device_count() -> int:
    """The number of GPUs; 0 when CUDA tensors are not available."""
    return cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def current_device() -> int:
    """The index of the current GPU, the one `device("cuda")` means (CuPy's current device)."""
    return cupy().cuda.runtime.getDevice()


def synchronize(device: int | None = None) -> None:
    """Wait until everything queued on `device` (default: the current GPU) has run."""
    module = cupy()
    with module.cuda.Device(current_device() if device is None else device):
        module.cuda.runtime.deviceSynchronize()
