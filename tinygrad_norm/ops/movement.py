"""Ops that move or select elements without arithmetic: reshape, permute, expand, indexing, pad, cat."""

from __future__ import annotations

import itertools

import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class Reshape(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return grad.reshape(self.shape)


class Permute(Function):
    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, grad):
        return grad.transpose(np.argsort(self.axes).tolist())


class Expand(Function):
    def forward(self, x, shape):
        self.shape = x.shape
        return self.xp.broadcast_to(x, shape)

    def backward(self, grad):
        return unbroadcast(grad, self.shape)


class GetItem(Function):
    """x[index]; the gradient is scattered back with `add.at`, so repeated indices accumulate."""

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        return x[index]

    def backward(self, grad):
        dx = self.xp.zeros(self.shape, grad.dtype)
        self.xp.add.at(dx, self.index, grad)
        return dx


class Pad(Function):
    """Constant padding; `pad_width` is numpy's ((before, after), ...) per axis."""

    def forward(self, x, pad_width, value=0.0):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return self.xp.pad(x, pad_width, constant_values=value)

    def backward(self, grad):
        return grad[self.inner]


class Cat(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        self.splits = list(itertools.accumulate(x.shape[axis] for x in xs))[:-1]
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.split(grad, self.splits, axis=self.axis))


class Stack(Function):
    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.stack(xs, axis=axis)

    def backward(self, grad):
        return tuple(self.xp.moveaxis(grad, self.axis, 0))
