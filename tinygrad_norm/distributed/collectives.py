"""Collectives on arrays across the run's processes: `all_reduce`, `broadcast`, `all_gather`, `barrier`.

numpy arrays travel through MPI (mpi4py's non-blocking calls, waited on with the run's timeout, see world.py);
CuPy arrays through NCCL (cupy.cuda.nccl, with a communicator made on first use from a unique id that rank 0 sends
through MPI; NCCL calls have no timeout). Every process must call the same collectives in the same order, with
arrays of the same shape and dtype, as MPI and NCCL require. In a world of one each is the identity (`all_gather`
adds a leading axis of length 1) and needs neither.

`all_reduce` and `broadcast` work in place, as torch.distributed's do, and with `async_op=True` return a `Work`
whose `wait()` finishes them, so several can be in flight at once. `all_gather` returns a new array
(world_size, *shape) rather than filling a list.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import world

REDUCE_OPS = ("sum", "avg", "min", "max")
NCCL_UNIQUE_ID_BYTES = 128  # ncclUniqueId, which CuPy hands over as a tuple of ints


class Work:
    """A collective in flight: `wait()` returns once this process's part of it is done."""

    def __init__(self, finish: Callable[[], None] | None = None):
        self._finish = finish

    def wait(self) -> bool:
        if self._finish is not None:
            finish, self._finish = self._finish, None
            finish()
        return True

    def is_completed(self) -> bool:
        return self._finish is None


def all_reduce(array, op: str = "sum", async_op: bool = False):
    """Replace `array` on every process by the elementwise `op` ("sum", "avg", "min" or "max") over all processes'
    arrays. Returns the array, or a Work when `async_op`."""
    _check_array("all_reduce", array)
    if op not in REDUCE_OPS:
        raise ValueError(f"all_reduce: op must be one of {', '.join(map(repr, REDUCE_OPS))}, got {op!r}")
    if op == "avg" and array.dtype.kind not in "fc":
        raise TypeError(f"all_reduce: op 'avg' needs a floating-point array, got {array.dtype}")
    size = world.world_size()
    if size == 1:
        return _done(array, async_op)
    buffer, copy_back = _in_place(array)
    if _is_cupy(array):
        wait = _nccl().all_reduce(buffer, "sum" if op == "avg" else op).synchronize
    else:
        MPI = world.mpi()
        mpi_op = {"sum": MPI.SUM, "avg": MPI.SUM, "min": MPI.MIN, "max": MPI.MAX}[op]
        wait = _mpi_waiter(world.communicator().Iallreduce(MPI.IN_PLACE, buffer, mpi_op), "all_reduce", array)

    def finish():
        wait()
        if op == "avg":
            buffer[...] /= size
        copy_back()

    return _started(array, finish, async_op)


def broadcast(array, src: int = 0, async_op: bool = False):
    """Replace `array` on every process by process `src`'s. Returns the array, or a Work when `async_op`."""
    _check_array("broadcast", array)
    size = world.world_size()
    if isinstance(src, bool) or not isinstance(src, (int, np.integer)) or not 0 <= src < size:
        raise ValueError(f"broadcast: src must be a rank in [0, {size}), got {src!r}")
    if size == 1:
        return _done(array, async_op)
    buffer, copy_back = _in_place(array)
    if _is_cupy(array):
        wait = _nccl().broadcast(buffer, int(src)).synchronize
    else:
        wait = _mpi_waiter(world.communicator().Ibcast(buffer, root=int(src)), "broadcast", array)

    def finish():
        wait()
        copy_back()

    return _started(array, finish, async_op)


def all_gather(array):
    """Every process's `array`, stacked in rank order: a new array (world_size, *array.shape)."""
    _check_array("all_gather", array)
    xp = _array_module(array)
    gathered = xp.empty((world.world_size(), *array.shape), array.dtype)
    if world.world_size() == 1:
        gathered[0] = array
        return gathered
    contiguous = xp.ascontiguousarray(array)
    if _is_cupy(array):
        _nccl().all_gather(contiguous, gathered).synchronize()
    else:
        _mpi_waiter(world.communicator().Iallgather(contiguous, gathered), "all_gather", array)()
    return gathered


def barrier() -> None:
    """Return once every process has called `barrier()`."""
    if world.world_size() > 1:
        world.wait(world.communicator().Ibarrier(), "barrier")


# ---------------------------------------------------------------------------------------------------------------
# helpers


def _is_cupy(array) -> bool:
    return hasattr(array, "__cuda_array_interface__") and not isinstance(array, np.ndarray)


def _array_module(array):
    if _is_cupy(array):
        import cupy

        return cupy
    return np


def _check_array(name: str, array) -> None:
    if not isinstance(array, np.ndarray) and not _is_cupy(array):
        raise TypeError(f"{name} takes a numpy or CuPy array, got {type(array).__name__}")
    if isinstance(array, np.ndarray) and not array.flags.writeable and name != "all_gather":
        raise ValueError(f"{name} works in place and needs a writable array")


def _in_place(array):
    """(a C-contiguous buffer holding `array`, a function that copies the buffer back when it is a copy)."""
    if array.flags.c_contiguous:
        return array, lambda: None
    buffer = _array_module(array).ascontiguousarray(array)

    def copy_back():
        array[...] = buffer

    return buffer, copy_back


def _mpi_waiter(request, name: str, array) -> Callable[[], None]:
    """A function that waits for the MPI `request` of collective `name` on `array` (see world.wait)."""

    def wait():
        world.wait(request, f"{name} of a {array.dtype} array of shape {array.shape}")

    return wait


def _done(array, async_op: bool):
    return Work() if async_op else array


def _started(array, finish: Callable[[], None], async_op: bool):
    if async_op:
        return Work(finish)
    finish()
    return array


# ---------------------------------------------------------------------------------------------------------------
# NCCL, for CuPy arrays


class _Nccl:
    """A NCCL communicator over the run's processes on CuPy's current device; calls run on the current stream."""

    def __init__(self):
        try:
            import cupy
            from cupy.cuda import nccl
        except ImportError:
            raise ImportError(
                "collectives on CuPy arrays need CuPy with NCCL: pip install 'tinygrad-norm[cuda]'"
            ) from None
        if not nccl.available:
            raise ImportError("collectives on CuPy arrays need NCCL, and this CuPy was built without it")
        unique_id = np.array(nccl.get_unique_id() if world.rank() == 0 else [0] * NCCL_UNIQUE_ID_BYTES, np.int64)
        broadcast(unique_id, 0)  # through MPI: a numpy array
        self.cupy, self.nccl = cupy, nccl
        self.comm = nccl.NcclCommunicator(world.world_size(), tuple(int(b) for b in unique_id), world.rank())
        self.ops = {"sum": nccl.NCCL_SUM, "min": nccl.NCCL_MIN, "max": nccl.NCCL_MAX}

    def _dtype(self, array) -> int:
        name = {"float16": "FLOAT16", "float32": "FLOAT32", "float64": "FLOAT64", "int8": "INT8", "uint8": "UINT8",
                "int32": "INT32", "int64": "INT64"}.get(array.dtype.name)
        if name is None:
            raise TypeError(f"NCCL collectives take float16/32/64, (u)int8, int32 or int64 arrays, got {array.dtype}")
        return getattr(self.nccl, f"NCCL_{name}")

    def all_reduce(self, buffer, op: str):
        stream = self.cupy.cuda.get_current_stream()
        self.comm.allReduce(buffer.data.ptr, buffer.data.ptr, buffer.size, self._dtype(buffer), self.ops[op],
                            stream.ptr)
        return stream

    def broadcast(self, buffer, src: int):
        stream = self.cupy.cuda.get_current_stream()
        self.comm.bcast(buffer.data.ptr, buffer.size, self._dtype(buffer), src, stream.ptr)
        return stream

    def all_gather(self, array, gathered):
        stream = self.cupy.cuda.get_current_stream()
        self.comm.allGather(array.data.ptr, gathered.data.ptr, array.size, self._dtype(array), stream.ptr)
        return stream


_communicator: _Nccl | None = None


def _nccl() -> _Nccl:
    global _communicator
    if _communicator is None:
        _communicator = _Nccl()
    return _communicator
