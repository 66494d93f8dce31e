"""2-D max and average pooling of (N, C, H, W) arrays: the backend's kernels forward and backward.

The math (which position a max-pooling window's gradient goes to, the average's divisor) is in
kernels/reference_conv.py.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from .windows import Padding, Pair


def _empty_output(kernels, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair, xp, dtype):
    oh, ow = kernels.output_hw(x.shape[2:], kernel, stride, padding, dilation)
    return xp.empty((*x.shape[:2], oh, ow), dtype)


class MaxPool2d(Function):
    """y[n, c, i, j] = max of the window over x padded with -inf; its gradient goes to the position the maximum was
    read from (torch's choice among ties and nans), summed where windows overlap."""

    def forward(self, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair):
        self.kernels, self.x_shape, self.x_dtype = backend.kernels(x), x.shape, x.dtype
        window = kernel, stride, padding, dilation
        y = _empty_output(self.kernels, x, *window, self.xp, x.dtype)
        self.indices = _empty_output(self.kernels, x, *window, self.xp, np.int64)
        self.kernels.max_pool2d_forward(x, *window, y, self.indices)
        return y

    def backward(self, grad):
        dx = self.xp.empty(self.x_shape, self.x_dtype)
        self.kernels.max_pool2d_backward(grad.astype(self.x_dtype, copy=False), self.indices, dx)
        return dx


class AvgPool2d(Function):
    """y[n, c, i, j] = sum of the window over x zero-padded / divisor; divisor = `divisor_override` when given, else
    KH·KW (count_include_pad) or the number of the window's positions inside x."""

    def forward(
        self, x, kernel: Pair, stride: Pair, padding: Padding, count_include_pad: bool, divisor_override: int | None
    ):
        self.kernels, self.x_shape, self.x_dtype = backend.kernels(x), x.shape, x.dtype
        self.arguments = kernel, stride, padding, count_include_pad, divisor_override
        y = _empty_output(self.kernels, x, kernel, stride, padding, (1, 1), self.xp, x.dtype)
        self.kernels.avg_pool2d_forward(x, *self.arguments, y)
        return y

    def backward(self, grad):
        dx = self.xp.empty(self.x_shape, self.x_dtype)
        self.kernels.avg_pool2d_backward(grad.astype(self.x_dtype, copy=False), *self.arguments, dx)
        return dx
