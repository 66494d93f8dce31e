"""Reductions and the numerically stable softmax family."""

from __future__ import annotations

from ..autograd import Function
from ..shapes import expand_reduced, normalize_axis


class Sum(Function):
    saved_inputs, linear = (), True

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return self.xp.broadcast_to(expand_reduced(grad, self.axes, self.keepdims), self.shape)


class Max(Function):
    """The gradient is shared equally among the elements that reach the maximum (as torch.amax)."""

    saved_inputs, linear = (), True
    reduce = "max"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        y = getattr(self.xp, self.reduce)(x, axis=self.axes, keepdims=True)
        self.winners = x == y
        return y if keepdims else self.xp.squeeze(y, axis=self.axes)

    def backward(self, grad):
        grad = expand_reduced(grad, self.axes, self.keepdims)
        return self.winners * (grad / self.winners.sum(axis=self.axes, keepdims=True))


class Min(Max):
    """Max's rule for the minimum (not -max(-x): negation wraps around for unsigned integers)."""

    reduce = "min"


class LogSumExp(Function):
    """log Σ exp(x), shifted by the maximum so nothing overflows; d/dx = softmax(x)."""

    saved_inputs = ()

    def forward(self, x, axis=None, keepdims=False):
        xp = self.xp
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        shift = xp.max(x, axis=self.axes, keepdims=True)
        shift = xp.where(xp.isfinite(shift), shift, 0)
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
