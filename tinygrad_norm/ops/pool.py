"""2-D max and average pooling over sliding windows of (N, C, H, W) arrays."""

from __future__ import annotations

import math

from ..autograd import Function
from .windows import Padding, Pair, crop2d, pad2d, scatter_windows, sliding_windows


class MaxPool2d(Function):
    """y[n, c, i, j] = max_{a, b} x_pad[n, c, i·sh + a·dh, j·sw + b·dw], with x padded by -inf.

    Each window's gradient goes to its first maximum in row-major order (as torch, which also makes
    a NaN the maximum), summed where windows overlap.
    """

    def forward(self, x, kernel: Pair, stride: Pair, padding: Padding, dilation: Pair):
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        x_pad = pad2d(x, padding, -math.inf, self.xp)
        windows = sliding_windows(x_pad, kernel, stride, dilation, self.xp)  # (N, C, OH, OW, KH, KW)
        flat = windows.reshape(*windows.shape[:4], -1)  # (N, C, OH, OW, KH·KW)
        self.argmax = flat.argmax(axis=-1)  # (N, C, OH, OW)
        self.x_pad_shape = x_pad.shape
        return self.xp.take_along_axis(flat, self.argmax[..., None], axis=-1)[..., 0]

    def backward(self, grad):
        zero, kw = self.xp.zeros((), grad.dtype), self.kernel[1]

        def window_grad(a: int, b: int):
            return self.xp.where(self.argmax == a * kw + b, grad, zero)

        dx_pad = scatter_windows(
            window_grad, self.x_pad_shape, grad.dtype, self.kernel, self.stride, self.dilation, self.xp
        )
        return crop2d(dx_pad, self.padding)


class AvgPool2d(Function):
    """y[n, c, i, j] = Σ_{a, b} x_pad[n, c, i·sh + a, j·sw + b] / divisor[i, j], with x zero-padded;
    dx_pad[n, c, i·sh + a, j·sw + b] += g[n, c, i, j] / divisor[i, j].

    divisor = `divisor_override` when given, else KH·KW (count_include_pad) or the number of
    unpadded positions in the window.
    """

    def forward(
        self, x, kernel: Pair, stride: Pair, padding: Padding, count_include_pad: bool, divisor_override: int | None
    ):
        xp = self.xp
        self.kernel, self.stride, self.padding = kernel, stride, padding
        x_pad = pad2d(x, padding, 0.0, xp)
        windows = sliding_windows(x_pad, kernel, stride, (1, 1), xp)  # (N, C, OH, OW, KH, KW)
        if divisor_override is not None:
            divisor = divisor_override
        elif count_include_pad:
            divisor = kernel[0] * kernel[1]
        else:
            inside = pad2d(xp.ones((1, 1, *x.shape[2:]), x.dtype), padding, 0.0, xp)
            divisor = sliding_windows(inside, kernel, stride, (1, 1), xp).sum(axis=(4, 5))[0, 0]  # (OH, OW)
        self.scale = xp.asarray(1.0 / divisor, dtype=x.dtype)
        self.x_pad_shape = x_pad.shape
        return windows.sum(axis=(4, 5)) * self.scale

    def backward(self, grad):
        scaled = grad * self.scale  # (N, C, OH, OW)
        dx_pad = scatter_windows(
            lambda a, b: scaled, self.x_pad_shape, grad.dtype, self.kernel, self.stride, (1, 1), self.xp
        )
        return crop2d(dx_pad, self.padding)
