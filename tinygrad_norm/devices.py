"""Devices: where a tensor's array lives, named as torch names them. "cpu" is a numpy array, "cuda:N" a CuPy array
on GPU N ("cuda" alone means the current GPU).

`Device` parses and prints the names (`tn.device` is the same class, by torch's name); `of(array)` is an array's
device; `copy_to` moves or casts an array; `check_same` is the one error for the tensors of one op on different
devices; `parse_to_args` reads torch's call forms of `to()`. CuPy is imported only for a CUDA device (cuda.py says
why it cannot be, where it cannot).
"""

from __future__ import annotations

import contextlib
import re
import sys
from typing import Any

import numpy as np

from . import cuda
from .dtypes import as_dtype

_NAME = re.compile(r"(cpu|cuda)(?::(0|[1-9][0-9]*))?")


class Device:
    """A device: `type` ("cpu" or "cuda") and `index` (None for "cpu", and for "cuda" meaning the current GPU).

    `Device("cuda:1")`, `Device("cuda", 1)`, `Device(1)` (a GPU index, as torch), `Device(a_device)`, or anything
    else that prints as a device name (a torch.device). It prints as torch's does: `str` "cuda:1", `repr`
    "device(type='cuda', index=1)". Devices are equal when type and index are ("cuda" is not "cuda:0", as in
    torch); unlike torch's, a device also equals its name, so `t.device == "cpu"` holds for a CPU tensor.
    A bad name raises ValueError, a value of another kind TypeError.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: Device | str | int | Any, index: int | None = None):
        if isinstance(type, Device):
            kind, number = type.type, type.index
        elif isinstance(type, int) and not isinstance(type, bool):
            kind, number = "cuda", type
        elif isinstance(type, str) or hasattr(type, "type") and hasattr(type, "index"):  # a name, a torch.device
            match = _NAME.fullmatch(str(type))
            if match is None:
                raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N' (N = 0, 1, ...), got {str(type)!r}")
            kind, number = match.group(1), None if match.group(2) is None else int(match.group(2))
        else:
            raise TypeError(f"device must be a device or its name ('cpu', 'cuda:0'), got {type!r}")
        if index is not None:
            if number is not None:
                raise ValueError(f"device {str(type)!r} already has an index; index={index!r} cannot be given too")
            if isinstance(index, bool) or not isinstance(index, int):
                raise TypeError(f"device index must be an int, got {index!r}")
            number = index
        if number is not None and number < 0:
            raise ValueError(f"device index must not be negative, got {number}")
        if kind == "cpu" and number not in (None, 0):
            raise ValueError(f"the CPU is device 'cpu' (or 'cpu:0'), got 'cpu:{number}'")
        self.type, self.index = kind, number

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        if isinstance(other, Device):
            return (self.type, self.index) == (other.type, other.index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))  # equal to its name, so hashed as its name


CPU = Device("cpu")
_ON_THE_HOST = contextlib.nullcontext()  # reusable: it holds no state


def array_module(array) -> Any:
    """numpy for numpy arrays, cupy for CuPy arrays."""
    return sys.modules["cupy"] if type(array).__module__.startswith("cupy") else np


def of(array) -> Device:
    """The device of an array: "cpu" for numpy, "cuda:N" for a CuPy array on GPU N."""
    return Device("cuda", array.device.id) if type(array).__module__.startswith("cupy") else CPU


def resolve(device: Device) -> Device:
    """`device` with its index: "cuda" becomes the current GPU; a GPU that is not there raises RuntimeError."""
    if device.type == "cpu":
        return CPU
    cuda.cupy()  # RuntimeError with the reason where CUDA tensors cannot be used
    count = cuda.device_count()
    index = cuda.current_device() if device.index is None else device.index
    if index >= count:
        raise RuntimeError(f"device cuda:{index} is not here: this machine has {count} CUDA device(s)")
    return Device("cuda", index)


def current(array) -> contextlib.AbstractContextManager:
    """A context in which CuPy's current GPU is `array`'s, so that what CuPy allocates lands beside it; for a
    numpy array, a context that does nothing."""
    return array.device if type(array).__module__.startswith("cupy") else _ON_THE_HOST


def copy_to(array, device: Device | None = None, dtype=None, copy: bool = True):
    """`array` on `device` (None: where it is) in `dtype` (None: its own): a fresh array, or with `copy=False`
    `array` itself when it already is both."""
    source = of(array)
    target = source if device is None else resolve(device)
    dtype = array.dtype if dtype is None else np.dtype(dtype)
    if target.type == "cpu":
        if source.type == "cuda":
            return array.get().astype(dtype, copy=False)  # get() made the copy
        return np.array(array, dtype=dtype) if copy else np.asarray(array, dtype=dtype)
    cupy = cuda.cupy()
    with cupy.cuda.Device(target.index):
        if source == target:
            return array.astype(dtype, copy=copy)
        if source.type == "cpu":
            return cupy.asarray(np.asarray(array, dtype=dtype))  # cast on the host: fewer bytes when narrowing
        return array.copy().astype(dtype, copy=False)  # CuPy copies to the current GPU from any other


def check_same(tensors) -> None:
    """RuntimeError naming two devices when the tensors of one op are not all on one device (torch's words)."""
    for t in tensors:
        if type(t._data) is not np.ndarray:
            break
    else:
        return  # all numpy
    found = list(dict.fromkeys(of(t._data) for t in tensors))
    if len(found) > 1:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {found[0]} and "
            f"{found[1]}! Move one with .to(device)."
        )


def parse_to_args(*args, device=None, dtype=None) -> tuple[Device | None, np.dtype | None]:
    """(device, dtype) asked for by torch's call forms of `to()`: `to(dtype)`, `to(device)`, `to(device, dtype)`,
    `to(tensor)` (its device and dtype), each also by keyword; None for what is not asked for."""
    for arg in args:
        if isinstance(getattr(arg, "device", None), Device) and hasattr(arg, "dtype"):  # a tensor
            device, dtype = arg.device, arg.dtype
        elif isinstance(arg, Device | int) and not isinstance(arg, bool) or isinstance(arg, str) and not _is_dtype(arg):
            device = arg
        else:
            dtype = arg
    return (None if device is None else Device(device)), as_dtype(dtype)


def _is_dtype(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True
