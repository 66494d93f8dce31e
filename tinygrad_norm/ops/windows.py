"""The arguments of a window sliding over the (H, W) plane of (N, C, H, W) arrays, shared by convolution and pooling."""

from __future__ import annotations

Pair = tuple[int, int]  # (rows, columns): kernel size, stride, dilation
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right))
