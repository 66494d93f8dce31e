"""Ops that move, copy or select elements without arithmetic: reshape, permute, expand, indexing, pad, cat, flip,
roll, and the copy to another device.

Reshape, permute, expand and basic indexing may return a view of their input's array (`is_view`): the
output then shares the input's version counter, and the node checks the input's version, since its
output shows that array.

All of them are `linear`: a backward reads shapes and indices only. Indexing and scatter-adding are each other's
adjoint (`GetItem`, `IndexAdd`): each backward runs the other op.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import devices
from ..autograd import Function
from ..shapes import unbroadcast


class Reshape(Function):
    saved_inputs, is_view, linear = (0,), True, True

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    saved_inputs, is_view, linear = (0,), True, True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return self.xp.transpose(grad, np.argsort(self.axes).tolist())


class Expand(Function):
    saved_inputs, is_view, linear = (0,), True, True

    def forward(self, x, shape):
        self.shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return unbroadcast(grad, self.shape)


class GetItem(Function):
    """x[index]; the gradient is scattered back by `IndexAdd`, so repeated indices accumulate."""

    saved_inputs, is_view, linear = (0,), True, True

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        y = x[index]
        if isinstance(y, self.xp.ndarray):
            return y
        # an int per axis gives numpy a scalar copy; with a trailing Ellipsis it is a 0-d view, as in torch
        return x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]

    def backward(self, grad):
        return self.call(IndexAdd, grad, shape=self.shape, index=self.index)


class IndexAdd(Function):
    """y = zeros(shape) with y[index] += values, repeated indices adding up (numpy's `add.at`): the adjoint of
    indexing, so dvalues = dy[index]."""

    saved_inputs, linear = (), True

    def forward(self, values, shape, index):
        self.index = index
        y = self.xp.zeros(shape, values.dtype)
        if is_basic(index):  # slices and ints select each element once: a plain write, far faster than add.at
            y[index] = values
        else:
            self.xp.add.at(y, index, values)
        return y

    def backward(self, grad):
        return self.call(GetItem, grad, index=self.index)


def is_basic(index) -> bool:
    """Whether an index is made of ints, slices, None and Ellipsis only (numpy's basic indexing)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, int | slice) or i is None or i is Ellipsis for i in parts)


class Pad(Function):
    """Constant padding; `pad_width` is numpy's ((before, after), ...) per axis."""

    saved_inputs, linear = (), True

    def forward(self, x, pad_width, value=0.0):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return self.xp.pad(x, pad_width, constant_values=value)

    def backward(self, grad):
        return grad[self.inner]


class Cat(Function):
    saved_inputs, linear = (), True

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.splits = list(itertools.accumulate(x.shape[axis] for x in xs))[:-1]
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.split(grad, self.splits, axis=self.axis))


class Stack(Function):
    saved_inputs, linear = (), True

    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.stack(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.moveaxis(grad, self.axis, 0))


class Clone(Function):
    """A copy in a fresh array; the gradient passes unchanged."""

    saved_inputs, linear = (), True

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


class ToDevice(Function):
    """A copy on another device (host to GPU, GPU to host, GPU to GPU); the gradient is copied back."""

    saved_inputs, linear = (), True

    def forward(self, x, device):
        self.source = devices.of(x)
        return devices.copy_to(x, device)

    def backward(self, grad):
        return self.call(ToDevice, grad, device=self.source)


class TakeAlongAxis(Function):
    """y = take_along_axis(x, indices, axis) (torch's gather); the gradient is scattered back by `IndexAdd`, so
    repeated indices accumulate."""

    saved_inputs, linear = (), True

    def forward(self, x, indices, axis):
        self.shape, ndim, axis = x.shape, x.ndim, axis % x.ndim
        # the fancy index of the elements read: `indices` on the axis, each position elsewhere
        self.index = tuple(
            indices if d == axis else self.xp.arange(n).reshape([-1 if e == d else 1 for e in range(ndim)])
            for d, n in enumerate(self.shape)
        )
        return self.xp.take_along_axis(x, indices, axis)

    def backward(self, grad):
        return self.call(IndexAdd, grad, shape=self.shape, index=self.index)


class Flip(Function):
    """The order of the elements reversed along `axes`, in a fresh array (as torch.flip); its own adjoint."""

    saved_inputs, linear = (), True

    def forward(self, x, axes: tuple[int, ...]):
        self.axes = axes
        return self.xp.flip(x, axes).copy()

    def backward(self, grad):
        return self.xp.flip(grad, self.axes)


class Roll(Function):
    """Elements shifted cyclically by `shifts` along `axes` (the flattened array when `axes` is None), as
    numpy.roll; the gradient rolls back."""

    saved_inputs, linear = (), True

    def forward(self, x, shifts: tuple[int, ...], axes: tuple[int, ...] | None):
        self.shifts, self.axes = shifts, axes
        return self.xp.roll(x, shifts, axes)

    def backward(self, grad):
        return self.xp.roll(grad, tuple(-s for s in self.shifts), self.axes)
