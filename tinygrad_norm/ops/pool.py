"""2-D max and average pooling of (N, C, H, W) arrays: the backend's kernels forward and backward.

The math (which position a max-pooling window's gradient goes to, the average's divisor, ceil mode) is in
kernels/reference_conv.py; each op's `composed` writes the same pooling with Tensor ops (the graph backward).
"""

from __future__ import annotations

import functools
import operator

import numpy as np

from .. import backend
from ..autograd import Function
from .elementwise import Where
from .movement import GetItem
from .windows import Padding, Pair, reach, window_slices


def output_size(array, sizes: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool):
    """The number of windows along each axis (the kernels' formula, rounded up in ceil mode)."""
    return backend.kernels(array).output_hw(sizes, kernel, stride, padding, dilation, ceil_mode)


def _empty_output(kernels, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, ceil_mode, xp, dtype):
    oh, ow = kernels.output_hw(x.shape[2:], kernel, stride, padding, dilation, ceil_mode)
    return xp.empty((*x.shape[:2], oh, ow), dtype)


def gather_positions(x, indices):
    """x (N, C, *spatial), a Tensor, at `indices` (N, C, *out), an int array of positions in x's flattened spatial
    axes (max pooling's indices); -inf (an integer dtype's minimum) where an index is -1 (a window of padding only).
    Its gradient adds back at the positions."""
    xp, (N, C) = x.xp, x.shape[:2]
    positions = indices.reshape(N, C, -1)  # (N, C, P)
    index = xp.arange(N).reshape(N, 1, 1), xp.arange(C).reshape(1, C, 1), xp.maximum(positions, 0)
    picked = x.reshape(N, C, -1)[index]
    if not (positions < 0).any():
        return picked.reshape(indices.shape)
    padding_only = x._from_array(positions < 0, False)
    lowest = np.iinfo(x.dtype).min if x.dtype.kind in "iu" else -np.inf
    return Where.apply(padding_only, x._from_array(xp.full((), lowest, x.dtype), False), picked).reshape(indices.shape)


class MaxPool2d(Function):
    """y[n, c, i, j] = max of the window over x padded with -inf; its gradient goes to the position the maximum was
    read from (torch's choice among ties and nans), summed where windows overlap. The positions (h W + w, -1 for a
    window of padding only) are written into `indices` when given (torch's return_indices), else into an array of
    the op's own."""

    def forward(self, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, ceil_mode: bool, indices=None):
        self.kernels, self.x_shape, self.x_dtype = backend.kernels(x), x.shape, x.dtype
        window = kernel, stride, padding, dilation, ceil_mode
        y = _empty_output(self.kernels, x, *window, self.xp, x.dtype)
        self.indices = _empty_output(self.kernels, x, *window, self.xp, np.int64) if indices is None else indices
        self.kernels.max_pool2d_forward(x, *window, y, self.indices)
        return y

    def backward(self, grad):
        dx = self.xp.empty(self.x_shape, self.x_dtype)
        self.kernels.max_pool2d_backward(grad.astype(self.x_dtype, copy=False), self.indices, dx)
        return dx

    def composed(self, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, ceil_mode: bool, indices=None):
        """x at the positions the kernel picked (so ties and nans go where the kernel sends them)."""
        return gather_positions(x, self.indices)


def max_pool2d_with_indices(x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, ceil_mode: bool):
    """MaxPool2d of the Tensor x, and the positions it read: an int64 array (N, C, OH, OW). An integer x (no
    gradient) is pooled as float64 for the positions and then read at them, so its values come back exactly."""
    kernels = backend.kernels(x.data)
    indices = _empty_output(kernels, x, kernel, stride, padding, dilation, ceil_mode, x.xp, np.int64)
    window = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}
    if x.dtype.kind in "iu":
        MaxPool2d.apply(x.astype(np.float64), indices=indices, **window)
        return gather_positions(x, indices), indices
    return MaxPool2d.apply(x, indices=indices, **window), indices


class AvgPool2d(Function):
    """y[n, c, i, j] = sum of the window over x zero-padded / divisor; divisor = `divisor_override` when given, else
    the number of the window's positions inside the padded plane (count_include_pad: KH·KW but in ceil mode) or
    inside x."""

    def forward(
        self,
        x,
        kernel: Pair,
        stride: Pair,
        padding: Padding,
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: int | None,
    ):
        self.kernels, self.x_shape, self.x_dtype = backend.kernels(x), x.shape, x.dtype
        self.arguments = kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
        y = _empty_output(self.kernels, x, kernel, stride, padding, (1, 1), ceil_mode, self.xp, x.dtype)
        self.kernels.avg_pool2d_forward(x, *self.arguments, y)
        return y

    def backward(self, grad):
        dx = self.xp.empty(self.x_shape, self.x_dtype)
        self.kernels.avg_pool2d_backward(grad.astype(self.x_dtype, copy=False), *self.arguments, dx)
        return dx

    def composed(
        self,
        x,
        kernel: Pair,
        stride: Pair,
        padding: Padding,
        ceil_mode: bool,
        count_include_pad: bool,
        divisor_override: int | None,
    ):
        """The sum of a window's strided slices over the divisor, the count of a window's positions inside the
        padded plane or x counted the same way on a mask."""
        xp, hw = self.xp, x.shape[2:]
        out_hw = self.kernels.output_hw(hw, kernel, stride, padding, (1, 1), ceil_mode)
        pad_width = ((0, 0), (0, 0), *reach(hw, kernel, stride, padding, (1, 1), out_hw))
        overhang = [(0, after - declared) for (_, after), (_, declared) in zip(pad_width[2:], padding)]

        def window_sum(x_pad):
            return functools.reduce(operator.add, window_slices(x_pad, kernel, stride, (1, 1), out_hw))

        if divisor_override is not None:
            divisor = divisor_override
        else:
            ones = xp.ones((1, 1, *hw), x.dtype)
            inside = xp.pad(ones, ((0, 0), (0, 0), *padding), constant_values=count_include_pad)
            divisor = window_sum(xp.pad(inside, ((0, 0), (0, 0), *overhang)))
        return window_sum(x.pad(pad_width)) * (1 / divisor)


class MaxUnpool(Function):
    """The inverse of max pooling where it is one: y (N, C, size) zeros, and y[n, c, indices[n, c, k]] = x[n, c, k]
    for x, indices (N, C, *) (where indices repeat, the last write stays, as numpy's assignment). dx = dy at the
    indices."""

    saved_inputs, linear = (), True

    def forward(self, x, indices, size: int):
        N, C = x.shape[:2]
        self.x_shape = x.shape
        self.index = self.xp.arange(N).reshape(N, 1, 1), self.xp.arange(C).reshape(1, C, 1), indices.reshape(N, C, -1)
        y = self.xp.zeros((N, C, size), x.dtype)
        y[self.index] = x.reshape(N, C, -1)
        return y

    def backward(self, grad):
        return self.call(GetItem, grad, index=self.index).reshape(self.x_shape)
