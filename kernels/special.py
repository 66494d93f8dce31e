"""Special functions numpy lacks, as Numba kernels: arrays in, caller-allocated arrays out.

    erf(x, y)    y = erf(x) element-wise, x float32 or float64 of any shape (GELU's exact form needs it)
    erfc(x, y)   y = erfc(x) = 1 - erf(x) element-wise, accurate where erf(x) is near 1
"""

import math

import numpy as np
from numba import prange

from . import _checks
from ._jit import njit


@njit(parallel=True)
def _erf(x, y):
    """x, y (n,): y = erf(x) by the C library's erff or erf (Numba picks the one of x's precision); on Numba's
    threads, since a library call per element (about 10 ns) does not vectorize."""
    for i in prange(x.size):
        y[i] = math.erf(x[i])


def erf(x, y) -> None:
    """y = erf(x) element-wise; x float32 or float64, y its caller-allocated output (same dtype and shape)."""
    _checks.elementwise(x, y)
    _erf(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))


@njit(parallel=True)
def _erfc(x, y):
    """x, y (n,): y = erfc(x) by the C library's erfcf or erfc; on Numba's threads, as _erf."""
    for i in prange(x.size):
        y[i] = math.erfc(x[i])


def erfc(x, y) -> None:
    """y = erfc(x) element-wise; x float32 or float64, y its caller-allocated output (same dtype and shape)."""
    _checks.elementwise(x, y)
    _erfc(np.ascontiguousarray(x).reshape(-1), y.reshape(-1))
