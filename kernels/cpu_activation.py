"""Numba CPU ReLU: the functions of ``reference_activation.py``, same signatures and math, for float32 and float64
(other dtypes run the reference).

One parallel pass over the flattened arrays each way: numpy needs two in the backward (the mask, then the product)
on one thread. The selects compile to vector blends, not branches, so random signs cost nothing.
"""

import numpy as np
from numba import prange

from . import reference_activation
from ._checks import FLOAT_DTYPES
from ._jit import njit
from .reference_activation import check_relu_backward, check_relu_forward

__all__ = ["relu_backward", "relu_forward"]


@njit(parallel=True)
def _relu_forward(x, y):
    for i in prange(x.size):
        value = x[i]
        y[i] = value if (value > 0) | (value != value) else 0.0


@njit(parallel=True)
def _relu_backward(dy, y, dx):
    for i in prange(dy.size):
        dx[i] = dy[i] if y[i] != 0 else 0.0


def relu_forward(x, y) -> None:
    """y = max(x, 0)."""
    if getattr(x, "dtype", None) not in FLOAT_DTYPES:
        return reference_activation.relu_forward(x, y)
    check_relu_forward(x, y)
    _relu_forward(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))


def relu_backward(dy, y, dx) -> None:
    """dx = dy where y != 0, else 0; y is the forward's output."""
    if getattr(dy, "dtype", None) not in FLOAT_DTYPES:
        return reference_activation.relu_backward(dy, y, dx)
    check_relu_backward(dy, y, dx)
    _relu_backward(np.ascontiguousarray(dy).reshape(-1), np.ascontiguousarray(y).reshape(-1), dx.reshape(-1))
