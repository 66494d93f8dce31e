"""Tensor constructors with torch's names: `tensor`, `zeros`, `ones`, `full`, `eye`, `arange`, `linspace`,
`logspace`, `randn`, `rand`, `randint`, `randperm`, their `*_like` forms, and `from_numpy`, `from_dlpack` and
`as_tensor`, which share an array instead of copying it. Float tensors default to float32; random ones draw from the
framework's generator (`manual_seed`) in host memory, so a seed gives the same values on every device. `device=`
("cpu", "cuda", "cuda:N") places the result; the `*_like` forms default to their input's device."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import cuda
from .devices import Device, array_module, copy_to, resolve
from .dtypes import as_dtype, check_numeric
from .random import generator
from .shapes import size_args
from .tensor import Tensor

DeviceLike = Device | str | int | None


def _on(device: DeviceLike, make: Callable[[Any], Any]):
    """`make(xp)` on `device`: with numpy for the CPU (and None), with CuPy and that GPU current for a GPU."""
    if device is None or Device(device).type == "cpu":
        return make(np)
    module = cuda.cupy()
    with module.cuda.Device(resolve(Device(device)).index):
        return make(module)


def _drawn(draws: np.ndarray, dtype: np.dtype, device: DeviceLike):
    return copy_to(draws, None if device is None else Device(device), dtype, copy=False)


def tensor(data, requires_grad: bool = False, dtype=None, device: DeviceLike = None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _float_dtype(dtype) -> np.dtype:
    return as_dtype(dtype) or np.dtype(np.float32)


def zeros(*shape, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = size_args(shape), _float_dtype(dtype)
    return Tensor._from_array(_on(device, lambda xp: xp.zeros(shape, dtype)), requires_grad)


def ones(*shape, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = size_args(shape), _float_dtype(dtype)
    return Tensor._from_array(_on(device, lambda xp: xp.ones(shape, dtype)), requires_grad)


def empty(*shape, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """Uninitialized values (whatever the memory held)."""
    shape, dtype = size_args(shape), _float_dtype(dtype)
    return Tensor._from_array(_on(device, lambda xp: xp.empty(shape, dtype)), requires_grad)


def full(shape, fill_value: float, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """The dtype defaults to the fill value's: float32 for a float, int64 for an int, bool (as torch.full)."""
    shape, dtype = size_args((shape,)), as_dtype(dtype) or Tensor(fill_value).dtype
    return Tensor._from_array(_on(device, lambda xp: xp.full(shape, fill_value, dtype)), requires_grad)


def randn(*shape, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    draws = generator().standard_normal(size_args(shape))
    return Tensor._from_array(_drawn(draws, _float_dtype(dtype), device), requires_grad)


def rand(*shape, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    draws = generator().random(size_args(shape))
    return Tensor._from_array(_drawn(draws, _float_dtype(dtype), device), requires_grad)


def arange(start, end=None, step=1, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """Integers give an int64 tensor, any float argument a float32 one (as torch.arange)."""
    if end is None:
        start, end = 0, start
    data = np.arange(start, end, step)
    if dtype is not None or data.dtype.kind == "f":
        data = data.astype(_float_dtype(dtype))
    return Tensor._from_array(_drawn(data, data.dtype, device), requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """The (n, m) matrix with ones on the diagonal (m = n by default)."""
    if n < 0 or m is not None and m < 0:
        raise RuntimeError(f"eye: n and m must be non-negative, got {n} and {m}")
    return Tensor._from_array(_on(device, lambda xp: xp.eye(n, m, dtype=_float_dtype(dtype))), requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype=None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """`steps` evenly spaced values from `start` to `end`, both included (just `start` when steps is 1), by
    torch's rule: in the result's dtype (in float64 from the ends truncated to integers for an integer one), the
    first half counted from `start` and the second from `end`, so both ends are exact. (torch's vectorized kernel
    counts each SIMD register's chunk from its own base, so its last bit may differ by the CPU's vector width.)"""
    values = _spaced(start, end, steps, _float_dtype(dtype), "linspace")
    return Tensor._from_array(_drawn(values, values.dtype, device), requires_grad)


def logspace(
    start: float,
    end: float,
    steps: int,
    base: float = 10.0,
    dtype=None,
    device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """base ** v for the `steps` values v of linspace(start, end), both computed in float64 and then rounded
    to the result's dtype (as torch: a float32 exponent would lose digits that the power magnifies)."""
    exponents = _spaced(start, end, steps, np.dtype(np.float64), "logspace")
    return Tensor._from_array(_drawn(np.power(np.float64(base), exponents), _float_dtype(dtype), device), requires_grad)


def _spaced(start: float, end: float, steps: int, dtype: np.dtype, name: str) -> np.ndarray:
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer) or steps < 0:
        raise RuntimeError(f"{name}: number of steps must be a non-negative int, got {steps!r}")
    work = dtype.type if dtype.kind == "f" else np.float64
    if dtype.kind != "f":  # torch converts the ends to the integer dtype first
        start, end = int(start), int(end)
    first, last = work(start), work(end)
    step = (last - first) / work(max(steps - 1, 1))
    if steps == 1:
        return np.array([start], dtype=work).astype(dtype)
    index = np.arange(steps)
    halfway = steps // 2
    values = np.where(
        index < halfway, first + step * index.astype(work), last - step * (steps - 1 - index).astype(work)
    )
    return values.astype(dtype)


def randint(*args, size=None, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """Integers drawn uniformly from [low, high): `randint(high, size)` or `randint(low, high, size)`, int64 by
    default."""
    if size is None and args:
        *args, size = args
    if len(args) not in (1, 2) or size is None:
        raise TypeError("randint() takes (high, size) or (low, high, size)")
    low, high = (0, *args) if len(args) == 1 else args
    if not low < high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    data = generator().integers(low, high, size_args((size,)), dtype=np.int64)
    return Tensor._from_array(_drawn(data, as_dtype(dtype) or np.dtype(np.int64), device), requires_grad)


def randperm(n: int, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1, int64 by default."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    draws = generator().permutation(n)
    return Tensor._from_array(_drawn(draws, as_dtype(dtype) or np.dtype(np.int64), device), requires_grad)


# ---- shaped like another tensor: its shape, device and dtype unless `dtype` or `device` is given -----------------


def _like(input: Tensor, dtype, device: DeviceLike, name: str) -> tuple[tuple[int, ...], np.dtype, DeviceLike]:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input.shape, as_dtype(dtype) or input.dtype, input.device if device is None else device


def zeros_like(input: Tensor, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(input, dtype, device, "zeros_like")
    return Tensor._from_array(_on(device, lambda xp: xp.zeros(shape, dtype)), requires_grad)


def ones_like(input: Tensor, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(input, dtype, device, "ones_like")
    return Tensor._from_array(_on(device, lambda xp: xp.ones(shape, dtype)), requires_grad)


def empty_like(input: Tensor, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _like(input, dtype, device, "empty_like")
    return Tensor._from_array(_on(device, lambda xp: xp.empty(shape, dtype)), requires_grad)


def full_like(
    input: Tensor, fill_value: float, dtype=None, device: DeviceLike = None, requires_grad: bool = False
) -> Tensor:
    """`fill_value` in the input's dtype (as torch: full_like of an int64 tensor with 2.7 holds 2)."""
    shape, dtype, device = _like(input, dtype, device, "full_like")
    return Tensor._from_array(_on(device, lambda xp: xp.full(shape, fill_value, dtype)), requires_grad)


def _random_like(input: Tensor, dtype, device: DeviceLike, name: str) -> tuple[tuple[int, ...], np.dtype, DeviceLike]:
    shape, dtype, device = _like(input, dtype, device, name)
    if dtype.kind != "f":
        raise TypeError(f"{name}() draws floating point values, got dtype {dtype}")
    return shape, dtype, device


def randn_like(input: Tensor, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _random_like(input, dtype, device, "randn_like")
    return Tensor._from_array(_drawn(generator().standard_normal(shape), dtype, device), requires_grad)


def rand_like(input: Tensor, dtype=None, device: DeviceLike = None, requires_grad: bool = False) -> Tensor:
    shape, dtype, device = _random_like(input, dtype, device, "rand_like")
    return Tensor._from_array(_drawn(generator().random(shape), dtype, device), requires_grad)


def randint_like(
    input: Tensor, low: int = 0, high: int | None = None, dtype=None, device: DeviceLike = None,
    requires_grad: bool = False,
) -> Tensor:
    """Integers from [low, high) in the input's shape, dtype and device: `randint_like(input, high)` or
    `randint_like(input, low, high)`."""
    shape, dtype, device = _like(input, dtype, device, "randint_like")
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, shape, dtype=dtype, device=device, requires_grad=requires_grad)


# ---- sharing an array ----------------------------------------------------------------------------------------

DLPACK_CPU, DLPACK_CUDA = 1, 2  # DLPack's device types kDLCPU and kDLCUDA


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on `array` itself, with its dtype: writes to either show in the other (as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    check_numeric(array.dtype, "from_numpy: the array")
    return Tensor._from_array(array, False)


def from_dlpack(ext: Any) -> Tensor:
    """A tensor on the memory of `ext`, anything with `__dlpack__` (a numpy or CuPy array, a torch tensor, one of
    ours): writes to either show in the other (as torch.from_dlpack). Host memory gives a CPU tensor, GPU memory a
    CUDA one."""
    if not (hasattr(ext, "__dlpack__") and hasattr(ext, "__dlpack_device__")):
        raise TypeError(f"from_dlpack: expected an array or tensor with __dlpack__, got {type(ext).__name__}")
    kind, index = ext.__dlpack_device__()
    if kind == DLPACK_CPU:
        array = np.from_dlpack(ext)
    elif kind == DLPACK_CUDA:
        module = cuda.cupy()
        with module.cuda.Device(int(index)):
            array = module.from_dlpack(ext)
    else:
        raise ValueError(f"from_dlpack: memory of DLPack device type {kind} is neither host (1) nor CUDA (2) memory")
    check_numeric(array.dtype, "from_dlpack: the array")
    return Tensor._from_array(array, False)


def as_tensor(data: Any, dtype=None, device: DeviceLike = None) -> Tensor:
    """`data` as a tensor without copying when it can: a Tensor already of that dtype and device is returned as
    it is (else converted with `to`), a numpy or CuPy array of that dtype on that device is shared (as
    from_numpy); anything else is copied as `tensor(data, dtype=dtype, device=device)`."""
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        return data.to(device=device, dtype=dtype)
    if isinstance(data, np.ndarray) or array_module(data) is not np:  # a numpy or CuPy array
        shared = Tensor._from_array(data, False)
        if (dtype is None or dtype == data.dtype) and (device is None or resolve(Device(device)) == shared.device):
            check_numeric(data.dtype, "as_tensor: the array")
            return shared
    return Tensor(data, dtype=dtype, device=device)
