"""erf for numpy and CuPy arrays (numpy has none, so numpy arrays go through a Numba kernel, kernels/special.py)
and for the Tensor namespace, and `Erf`, the differentiable op."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..kernels import special


def erf(x, xp=np):
    """Element-wise error function in the dtype of `x` (computed in float64 unless `x` is float32 or float64)."""
    if xp is not np:
        if hasattr(xp, "erf"):  # the Tensor namespace: `Erf` on the tape
            return xp.erf(x)
        from cupyx.scipy.special import erf as cupy_erf

        return cupy_erf(x)
    work = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    y = np.empty(work.shape, work.dtype)
    special.erf(work, y)
    return y.astype(x.dtype, copy=False)


class Erf(Function):
    """erf(x) = 2/√π ∫₀ˣ exp(-t²) dt;  d/dx = 2/√π exp(-x²)."""

    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return erf(x, self.xp)

    def backward(self, grad):
        return grad * (2 / math.sqrt(math.pi)) * self.xp.exp(-(self.x * self.x))
