"""Sliding windows over the spatial axes of (N, C, H, W) arrays, shared by convolution and pooling.

`sliding_windows` is im2col as a strided view (nothing is copied); `scatter_windows` is its adjoint,
col2im: it adds each window's gradient back onto the positions the window read, one kernel offset
(a, b) at a time, so overlapping windows accumulate without a race.
"""

from __future__ import annotations

from collections.abc import Callable

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def pad2d(x, padding: Padding, value: float, xp):
    """Pad the last two axes of (N, C, H, W) with the constant `value`."""
    if padding == ((0, 0), (0, 0)):
        return x
    return xp.pad(x, ((0, 0), (0, 0), *padding), constant_values=value)


def crop2d(x, padding: Padding):
    """Undo `pad2d`: cut the padding off the last two axes."""
    (top, bottom), (left, right) = padding
    return x[:, :, top : x.shape[2] - bottom, left : x.shape[3] - right]


def sliding_windows(x, kernel: Pair, stride: Pair, dilation: Pair, xp):
    """(N, C, H, W) -> read-only view (N, C, OH, OW, KH, KW) with
    windows[n, c, i, j, a, b] = x[n, c, i·sh + a·dh, j·sw + b·dw], OH = (H - dh(KH-1) - 1)//sh + 1."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = xp.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))  # (N, C, H-span+1, W-span+1, *span)
    return windows[:, :, ::sh, ::sw, ::dh, ::dw]


def scatter_windows(
    window_grad: Callable[[int, int], object],
    shape: tuple[int, ...],
    dtype,
    kernel: Pair,
    stride: Pair,
    dilation: Pair,
    xp,
):
    """Adjoint of `sliding_windows`: dx[n, c, i·sh + a·dh, j·sw + b·dw] += window_grad(a, b)[n, c, i, j].

    `window_grad(a, b)` is the (N, C, OH, OW) gradient reaching kernel offset (a, b); `shape` is the
    (N, C, H, W) shape of the windowed input. Loops over the KH·KW offsets only: within one offset
    the windows touch distinct positions, so each `+=` is a plain strided add."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    dx = xp.zeros(shape, dtype)
    for a in range(kh):
        for b in range(kw):
            grad = window_grad(a, b)  # (N, C, OH, OW)
            oh, ow = grad.shape[2:]
            dx[:, :, a * dh : a * dh + sh * (oh - 1) + 1 : sh, b * dw : b * dw + sw * (ow - 1) + 1 : sw] += grad
    return dx
