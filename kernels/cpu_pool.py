"""Numba CPU kernels for pooling: the pooling functions of ``reference_conv.py`` (whose docstring derives them), same
signatures and math. Each public function checks its arguments (``_checks_conv.py``, shared with the reference),
makes the inputs C-contiguous and calls a kernel that gives each (n, c) plane to one task; the windows that overlap
in a plane are added serially.
"""

import numpy as np
from numba import prange

from . import _checks_conv
from ._jit import njit

__all__ = ["avg_pool2d_backward", "avg_pool2d_forward", "max_pool2d_backward", "max_pool2d_forward"]


# ---------------------------------------------------------------------------------------------------------------
# max pooling: one task per (n, c) plane


@njit(parallel=True, reassociate=False)
def _max_pool_forward(x, kernel, stride, dilation, before, y, indices):
    """x (N, C, H, W) -> y, indices (N, C, OH, OW), scanning each window as torch does (reference_conv.py)."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2:]
    KH, KW = kernel
    (sh, sw), (dh, dw), (top, left) = stride, dilation, before
    for task in prange(N * C):
        m, c = task // C, task % C
        plane = x[m, c]
        for i in range(OH):
            for j in range(OW):
                best = -np.inf
                best_index = -1
                for a in range(KH):
                    h = i * sh + a * dh - top
                    if h < 0 or h >= H:
                        continue
                    for b in range(KW):
                        w = j * sw + b * dw - left
                        if w < 0 or w >= W:
                            continue
                        value = plane[h, w]
                        if best_index < 0 or value > best or np.isnan(value):
                            best = value
                            best_index = h * W + w
                y[m, c, i, j] = best
                indices[m, c, i, j] = best_index


@njit(parallel=True, reassociate=False)
def _max_pool_2x2(x, y, indices):
    """_max_pool_forward for the window of nearly every CNN: 2x2, stride 2, no padding or dilation. With the
    window's size known to the compiler, the scan unrolls and picks the maximum with selects instead of branches
    (data-dependent branches mispredict on about half the comparisons); this runs about 3x faster."""
    N, C, H, W = x.shape
    OH, OW = y.shape[2:]
    for task in prange(N * C):
        m, c = task // C, task % C
        plane, y_plane, i_plane = x[m, c], y[m, c], indices[m, c]
        for i in range(OH):
            for j in range(OW):
                best = plane[2 * i, 2 * j]
                best_index = 2 * i * W + 2 * j
                for a in range(2):
                    for b in range(2):
                        value = plane[2 * i + a, 2 * j + b]
                        better = (value > best) | (value != value)  # torch's test: greater, or nan
                        best = value if better else best
                        best_index = (2 * i + a) * W + 2 * j + b if better else best_index
                y_plane[i, j] = best
                i_plane[i, j] = best_index


@njit(parallel=True, reassociate=False)
def _max_pool_backward(dy, indices, dx):
    """dy, indices (N, C, P) -> dx (N, C, H*W). Returns the number of indices outside [0, H*W) other than -1."""
    N, C, P = dy.shape
    size = dx.shape[2]
    invalid = 0
    for task in prange(N * C):
        m, c = task // C, task % C
        plane = dx[m, c]
        plane[:] = 0.0
        for k in range(P):
            index = indices[m, c, k]
            if 0 <= index < size:
                plane[index] += dy[m, c, k]
            elif index != -1:
                invalid += 1
    return invalid


def max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode: bool, y, indices) -> None:
    """x (N, C, H, W) -> y (N, C, OH, OW) and indices (N, C, OH, OW) int64 into the (H, W) plane."""
    window = _checks_conv.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode, y, indices)
    x = np.ascontiguousarray(x)
    plain_2x2 = (window.kernel, window.stride, window.dilation, window.padding) == ((2, 2), (2, 2), (1, 1),
                                                                                    ((0, 0), (0, 0)))
    if plain_2x2 and 2 * window.out[0] <= x.shape[2] and 2 * window.out[1] <= x.shape[3]:  # (not ceil_mode's
        _max_pool_2x2(x, y, indices)  # last window past an odd H or W)
    else:
        _max_pool_forward(x, window.kernel, window.stride, window.dilation, window.before, y, indices)


def max_pool2d_backward(dy, indices, dx) -> None:
    """dy, indices (N, C, OH, OW) -> dx (N, C, H, W): each gradient added at its index of the plane."""
    _checks_conv.max_pool2d_backward(dy, indices, dx)
    N, C, H, W = dx.shape
    flat = (N, C, dy.shape[2] * dy.shape[3])
    invalid = _max_pool_backward(np.ascontiguousarray(dy).reshape(flat), np.ascontiguousarray(indices).reshape(flat),
                                 dx.reshape(N, C, H * W))
    if invalid:
        raise ValueError(f"indices must lie in [0, H*W) = [0, {H * W}) or be -1, as max_pool2d_forward writes them; "
                         f"{invalid} do not")


# ---------------------------------------------------------------------------------------------------------------
# average pooling: one task per (n, c) plane


@njit(reassociate=False)
def _avg_window(i, j, kernel, stride, before, after, H, W, count_include_pad, divisor_override):
    """Rows [h0, h1) and columns [w0, w1) of window (i, j) inside the plane, and its divisor."""
    h = i * stride[0] - before[0]
    w = j * stride[1] - before[1]
    h0, h1, w0, w1 = max(h, 0), min(h + kernel[0], H), max(w, 0), min(w + kernel[1], W)
    if divisor_override > 0:
        divisor = divisor_override
    elif count_include_pad:  # the positions inside the padded plane (a window starts inside it, h >= -before)
        divisor = (min(h + kernel[0], H + after[0]) - h) * (min(w + kernel[1], W + after[1]) - w)
    else:
        divisor = (h1 - h0) * (w1 - w0)
    return h0, h1, w0, w1, divisor


@njit(parallel=True, reassociate=False)
def _avg_pool_forward(x, kernel, stride, before, after, count_include_pad, divisor_override, y):
    N, C, H, W = x.shape
    OH, OW = y.shape[2:]
    for task in prange(N * C):
        m, c = task // C, task % C
        for i in range(OH):
            for j in range(OW):
                h0, h1, w0, w1, divisor = _avg_window(i, j, kernel, stride, before, after, H, W, count_include_pad,
                                                      divisor_override)
                total = 0.0
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        total += x[m, c, h, w]
                y[m, c, i, j] = total / divisor


@njit(parallel=True, reassociate=False)
def _avg_pool_backward(dy, kernel, stride, before, after, count_include_pad, divisor_override, dx):
    N, C, H, W = dx.shape
    OH, OW = dy.shape[2:]
    for task in prange(N * C):
        m, c = task // C, task % C
        plane = dx[m, c]
        plane[:] = 0.0
        for i in range(OH):
            for j in range(OW):
                h0, h1, w0, w1, divisor = _avg_window(i, j, kernel, stride, before, after, H, W, count_include_pad,
                                                      divisor_override)
                share = dy[m, c, i, j] / divisor
                for h in range(h0, h1):
                    for w in range(w0, w1):
                        plane[h, w] += share


def avg_pool2d_forward(x, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override,
                       y) -> None:
    """x (N, C, H, W) -> y (N, C, OH, OW): window sums over the divisor."""
    window = _checks_conv.avg_pool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad,
                                             divisor_override, y)
    _avg_pool_forward(np.ascontiguousarray(x), window.kernel, window.stride, window.before, window.after,
                      bool(count_include_pad), divisor_override or 0, y)


def avg_pool2d_backward(dy, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override,
                        dx) -> None:
    """dy (N, C, OH, OW) -> dx (N, C, H, W): each output's gradient over the divisor, spread on its window."""
    window = _checks_conv.avg_pool2d_backward(dy, kernel, stride, padding, ceil_mode, count_include_pad,
                                              divisor_override, dx)
    _avg_pool_backward(np.ascontiguousarray(dy), window.kernel, window.stride, window.before, window.after,
                       bool(count_include_pad), divisor_override or 0, dx)
