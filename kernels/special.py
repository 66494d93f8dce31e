"""Special functions numpy lacks, as Numba kernels: arrays in, caller-allocated arrays out.

    erf(x, y)    y = erf(x) element-wise, x float32 or float64 of any shape (GELU's exact form needs it)
    erfc(x, y)   y = erfc(x) = 1 - erf(x) element-wise, accurate where erf(x) is near 1
"""

import math

import numpy as np

from . import _checks
from ._jit import njit


@njit()
def _erf(x, y):
    """x, y (n,): y = erf(x), computed in float64 and rounded once to y's dtype."""
    for i in range(x.size):
        y[i] = math.erf(x[i])


def erf(x, y) -> None:
    """y = erf(x) element-wise; x float32 or float64, y its caller-allocated output (same dtype and shape)."""
    _checks.elementwise(x, y)
    _erf(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))


@njit()
def _erfc(x, y):
    """x, y (n,): y = erfc(x), computed in float64 and rounded once to y's dtype."""
    for i in range(x.size):
        y[i] = math.erfc(x[i])


def erfc(x, y) -> None:
    """y = erfc(x) element-wise; x float32 or float64, y its caller-allocated output (same dtype and shape)."""
    _checks.elementwise(x, y)
    _erfc(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))
