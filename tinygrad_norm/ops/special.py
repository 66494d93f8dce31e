"""erf for numpy and CuPy arrays: numpy has none, so numpy arrays go through a Numba ufunc."""

from __future__ import annotations

import math

import numba
import numpy as np

from ..kernels import _numba_cache  # noqa: F401  (sets the cache folder before the ufunc below is defined)


@numba.vectorize(cache=True)
def _erf_ufunc(x):
    return math.erf(x)


def erf(x, xp=np):
    """Element-wise error function in the dtype of `x`."""
    if xp is np:
        return _erf_ufunc(x).astype(x.dtype, copy=False)
    from cupyx.scipy.special import erf as cupy_erf

    return cupy_erf(x)
