"""erf and erfc for numpy and CuPy arrays (numpy has neither, so numpy arrays go through Numba kernels,
kernels/special.py) and for the Tensor namespace, and `Erf` and `Erfc`, the differentiable ops."""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function
from ..kernels import special


def erf(x, xp=np):
    """Element-wise error function in the dtype of `x` (computed in float64 unless `x` is float32 or float64)."""
    return _special("erf", x, xp)


def erfc(x, xp=np):
    """Element-wise complementary error function 1 - erf(x), accurate where erf(x) is near 1."""
    return _special("erfc", x, xp)


def _special(name: str, x, xp):
    if xp is not np:
        if hasattr(xp, name):  # the Tensor namespace: the op on the tape
            return getattr(xp, name)(x)
        from cupyx.scipy import special as cupy_special

        return getattr(cupy_special, name)(x)
    work = x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)
    y = np.empty(work.shape, work.dtype)
    getattr(special, name)(work, y)
    return y.astype(x.dtype, copy=False)


class Erf(Function):
    """erf(x) = 2/√π ∫₀ˣ exp(-t²) dt;  d/dx = 2/√π exp(-x²)."""

    saved_inputs = (0,)
    function, slope = staticmethod(erf), 2 / math.sqrt(math.pi)

    def forward(self, x):
        self.x = x
        return self.function(x, self.xp)

    def backward(self, grad):
        return grad * self.slope * self.xp.exp(-(self.x * self.x))


class Erfc(Erf):
    """erfc(x) = 1 - erf(x);  d/dx = -2/√π exp(-x²)."""

    function, slope = staticmethod(erfc), -2 / math.sqrt(math.pi)
