"""Loading a state dict all or nothing: every value is converted to its target's dtype and checked before
any is written, so a failed `load_state_dict` changes nothing.

A value may be one of our Tensors (on any device), a numpy or CuPy array, a torch tensor (anything with
`.detach()`/`.numpy()` or `__array__`; on a GPU too) or nested lists of numbers. It is refused, with its key
named, when it is None, holds no numbers (strings, or objects such as None inside an object array), has another
shape than its target, or cannot be stored in the target's dtype without changing its meaning: complex values in
a real tensor, fractional, non-finite or out-of-range values in an integer one (int64 `num_batches_tracked` must
not wrap around), anything but 0 and 1 in a bool one.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

import numpy as np

from ..devices import CPU, array_module, copy_to
from ..dtypes import NUMERIC_KINDS
from ..tensor import Tensor


class IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What `load_state_dict` returns: keys the module expected but did not get, and keys it did not know."""

    __slots__ = ()

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()


def _as_array(value: Any) -> np.ndarray:
    """A state-dict value as a numeric numpy array."""
    if value is None:
        raise ValueError("is None")
    if isinstance(value, Tensor):
        return copy_to(value.data, CPU, copy=False)
    if array_module(value) is not np:  # a CuPy array
        return copy_to(value, CPU, copy=False)
    try:
        if hasattr(value, "detach"):
            value = value.detach()
            value = value.cpu() if hasattr(value, "cpu") else value
        if hasattr(value, "numpy") and not isinstance(value, np.ndarray | np.generic):
            value = value.numpy()
        array = np.asarray(value)
        if array.dtype == object:  # e.g. numbers in an object array: convert them, anything else stays object
            array = np.array(array.tolist())
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(f"cannot be read as an array of numbers ({error})") from None
    if array.dtype.kind not in NUMERIC_KINDS:
        raise ValueError(f"holds {array.dtype} values, not numbers")
    return array


def _check_fits(array: np.ndarray, dtype: np.dtype) -> None:
    """Raise unless every value of `array` keeps its meaning in `dtype`."""
    if dtype.kind in "fc":
        if array.dtype.kind == "c" and dtype.kind != "c":
            raise ValueError(f"holds complex values, which a {dtype} tensor cannot hold")
        return
    if array.dtype.kind == "c":
        raise ValueError(f"holds complex values, which a {dtype} tensor cannot hold")
    if dtype.kind == "b":
        if not np.isin(array, (0, 1)).all():
            raise ValueError("holds values other than 0 and 1, which a bool tensor cannot hold")
        return
    if array.dtype.kind == "f" and not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise ValueError(f"holds non-integer values, which a {dtype} tensor cannot hold")
    limits = np.iinfo(dtype)
    if array.size and (array.min() < limits.min or array.max() > limits.max):
        raise ValueError(f"holds values outside the range of {dtype} [{limits.min}, {limits.max}]")


def convert(key: str, value: Any, target: Tensor) -> np.ndarray:
    """`value` as an array of `target`'s shape and dtype, or a ValueError whose message names `key`."""
    try:
        array = _as_array(value)
    except ValueError as refused:
        raise ValueError(f'the value for "{key}" {refused}') from None
    if array.shape != target.shape:
        raise ValueError(
            f"size mismatch for {key}: copying a param with shape {array.shape} from checkpoint, "
            f"the shape in current model is {target.shape}."
        )
    try:
        _check_fits(array, target.dtype)
    except ValueError as refused:
        raise ValueError(f'the value for "{key}" {refused}') from None
    return array.astype(target.dtype)
