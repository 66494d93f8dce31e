"""Tensor constructors with torch's names: `tensor`, `zeros`, `ones`, `full`, `randn`, `rand`, `arange`.
Float tensors default to float32; random ones draw from the framework's generator (`manual_seed`)."""

from __future__ import annotations

import numpy as np

from .dtypes import as_dtype
from .random import generator
from .tensor import Tensor, shape_args


def tensor(data, requires_grad: bool = False, dtype=None) -> Tensor:
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def _float_dtype(dtype) -> np.dtype:
    return as_dtype(dtype) or np.dtype(np.float32)


def zeros(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.zeros(shape_args(shape), _float_dtype(dtype)), requires_grad)


def ones(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor._from_array(np.ones(shape_args(shape), _float_dtype(dtype)), requires_grad)


def full(shape, fill_value: float, dtype=None, requires_grad: bool = False) -> Tensor:
    """The dtype defaults to the fill value's: float32 for a float, int64 for an int, bool (as torch.full)."""
    dtype = as_dtype(dtype) or Tensor(fill_value).dtype
    return Tensor._from_array(np.full(shape_args((shape,)), fill_value, dtype), requires_grad)


def randn(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    data = generator().standard_normal(shape_args(shape)).astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)


def rand(*shape, dtype=None, requires_grad: bool = False) -> Tensor:
    data = generator().random(shape_args(shape)).astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """Integers give an int64 tensor, any float argument a float32 one (as torch.arange)."""
    if end is None:
        start, end = 0, start
    data = np.arange(start, end, step)
    if dtype is not None or data.dtype.kind == "f":
        data = data.astype(_float_dtype(dtype))
    return Tensor._from_array(data, requires_grad)
