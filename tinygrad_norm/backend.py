"""Which kernel module the framework calls: ``"numpy"`` (the reference), ``"numba"`` (CPU, the default), ``"cuda"``.

The choice comes from the environment variable ``TINYGRAD_NORM_BACKEND`` at import, then ``set_backend(name)`` or,
for a block of code, ``with use_backend(name):``. ``kernels(array)`` returns the module to call; an array on a GPU
(one with ``__cuda_array_interface__``, such as a CuPy array) always gets the cuda module, whatever the choice.
Modules are imported when first asked for, so a machine without CUDA never imports numba.cuda unless told to.
"""

import importlib
import os
from contextlib import contextmanager
from types import ModuleType

import numpy as np

_MODULES = {
    "numpy": "tinygrad_norm.kernels.reference",
    "numba": "tinygrad_norm.kernels.cpu",
    "cuda": "tinygrad_norm.kernels.cuda",
}
DEFAULT_BACKEND = "numba"
ENV_VAR = "TINYGRAD_NORM_BACKEND"
_current = DEFAULT_BACKEND


def _check(name: str) -> None:
    if name not in _MODULES:
        raise ValueError(f"unknown backend {name!r}; valid names: {', '.join(map(repr, _MODULES))}")
    if name == "cuda" and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        from numba import cuda

        if not cuda.is_available():
            raise RuntimeError(
                "backend 'cuda' needs a CUDA GPU and driver, and numba.cuda.is_available() is False "
                "(set NUMBA_ENABLE_CUDASIM=1 to run the cuda kernels in Numba's simulator)"
            )


def set_backend(name: str) -> None:
    """Makes ``name`` the backend for arrays in host memory."""
    global _current
    _check(name)
    _current = name


def get_backend_name() -> str:
    return _current


@contextmanager
def use_backend(name: str):
    """``with use_backend("numpy"): ...`` runs the block with that backend, then restores the previous one."""
    previous = _current
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


def _on_gpu(array) -> bool:
    return type(array) is not np.ndarray and hasattr(array, "__cuda_array_interface__")


_loaded: dict[str, ModuleType] = {}  # kernel modules by name, once imported


def kernels(array=None) -> ModuleType:
    """The kernel module to call for ``array``: the cuda module for a GPU array, else the current backend's."""
    name = _MODULES["cuda" if _on_gpu(array) else _current]
    module = _loaded.get(name)
    if module is None:  # imported on first use: the cuda module imports numba.cuda
        module = _loaded[name] = importlib.import_module(name)
    return module


try:
    set_backend(os.environ.get(ENV_VAR, DEFAULT_BACKEND))
except (ValueError, RuntimeError) as error:
    raise type(error)(f"{ENV_VAR}: {error}") from None
