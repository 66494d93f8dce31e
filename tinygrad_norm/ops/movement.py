"""Ops that move, copy or select elements without arithmetic: reshape, permute, expand, indexing, pad, cat, and
the copy to another device.

Reshape, permute, expand and basic indexing may return a view of their input's array (`is_view`): the
output then shares the input's version counter, and the node checks the input's version, since its
output shows that array.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import devices
from ..autograd import Function
from ..shapes import unbroadcast


class Reshape(Function):
    saved_inputs, is_view = (0,), True

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    saved_inputs, is_view = (0,), True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return grad.transpose(np.argsort(self.axes).tolist())


class Expand(Function):
    saved_inputs, is_view = (0,), True

    def forward(self, x, shape):
        self.shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return unbroadcast(grad, self.shape)


class GetItem(Function):
    """x[index]; the gradient is scattered back with `add.at`, so repeated indices accumulate."""

    saved_inputs, is_view = (0,), True

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        y = x[index]
        if isinstance(y, self.xp.ndarray):
            return y
        # an int per axis gives numpy a scalar copy; with a trailing Ellipsis it is a 0-d view, as in torch
        return x[(*index, Ellipsis) if isinstance(index, tuple) else (index, Ellipsis)]

    def backward(self, grad):
        dx = self.xp.zeros(self.shape, grad.dtype)
        self.xp.add.at(dx, self.index, grad)
        return dx


class Pad(Function):
    """Constant padding; `pad_width` is numpy's ((before, after), ...) per axis."""

    saved_inputs = ()

    def forward(self, x, pad_width, value=0.0):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return self.xp.pad(x, pad_width, constant_values=value)

    def backward(self, grad):
        return grad[self.inner]


class Cat(Function):
    saved_inputs = ()

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.splits = list(itertools.accumulate(x.shape[axis] for x in xs))[:-1]
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.split(grad, self.splits, axis=self.axis))


class Stack(Function):
    saved_inputs = ()

    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.stack(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.moveaxis(grad, self.axis, 0))


class Clone(Function):
    """A copy in a fresh array; the gradient passes unchanged."""

    saved_inputs = ()

    def forward(self, x):
        return x.copy()

    def backward(self, grad):
        return grad


class ToDevice(Function):
    """A copy on another device (host to GPU, GPU to host, GPU to GPU); the gradient is copied back."""

    saved_inputs = ()

    def forward(self, x, device):
        self.source = devices.of(x)
        return devices.copy_to(x, device)

    def backward(self, grad):
        return devices.copy_to(grad, self.source)


class TakeAlongAxis(Function):
    """y = take_along_axis(x, indices, axis) for indices with one entry per position along `axis` (as
    `max(dim)` picks them); the gradient goes back to the picked positions."""

    saved_inputs = ()

    def forward(self, x, indices, axis):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        return self.xp.take_along_axis(x, indices, axis)

    def backward(self, grad):
        dx = self.xp.zeros(self.shape, grad.dtype)
        self.xp.put_along_axis(dx, self.indices, grad, self.axis)
        return dx
