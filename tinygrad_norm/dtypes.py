"""dtype rules shared by tensors and modules: the dtype objects (`tn.float32`, ...), names to numpy dtypes,
and torch's type promotion for binary and in-place ops (devices.py reads the call forms of `to()`).

A tensor's dtype is a numpy dtype, and the dtype objects are numpy dtypes too, so `t.dtype == tn.float32`,
`t.dtype == "float32"` and `t.dtype == np.float32` all hold. Every argument named `dtype` takes any of them.
"""

from __future__ import annotations

import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

NUMERIC_KINDS = "biufc"  # bool, signed and unsigned integer, floating, complex: what a tensor may hold


class DTypeError(TypeError, RuntimeError):
    """An op given a tensor of a dtype it does not take (bitwise ops of floats, mean of integers): a TypeError,
    and a RuntimeError as torch raises."""


def as_dtype(dtype) -> np.dtype | None:
    """A dtype object, a numpy type or a name as a numpy dtype (None stays None); only numeric dtypes."""
    if dtype is None:
        return None
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a dtype (tn.float32, ...), a numpy dtype or its name, got {dtype!r}") from None
    check_numeric(result, "dtype")
    return result


def check_numeric(dtype: np.dtype, what: str) -> None:
    if dtype.kind not in NUMERIC_KINDS:
        raise TypeError(f"{what} must be numeric (bool, integer, floating or complex), got dtype {dtype}")


_CATEGORIES = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def result_dtype(*tensors) -> np.dtype:
    """The dtype torch's type promotion gives a binary op: the highest category (bool < integer < floating <
    complex) wins; within it, tensors with dimensions outrank 0-d ones (a Python scalar arrives as a 0-d
    tensor), so float32 ⊕ int64 is float32 and float32[n] ⊕ float64[] is float32."""
    top = max(_CATEGORIES[t.dtype.kind] for t in tensors)
    ranked = [t for t in tensors if _CATEGORIES[t.dtype.kind] == top]
    ranked = [t for t in ranked if t.ndim] or ranked
    return np.result_type(*(t.dtype for t in ranked))


def promote(*tensors):
    """Cast operands to their `result_dtype`."""
    if len({t.dtype for t in tensors}) == 1:
        return tensors
    dtype = result_dtype(*tensors)
    return tuple(t.astype(dtype) for t in tensors)


def check_in_place_cast(result: np.dtype, target: np.dtype) -> None:
    """An in-place op may store a result only in a dtype of the same or a higher category (as torch: no
    floating result into an integer tensor, no integer result into a bool one)."""
    if _CATEGORIES[result.kind] > _CATEGORIES[target.kind]:
        raise RuntimeError(f"result type {result} can't be cast to the desired output type {target}")


def check_grad_dtype(dtype: np.dtype, requires_grad: bool) -> None:
    if requires_grad and dtype.kind not in "fc":
        raise TypeError(f"only floating point tensors can require gradients, got dtype {dtype}")
