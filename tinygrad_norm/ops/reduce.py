"""Reductions (sum, product, extrema, median, vector norms) and the numerically stable softmax family."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..shapes import expand_reduced, normalize_axis
from .unary import sign


class Sum(Function):
    saved_inputs, linear = (), True

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return self.xp.broadcast_to(expand_reduced(grad, self.axes, self.keepdims), self.shape)


class Max(Function):
    """The gradient is shared equally among the elements that reach the maximum (as torch.amax, where a nan
    maximum gives nan gradients); with `nan_wins` among the nans when the maximum is nan (as torch.max())."""

    saved_inputs, linear = (), True
    reduce = "max"

    def forward(self, x, axis=None, keepdims=False, nan_wins=False):
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        y = getattr(self.xp, self.reduce)(x, axis=self.axes, keepdims=True)
        self.winners = equal_or_both_nan(x, y) if nan_wins else x == y
        return y if keepdims else self.xp.squeeze(y, axis=self.axes)

    def backward(self, grad):
        grad = expand_reduced(grad, self.axes, self.keepdims)
        return self.winners * (grad / self.winners.sum(axis=self.axes, keepdims=True))


class Min(Max):
    """Max's rule for the minimum (not -max(-x): negation wraps around for unsigned integers)."""

    reduce = "min"


class Median(Max):
    """The lower median of all elements, nan when one is nan (as torch.median()); Max's rule shares the gradient
    equally among the elements equal to it."""

    def forward(self, x):
        self.axes, self.keepdims = tuple(range(x.ndim)), False
        ordered = self.xp.sort(x.reshape(-1))  # nan sorts last
        if not ordered.size or ordered[-1] != ordered[-1]:
            y = self.xp.asarray(np.nan, x.dtype)
        else:
            y = ordered[(ordered.size - 1) // 2]
        self.winners = equal_or_both_nan(x, y)
        return y


def equal_or_both_nan(a, b):
    """a == b element-wise, where nan also equals nan."""
    return (a == b) | (a != a) & (b != b)


class Prod(Function):
    """y = Π x along `axis` (all elements when None). dx_k = dy · Π_{j≠k} x_j, the product of the elements
    before k times the product of those after it (exclusive cumulative products), so zeros need no special case."""

    saved_inputs = (0,)

    def forward(self, x, axis: int | None = None, keepdims: bool = False):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        return self.xp.prod(x, axis=axis, keepdims=keepdims)

    def backward(self, grad):
        xp = self.xp
        if self.axis is None:
            x, axis, grad = self.x.reshape(-1), 0, grad.reshape(1)
        else:
            x, axis = self.x, self.axis
            grad = expand_reduced(grad, (axis,), self.keepdims)
        if x.shape[axis] == 0:
            return xp.zeros_like(self.x)
        lead = (slice(None),) * axis
        ones = xp.ones_like(x[(*lead, slice(0, 1))])
        before = xp.concatenate([ones, xp.cumprod(x, axis)[(*lead, slice(None, -1))]], axis)
        after = xp.concatenate([xp.flip(xp.cumprod(xp.flip(x, axis), axis), axis)[(*lead, slice(1, None))], ones], axis)
        return (grad * (before * after)).reshape(self.x.shape)


class VectorNorm(Function):
    """y = (Σ |x|^p)^(1/p) along `axes`, for p other than 0, 1 and ±inf (compositions). As torch:
    dx = dy · sign(x) |x|^(p-1) / y^(p-1), with sign(x) |x|^(p-1) taken as 0 at x = 0 and the whole as 0 where
    y = 0 (safe values inside, so no nan reaches a second derivative)."""

    saved_inputs, saves_output = (0,), True

    def forward(self, x, p: float, axes: tuple[int, ...], keepdims: bool):
        xp = self.xp
        self.x, self.p, self.axes, self.keepdims = x, p, axes, keepdims
        if p == 2:
            self.y = xp.sqrt((x * x).sum(axis=axes, keepdims=True))
        else:
            self.y = (xp.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1 / p)
        return self.y if keepdims else xp.squeeze(self.y, axis=axes)

    def backward(self, grad):
        xp, x, y, p = self.xp, self.x, self.y, self.p
        grad = expand_reduced(grad, self.axes, self.keepdims)
        zero_x, zero_y = x == 0, y == 0
        if p == 2:
            scaled = x
        else:
            safe_x = xp.where(zero_x, 1, x)
            scaled = xp.where(zero_x, 0, sign(x, xp) * xp.abs(safe_x) ** (p - 1))
        safe_y = xp.where(zero_y, 1, y)
        return scaled * xp.where(zero_y, 0, grad / (safe_y if p == 2 else safe_y ** (p - 1)))


class LogSumExp(Function):
    """log Σ exp(x), shifted by the maximum so nothing overflows; d/dx = softmax(x)."""

    saved_inputs = ()

    def forward(self, x, axis=None, keepdims=False):
        xp = self.xp
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        if x.size:
            shift = xp.max(x, axis=self.axes, keepdims=True)
            shift = xp.where(xp.isfinite(shift), shift, 0)
        else:  # nothing to shift: the sum of no terms is 0, its log -inf
            shift = x.sum(axis=self.axes, keepdims=True)
        self.exp = xp.exp(x - shift)
        self.total = self.exp.sum(axis=self.axes, keepdims=True)
        y = xp.log(self.total) + shift
        return y if keepdims else self.xp.squeeze(y, axis=self.axes)

    def backward(self, grad):
        return expand_reduced(grad, self.axes, self.keepdims) * self.exp / self.total


class Softmax(Function):
    """y = exp(x - max) / Σ exp(x - max); dx = y (g - Σ g y)."""

    saved_inputs, saves_output = (), True

    def forward(self, x, axis=-1):
        e = self.xp.exp(x - self.xp.max(x, axis=axis, keepdims=True))
        self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x); dx = g - softmax(x) Σ g."""

    saved_inputs, saves_output = (), True

    def forward(self, x, axis=-1):
        shifted = x - self.xp.max(x, axis=axis, keepdims=True)
        self.y = shifted - self.xp.log(self.xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.y

    def backward(self, grad):
        return grad - self.xp.exp(self.y) * grad.sum(axis=self.axis, keepdims=True)
