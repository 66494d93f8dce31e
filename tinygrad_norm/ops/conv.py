"""2-D convolution (cross-correlation, as torch) with its bias: the backend's kernels forward and backward.

The math (im2col, one matrix product per group, col2im, and the vector-Jacobian product) is in
kernels/reference_conv.py; `composed` writes the same convolution with Tensor ops (the graph backward).
"""

from __future__ import annotations

from .. import backend
from ..autograd import Function
from .movement import Stack
from .windows import Padding, Pair, window_slices


class Conv2d(Function):
    """Inputs (x, weight[, bias]): y[n, o] = bias[o] + the sum of weight[o] * x_pad over the window and the
    channels of o's group. x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,); padding ((top, bottom),
    (left, right))."""

    def forward(self, x, weight, *bias, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        self.kernels = backend.kernels(x)
        self.x, self.weight, self.has_bias = x, weight, bool(bias)
        self.arguments = stride, padding, dilation, groups
        oh, ow = self.kernels.output_hw(x.shape[2:], weight.shape[2:], stride, padding, dilation)
        y = self.xp.empty((x.shape[0], weight.shape[0], oh, ow), x.dtype)
        self.kernels.conv2d_forward(x, weight, bias[0] if bias else None, *self.arguments, y)
        return y

    def backward(self, grad):
        wanted = self.needs_input_grad
        dx = self.xp.empty(self.x.shape, self.x.dtype) if wanted[0] else None
        dweight = self.xp.empty(self.weight.shape, self.weight.dtype) if wanted[1] else None
        dbias = self.xp.empty(self.weight.shape[:1], self.weight.dtype) if self.has_bias and wanted[2] else None
        grad = grad.astype(self.x.dtype, copy=False)
        self.kernels.conv2d_backward(grad, self.x, self.weight, *self.arguments, dx, dweight, dbias)
        return (dx, dweight, dbias) if self.has_bias else (dx, dweight)

    def composed(self, x, weight, *bias, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        """im2col as a stack of strided slices, then one batched matrix product per group."""
        N, O, kernel = x.shape[0], weight.shape[0], weight.shape[2:]
        out_hw = self.kernels.output_hw(x.shape[2:], kernel, stride, padding, dilation)
        x_pad = x.pad(((0, 0), (0, 0), *padding))
        cols = Stack.apply(*window_slices(x_pad, kernel, stride, dilation, out_hw), axis=2)  # (N, C, KH KW, OH, OW)
        cols = cols.reshape(N, groups, -1, out_hw[0] * out_hw[1])  # (N, G, Cg KH KW, OH OW)
        y = (weight.reshape(groups, O // groups, -1) @ cols).reshape(N, O, *out_hw)
        return y + bias[0].reshape(1, O, 1, 1) if bias else y
