"""Tensor constructors with torch's names: `tensor`, `zeros`, `ones`, `full`, `eye`, `arange`, `linspace`,
`logspace`, `randn`, `rand`, `randint`, `randperm`, their `*_like` forms, and `from_numpy`/`as_tensor`, which share a
numpy array instead of copying it. Float tensors default to float32; random ones draw from the framework's
generator (`manual_seed`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .dtypes import as_dtype, check_numeric
from .random import generator
from .shapes import size_args
from .tensor import Tensor


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _float_dtype(dtype) -> np.dtype:
    return as_dtype(dtype) or np.dtype(np.float32)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.zeros(size_args(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.ones(size_args(shape), _float_dtype(dtype)), requires_grad)


def empty(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uninitialized values (whatever the memory held)."""
    return Tensor._from_array(np.empty(size_args(shape), _float_dtype(dtype)), requires_grad)


def full(shape, fill_value: float, dtype=None, requires_grad: bool = False) -> Tensor:
    """The dtype defaults to the fill value's: float32 for a float, int64 for an int, bool (as torch.full)."""
    dtype = as_dtype(dtype) or Tensor(fill_value).dtype
    return Tensor._from_array(np.full(size_args((shape,)), fill_value, dtype), requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    data = generator().standard_normal(size_args(shape)).astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    data = generator().random(size_args(shape)).astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers give an int64 tensor, any float argument a float32 one (as torch.arange)."""
    if end is None:
        start, end = 0, start
    data = np.arange(start, end, step)
    if dtype is not None or data.dtype.kind == "f":
        data = data.astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)


def eye(n: int, m: int | None = None, dtype=None, requires_grad: bool = False) -> Tensor:
    """The (n, m) matrix with ones on the diagonal (m = n by default)."""
    if n < 0 or m is not None and m < 0:
        raise RuntimeError(f"eye: n and m must be non-negative, got {n} and {m}")
    return Tensor._from_array(np.eye(n, m, dtype=_float_dtype(dtype)), requires_grad)


def linspace(start: float, end: float, steps: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """`steps` evenly spaced values from `start` to `end`, both included (just `start` when steps is 1), by
    torch's rule: in the result's dtype (in float64 from the ends truncated to integers for an integer one), the
    first half counted from `start` and the second from `end`, so both ends are exact. (torch's vectorized kernel
    counts each SIMD register's chunk from its own base, so its last bit may differ by the CPU's vector width.)"""
    return Tensor._from_array(_spaced(start, end, steps, _float_dtype(dtype), "linspace"), requires_grad)


def logspace(
    start: float, end: float, steps: int, base: float = 10.0, dtype=None, requires_grad: bool = False
) -> Tensor:
    """base ** v for the `steps` values v of linspace(start, end), both computed in float64 and then rounded
    to the result's dtype (as torch: a float32 exponent would lose digits that the power magnifies)."""
    exponents = _spaced(start, end, steps, np.dtype(np.float64), "logspace")
    return Tensor._from_array(np.power(np.float64(base), exponents).astype(_float_dtype(dtype)), requires_grad)


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


def randint(*args, size=None, dtype=None, requires_grad: bool = False) -> Tensor:
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
    return Tensor._from_array(data.astype(as_dtype(dtype) or np.int64), requires_grad)


def randperm(n: int, dtype=None, requires_grad: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1, int64 by default."""
    if n < 0:
        raise RuntimeError(f"randperm: n must be non-negative, got {n}")
    return Tensor._from_array(generator().permutation(n).astype(as_dtype(dtype) or np.int64), requires_grad)


# ---- shaped like another tensor: its shape, and its dtype unless `dtype` is given ----------------------


def _like(input: Tensor, dtype, name: str) -> tuple[tuple[int, ...], np.dtype]:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
    return input.shape, as_dtype(dtype) or input.dtype


def zeros_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.zeros(*_like(input, dtype, "zeros_like")), requires_grad)


def ones_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.ones(*_like(input, dtype, "ones_like")), requires_grad)


def empty_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.empty(*_like(input, dtype, "empty_like")), requires_grad)


def full_like(input: Tensor, fill_value: float, dtype=None, requires_grad: bool = False) -> Tensor:
    """`fill_value` in the input's dtype (as torch: full_like of an int64 tensor with 2.7 holds 2)."""
    shape, dtype = _like(input, dtype, "full_like")
    return Tensor._from_array(np.full(shape, fill_value, dtype), requires_grad)


def _random_like(input: Tensor, dtype, name: str) -> tuple[tuple[int, ...], np.dtype]:
    shape, dtype = _like(input, dtype, name)
    if dtype.kind != "f":
        raise TypeError(f"{name}() draws floating point values, got dtype {dtype}")
    return shape, dtype


def randn_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _random_like(input, dtype, "randn_like")
    return Tensor._from_array(generator().standard_normal(shape).astype(dtype), requires_grad)


def rand_like(input: Tensor, dtype=None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _random_like(input, dtype, "rand_like")
    return Tensor._from_array(generator().random(shape).astype(dtype), requires_grad)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, dtype=None, requires_grad: bool = False):
    """Integers from [low, high) in the input's shape and dtype: `randint_like(input, high)` or
    `randint_like(input, low, high)`."""
    shape, dtype = _like(input, dtype, "randint_like")
    low, high = (0, low) if high is None else (low, high)
    return randint(low, high, shape, dtype=dtype, requires_grad=requires_grad)


# ---- sharing a numpy array ---------------------------------------------------------------------------


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor on `array` itself, with its dtype: writes to either show in the other (as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    check_numeric(array.dtype, "from_numpy: the array")
    return Tensor._from_array(array, False)


def as_tensor(data: Any, dtype=None) -> Tensor:
    """`data` as a tensor without copying when it can: a Tensor of that dtype is returned as it is, a numpy
    array of that dtype is shared (as from_numpy); anything else is converted as `tensor(data, dtype=dtype)`."""
    dtype = as_dtype(dtype)
    if isinstance(data, Tensor):
        return data.to(dtype) if dtype is not None else data
    if isinstance(data, np.ndarray) and dtype in (None, data.dtype):
        return from_numpy(data)
    return Tensor(data, dtype=dtype)
