"""erf for numpy and CuPy arrays: numpy has none, so numpy arrays go through a Numba kernel (kernels/special.py)."""

from __future__ import annotations

import numpy as np

from ..kernels import special


def erf(x, xp=np):
    """Element-wise error function in the dtype of `x` (computed in float64 unless `x` is float32 or float64)."""
    if xp is not np:
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    work = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    y = np.empty(work.shape, work.dtype)
    special.erf(work, y)
    return y.astype(x.dtype, copy=False)
