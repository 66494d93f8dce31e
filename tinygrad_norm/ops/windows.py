"""The arguments of a window sliding over the trailing axes of (N, C, *spatial) arrays, shared by convolution and
pooling, and the windows as slices, for the composed formulas of those ops and for the axes no kernel covers."""

from __future__ import annotations

import itertools

Pair = tuple[int, int]  # (rows, columns): kernel size, stride, dilation
Padding = tuple[Pair, Pair]  # ((top, bottom), (left, right)); ((before, after), ...) per axis in general


def window_slices(x_pad, kernel: tuple, stride: tuple, dilation: tuple, out: tuple, first_axis: int = 2) -> list:
    """Per kernel offset (a, b, ...), in row-major order, the slice of a padded array or Tensor that holds every
    window's element at that offset: x_pad[:, :, i s + a d, j s' + b d', ...] over the axes from `first_axis` on,
    of the output's size `out`."""
    lead = (slice(None),) * first_axis
    return [
        x_pad[(*lead, *(slice(a * d, a * d + s * (n - 1) + 1, s) for a, s, d, n in zip(offset, stride, dilation, out)))]
        for offset in itertools.product(*map(range, kernel))
    ]


def reach(sizes: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out: tuple) -> tuple:
    """The padding per axis with, after it, what the last window reaches past the padded axis (only in ceil mode,
    where the output size is rounded up): the padding that makes every window's slice whole."""
    return tuple(
        (before, max(after, (n - 1) * s + d * (k - 1) + 1 - size - before))
        for size, k, s, (before, after), d, n in zip(sizes, kernel, stride, padding, dilation, out)
    )


def pad_or_cut(x, pad_width: tuple, value: float = 0.0):
    """A Tensor padded by numpy's ((before, after), ...) per axis, where a negative width cuts elements off."""
    if any(min(widths) < 0 for widths in pad_width):
        x = x[tuple(slice(max(0, -before), n - max(0, -after)) for n, (before, after) in zip(x.shape, pad_width))]
    grown = tuple((max(0, before), max(0, after)) for before, after in pad_width)
    return x.pad(grown, value=value) if any(map(any, grown)) else x
