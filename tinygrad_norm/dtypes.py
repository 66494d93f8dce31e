"""dtype rules shared by tensors and modules: names to numpy dtypes, torch's call forms of `to()`, and
torch's type promotion for binary ops."""

from __future__ import annotations

import numpy as np


def as_dtype(dtype) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        return np.dtype(dtype)
    except TypeError:
        raise TypeError(f"dtype must be a numpy dtype or its name, got {dtype!r}") from None


def parse_to_args(*args, device=None, dtype=None) -> np.dtype | None:
    """The dtype asked for by torch's call forms `to(dtype)`, `to(device)` and `to(device, dtype)`. Tensors
    live on the CPU, so "cpu" (or "cpu:0") is the one device accepted."""
    for arg in args:
        if isinstance(arg, str) and not _is_dtype_name(arg):
            device = arg
        else:
            dtype = arg
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"device must be 'cpu', got {device!r}")
    return as_dtype(dtype)


def _is_dtype_name(name: str) -> bool:
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True


_CATEGORIES = {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}


def promote(*tensors):
    """Cast operands to the dtype torch's type promotion gives them: the highest category (bool < integer <
    floating < complex) wins; within it, tensors with dimensions outrank 0-d ones (a Python scalar arrives
    as a 0-d tensor), so float32 ⊕ int64 is float32 and float32[n] ⊕ float64[] is float32."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    top = max(_CATEGORIES[d.kind] for d in dtypes)
    ranked = [t for t in tensors if _CATEGORIES[t.dtype.kind] == top]
    ranked = [t for t in ranked if t.ndim] or ranked
    dtype = np.result_type(*(t.dtype for t in ranked))
    return tuple(t.astype(dtype) for t in tensors)


def check_grad_dtype(dtype: np.dtype, requires_grad: bool) -> None:
    if requires_grad and dtype.kind not in "fc":
        raise TypeError(f"only floating point tensors can require gradients, got dtype {dtype}")
