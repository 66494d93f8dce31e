"""Reductions and the numerically stable softmax family."""

from __future__ import annotations

from ..autograd import Function


def normalize_dim(dim: int, ndim: int) -> int:
    """One axis, negative counting from the end, checked to be in range (a 0-d tensor takes -1 and 0)."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"axis {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """None, an int or a tuple of ints -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = {normalize_dim(a, ndim) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(sorted(axes)) if ndim else ()


def expand_reduced(grad, axes: tuple[int, ...], keepdims: bool):
    """Give a reduced gradient back its size-1 axes so it broadcasts against the input."""
    if keepdims:
        return grad
    shape = list(grad.shape)
    for a in axes:
        shape.insert(a, 1)
    return grad.reshape(shape)


class Sum(Function):
    saved_inputs = ()

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axes, self.keepdims = x.shape, normalize_axis(axis, x.ndim), keepdims
        return x.sum(axis=self.axes, keepdims=keepdims)

    def backward(self, grad):
        return self.xp.broadcast_to(expand_reduced(grad, self.axes, self.keepdims), self.shape)


class Max(Function):
    """The gradient is shared equally among the elements that reach the maximum (as torch.amax)."""

    saved_inputs = ()
    reduce = "max"

    def forward(self, x, axis=None, keepdims=False):
        self.axes, self.keepdims = normalize_axis(axis, x.ndim), keepdims
        y = getattr(x, self.reduce)(axis=self.axes, keepdims=True)
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
        shift = x.max(axis=self.axes, keepdims=True)
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
        e = self.xp.exp(x - x.max(axis=axis, keepdims=True))
        self.y, self.axis = e / e.sum(axis=axis, keepdims=True), axis
        return self.y

    def backward(self, grad):
        return self.y * (grad - (grad * self.y).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """y = x - logsumexp(x); dx = g - softmax(x) Σ g."""

    saved_inputs, saves_output = (), True

    def forward(self, x, axis=-1):
        shifted = x - x.max(axis=axis, keepdims=True)
        self.y = shifted - self.xp.log(self.xp.exp(shifted).sum(axis=axis, keepdims=True))
        self.axis = axis
        return self.y

    def backward(self, grad):
        return grad - self.xp.exp(self.y) * grad.sum(axis=self.axis, keepdims=True)
