"""What this installation runs on, for a bug report or a first check of a GPU machine:

    python -m tinygrad_norm.info        (also: tinygrad-norm info)

prints the versions of Python, numpy, numba, numba-cuda and CuPy, the kernel backend in use, Numba's threading
layer and thread count, the BLAS numpy calls, and the CUDA driver, runtime and devices, or the one-line reason
why CUDA tensors cannot be used here. Nothing is compiled or run on a device.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import platform
import sys

import numba
import numpy as np

from . import __version__, backend, cuda

# Numba's threading layers and the modules that load them, in the order Numba tries them by default
_THREADING_LAYERS = {"tbb": "numba.np.ufunc.tbbpool", "omp": "numba.np.ufunc.omppool", "workqueue": ""}


def report() -> list[tuple[str, str]]:
    """(name, value) rows, in the order they print."""
    rows = [
        ("tinygrad_norm", __version__),
        ("python", f"{platform.python_version()} ({platform.system()} {platform.machine()})"),
        ("numpy", np.__version__),
        ("numba", numba.__version__),
        ("numba-cuda", _distribution("numba-cuda") or "not installed (numba.cuda is numba's own)"),
        ("cupy", _cupy_version()),
        ("backend", f"{backend.get_backend_name()} (CPU arrays; arrays on a GPU always use cuda)"),
        ("threading layer", _threading_layer()),
        ("threads", f"{numba.get_num_threads()} (numba)"),
        ("blas", _blas()),
    ]
    return rows + _cuda_rows()


def text() -> str:
    rows = report()
    width = max(len(name) for name, _ in rows) + 2
    return "\n".join(f"{name:<{width}}{value}" for name, value in rows)


def _distribution(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cupy_version() -> str:
    try:
        import cupy
    except ImportError:
        return f"not installed ({cuda.EXTRA})"
    return cupy.__version__


def _threading_layer() -> str:
    """The layer Numba runs parallel kernels with; before the first one has run, the one it will pick."""
    try:
        return numba.threading_layer()
    except ValueError:  # no parallel kernel has run in this process: Numba has not chosen yet
        pass
    requested = numba.config.THREADING_LAYER
    if requested in _THREADING_LAYERS:
        return f"{requested} (set by NUMBA_THREADING_LAYER)"
    loadable = [name for name, module in _THREADING_LAYERS.items() if not module or _loads(module)]
    return f"{loadable[0]} (the first that loads of {', '.join(_THREADING_LAYERS)}; {requested!r} requested)"


def _loads(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _blas() -> str:
    """The BLAS numpy was built with, and its thread counts when threadpoolctl can see them."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        built = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except (TypeError, KeyError):  # numpy before 1.26 prints its configuration only
        built = "unknown (numpy < 1.26)"
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return built
    pools = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    threads = [f"{pool['internal_api']} {pool['num_threads']}" for pool in pools]
    return f"{built} (threads: {', '.join(threads)})" if threads else built


def _cuda_rows() -> list[tuple[str, str]]:
    """The driver, runtime and devices as CuPy sees them, then whether CUDA tensors can be used (and why not)."""
    reason = cuda.unavailable_reason()
    rows = []
    try:
        import cupy

        runtime = cupy.cuda.runtime
        driver = runtime.driverGetVersion()
        if driver:
            rows.append(("cuda driver", _cuda_version(driver)))
            rows.append(("cuda runtime", f"{_cuda_version(runtime.runtimeGetVersion())} (CuPy's)"))
            for index in range(runtime.getDeviceCount()):
                properties = runtime.getDeviceProperties(index)
                name = properties["name"].decode() if isinstance(properties["name"], bytes) else properties["name"]
                rows.append((
                    f"cuda:{index}",
                    f"{name}, compute capability {properties['major']}.{properties['minor']}, "
                    f"{properties['totalGlobalMem'] / 2**30:.1f} GiB",
                ))
    except (ImportError, RuntimeError):  # no CuPy, or a driver it cannot use: the reason below says which
        pass
    rows.append(("cuda tensors", "available" if reason is None else f"not available: {reason}"))
    return rows


def _cuda_version(number: int) -> str:
    """CUDA's version numbers: 12040 is 12.4."""
    return f"{number // 1000}.{number % 1000 // 10}"


def main() -> int:
    print(text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
