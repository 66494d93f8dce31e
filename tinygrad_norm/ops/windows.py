"""The arguments of a window sliding over the (H, W) plane of (N, C, H, W) arrays, shared by convolution and pooling,
and the windows as slices, for the composed formulas of those ops."""

from __future__ import annotations

Pair = tuple[int, int]  # (rows, columns): kernel size, stride, dilation
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))


def window_slices(x_pad, kernel: Pair, stride: Pair, dilation: Pair, out_hw: Pair) -> list:
    """Per kernel offset (a, b), row by row, the (N, C, OH, OW) slice x_pad[:, :, i sh + a dh, j sw + b dw] of a
    padded array or Tensor: every window's element (a, b) at once."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_hw
    return [
        x_pad[:, :, a * dh : a * dh + sh * (oh - 1) + 1 : sh, b * dw : b * dw + sw * (ow - 1) + 1 : sw]
        for a in range(kh)
        for b in range(kw)
    ]
