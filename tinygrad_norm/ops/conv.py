"""2-D convolution (cross-correlation, as torch) and its adjoint, the transposed convolution, each with its bias:
the backend's kernels forward and backward.

The math (im2col, one matrix product per group, col2im, and the vector-Jacobian product) is in
kernels/reference_conv.py. The transposed convolution needs no kernel of its own: its forward is the convolution's
input gradient (`conv2d_backward_input`), its input gradient a convolution and its weight gradient the
convolution's weight gradient with the roles of x and dy swapped. Each op's `composed` writes the same function
with Tensor ops (the graph backward).
"""

from __future__ import annotations

from .. import backend
from ..autograd import Function
from .movement import Stack
from .windows import Padding, Pair, pad_or_cut, window_slices


class Conv2d(Function):
    """Inputs (x, weight[, bias]): y[n, o] = bias[o] + the sum of weight[o] * x_pad over the window and the
    channels of o's group. x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,); padding ((top, bottom),
    (left, right)). The forward keeps x's im2col columns where the backend offers to (``conv2d_columns_shape``),
    for the weight gradient."""

    def forward(self, x, weight, *bias, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        self.kernels = backend.kernels(x)
        self.x, self.weight, self.has_bias = x, weight, bool(bias)
        self.arguments = stride, padding, dilation, groups
        oh, ow = self.kernels.output_hw(x.shape[2:], weight.shape[2:], stride, padding, dilation)
        y = self.xp.empty((x.shape[0], weight.shape[0], oh, ow), x.dtype)
        columns = self.kernels.conv2d_columns_shape(x.shape, weight.shape, (oh, ow), groups)
        self.columns = None if columns is None else self.xp.empty(columns, x.dtype)
        self.kernels.conv2d_forward(x, weight, bias[0] if bias else None, *self.arguments, y, self.columns)
        return y

    def backward(self, grad):
        wanted = self.needs_input_grad
        dx = self.xp.empty(self.x.shape, self.x.dtype) if wanted[0] else None
        dweight = self.xp.empty(self.weight.shape, self.weight.dtype) if wanted[1] else None
        dbias = self.xp.empty(self.weight.shape[:1], self.weight.dtype) if self.has_bias and wanted[2] else None
        grad = grad.astype(self.x.dtype, copy=False)
        self.kernels.conv2d_backward(grad, self.x, self.weight, *self.arguments, dx, dweight, dbias, self.columns)
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


class ConvTranspose2d(Function):
    """Inputs (x, weight[, bias]): the adjoint of Conv2d in its input, plus bias. x (N, C, H, W), weight
    (C, O/groups, KH, KW) (a convolution's weight from O to C channels), bias (O,), output (N, O, *out_hw):

        y[n, o, i sh - top + a dh, j sw - left + b dw] += x[n, c, i, j] weight[c, o', a, b]   (o' = o within its group)

    `out_hw` is the size of the convolution's input, which its stride leaves ambiguous (torch's output_padding).
    When that convolution's output would be larger than x (an output_padding at least the stride), x is extended
    with zeros."""

    def forward(self, x, weight, *bias, out_hw: Pair, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        self.kernels = backend.kernels(x)
        self.arguments = stride, padding, dilation, groups
        conv_hw = self.kernels.output_hw(out_hw, weight.shape[2:], stride, padding, dilation)
        self.x_hw, self.weight, self.has_bias = x.shape[2:], weight, bool(bias)
        extension = [(0, conv - n) for conv, n in zip(conv_hw, x.shape[2:])]
        self.x = self.xp.pad(x, ((0, 0), (0, 0), *extension)) if any(map(any, extension)) else x
        O = weight.shape[1] * groups
        y = self.xp.empty((x.shape[0], O, *out_hw), x.dtype)
        self.kernels.conv2d_backward_input(self.x, weight, *self.arguments, y)
        if bias:
            y += bias[0].reshape(1, O, 1, 1)
        return y

    def backward(self, grad):
        wanted = self.needs_input_grad
        grad = grad.astype(self.x.dtype, copy=False)
        dx = dweight = dbias = None
        if wanted[0]:  # the convolution of grad, cut back to x's size
            conv = self.xp.empty(self.x.shape, self.x.dtype)
            self.kernels.conv2d_forward(grad, self.weight, None, *self.arguments, conv)
            dx = conv[:, :, : self.x_hw[0], : self.x_hw[1]]
        if wanted[1]:  # the convolution's weight gradient with grad as its input and x as its output's gradient
            dweight = self.xp.empty(self.weight.shape, self.weight.dtype)
            self.kernels.conv2d_backward(self.x, grad, self.weight, *self.arguments, None, dweight, None)
        if self.has_bias and wanted[2]:
            dbias = grad.sum(axis=(0, 2, 3))
        return (dx, dweight, dbias) if self.has_bias else (dx, dweight)

    def composed(self, x, weight, *bias, out_hw: Pair, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        """A stride-1 convolution of x with zeros between its elements (stride - 1 per step), padded (cut where
        negative) by d(K - 1) - before in front and what gives out_hw behind, with the kernel turned around and
        its channel axes swapped."""
        N, C, H, W = x.shape
        (sh, sw), kernel = stride, weight.shape[2:]
        spread = x.reshape(N, C, H, 1, W, 1).pad(((0, 0), (0, 0), (0, 0), (0, sh - 1), (0, 0), (0, sw - 1)))
        spread = spread.reshape(N, C, H * sh, W * sw)  # x[:, :, i, j] at (i sh, j sw), zeros elsewhere
        widths = [
            (d * (k - 1) - before, out + before - size)
            for k, d, (before, _), out, size in zip(kernel, dilation, padding, out_hw, spread.shape[2:])
        ]
        spread = pad_or_cut(spread, ((0, 0), (0, 0), *widths))
        Cin, Og = weight.shape[:2]
        turned = weight.reshape(groups, Cin // groups, Og, *kernel).permute(0, 2, 1, 3, 4)
        turned = turned.reshape(groups * Og, Cin // groups, *kernel)[:, :, ::-1, ::-1]
        no_padding = ((0, 0), (0, 0))
        return Conv2d.apply(spread, turned, *bias, stride=(1, 1), padding=no_padding, dilation=dilation, groups=groups)
