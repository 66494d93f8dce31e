"""Reference convolution and pooling kernels in array code: the specification ``cpu_conv`` is tested against.

Written against the array module of the inputs, so the same functions run on numpy arrays and, through CuPy, on
GPU arrays (the ``cuda`` backend re-exports them: the convolution's matrix products then run in cuBLAS). Arguments
are checked as on every backend (``_checks_conv.py``); outputs are caller-allocated and C-contiguous.

A window slides over the (H, W) plane of x (N, C, H, W) zero-padded to x_pad by ((top, bottom), (left, right)),
with kernel (KH, KW), stride (sh, sw) and dilation (dh, dw); output (i, j) reads x_pad at (i sh + a dh, j sw + b dw)
for a < KH, b < KW, and there are OH = (H + top + bottom - dh (KH - 1) - 1) // sh + 1 rows of outputs (OW likewise).

Convolution (cross-correlation, as torch)
-----------------------------------------
With G groups, C = G Cg input and O = G Og output channels, weight (O, Cg, KH, KW) and g = o // Og::

    y[n, o, i, j] = bias[o] + sum_{c, a, b} weight[o, c, a, b] x_pad[n, g Cg + c, i sh + a dh, j sw + b dw]

Per group this is one matrix product. im2col gathers the windows into X_g (K, M), K = Cg KH KW, M = N OH OW::

    X_g[(c, a, b), (n, i, j)] = x_pad[n, g Cg + c, i sh + a dh, j sw + b dw]
    Y_g = W_g X_g + bias_g 1^T                 W_g = weight[g Og:(g+1) Og] as (Og, K), Y_g (Og, M)

The vector-Jacobian product, from dY_g = dy[:, g Og:(g+1) Og] as (Og, M)::

    dweight_g = dY_g X_g^T                     (Og, K)
    dbias[o]  = sum_{n, i, j} dy[n, o, i, j]
    dX_g      = W_g^T dY_g                     (K, M)
    dx        = col2im(dX): dx_pad[n, g Cg + c, i sh + a dh, j sw + b dw] += dX_g[(c, a, b), (n, i, j)], cropped

col2im is the adjoint of im2col: each element of dX goes back to the position its element of X was read from, and
the positions that several windows read add up. ``conv2d_backward_input`` computes dx alone, from dy and the weight
(it needs no x): the adjoint of the convolution, which is also the forward of a transposed convolution. The
products run in the input's dtype, as torch's do (a float32 convolution accumulates in float32 inside BLAS). The
forward can keep X_g^T (the ``columns`` argument, shaped by ``conv2d_columns_shape``) for the backward, which then
reads it instead of gathering the windows of x again.

Pooling windows and ceil mode
-----------------------------
Pooling may round the output size up (``ceil_mode``): then the last window may reach past the padded plane, by
``Window.overhang`` rows and columns, and reads nothing there (-inf for the maximum, nothing for the sum).

Max pooling
-----------
x is padded with -inf. y[n, c, i, j] is the window's maximum and ``indices[n, c, i, j] = h W + w`` the position
(h, w) in the unpadded plane it came from (torch's ``return_indices``). The position is torch's: scanning the
window in row-major order over the positions inside the plane, take the first one, then move to any later one whose
value is greater than the current, or is nan. So the first maximum wins a tie, the last nan wins over everything,
and a window of -inf takes its first position inside the plane. A window that reads padding only (possible with
dilation) gives y = -inf and index -1. The VJP sends each output's gradient to its position::

    dx[n, c].flat[indices[n, c, i, j]] += dy[n, c, i, j]        (index -1: nowhere)

Average pooling
---------------
With zero padding and no dilation (as torch)::

    y[n, c, i, j]  = sum_{a, b} x_pad[n, c, i sh + a, j sw + b] / divisor[i, j]
    dx_pad[n, c, i sh + a, j sw + b] += dy[n, c, i, j] / divisor[i, j]        (then cropped)

divisor = ``divisor_override`` when given, else the number of the window's positions inside the padded plane
(``count_include_pad``: KH KW, less what a ceil-mode window reaches past the padding), else the number inside the
plane. Pooling sums in float64 and rounds each output once.
"""

import numpy as np

from . import _checks_conv
from ._checks_conv import output_hw

__all__ = ["avg_pool2d_backward", "avg_pool2d_forward", "conv2d_backward", "conv2d_backward_input",
           "conv2d_columns_shape", "conv2d_forward", "max_pool2d_backward", "max_pool2d_forward", "output_hw"]

# ---------------------------------------------------------------------------------------------------------------
# windows as strided views, and their adjoint


def _array_module(*arrays):
    """(module, arrays in it): numpy for host arrays; CuPy for GPU arrays (CuPy's own, or any other with
    ``__cuda_array_interface__``, which CuPy wraps without copying, so outputs are written in place)."""
    if all(a is None or isinstance(a, np.ndarray) for a in arrays):
        return np, arrays
    try:
        import cupy
    except ImportError:
        raise ImportError("GPU arrays need CuPy: pip install 'tinygrad-norm[cuda]'") from None
    return cupy, tuple(None if a is None else cupy.asarray(a) for a in arrays)


def _pad(x, padding, value, xp):
    """x (N, C, H, W) with the constant ``value`` around its last two axes."""
    if padding == ((0, 0), (0, 0)):
        return x
    return xp.pad(x, ((0, 0), (0, 0), *padding), constant_values=value)


def _crop(x_pad, padding):
    """Undo ``_pad``."""
    (top, bottom), (left, right) = padding
    return x_pad[:, :, top : x_pad.shape[2] - bottom, left : x_pad.shape[3] - right]


def _windows(x_pad, window, xp):
    """(N, C, H', W') -> read-only view (N, C, OH, OW, KH, KW): windows[..., i, j, a, b] = x_pad[..., i sh + a dh,
    j sw + b dw]. Nothing is copied."""
    (kh, kw), (sh, sw), (dh, dw) = window.kernel, window.stride, window.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    windows = xp.lib.stride_tricks.sliding_window_view(x_pad, span, axis=(2, 3))
    return windows[:, :, ::sh, ::sw, ::dh, ::dw]


def _scatter_windows(window_grad, shape, dtype, window, xp):
    """The adjoint of ``_windows``: dx_pad[..., i sh + a dh, j sw + b dw] += window_grad(a, b)[..., i, j] for an
    x_pad of ``shape``. One kernel offset (a, b) at a time: within one offset the windows touch distinct positions,
    so each += is a plain strided add."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = window.kernel, window.stride, window.dilation, window.out
    dx_pad = xp.zeros(shape, dtype)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
            dx_pad[:, :, rows, cols] += window_grad(a, b)
    return dx_pad


def _padded_shape(shape, padding):
    (top, bottom), (left, right) = padding
    return (*shape[:2], shape[2] + top + bottom, shape[3] + left + right)


def _reach(window, hw):
    """The padding and, after it, the overhang of ceil mode: the plane every window reads lies inside."""
    return tuple((before, after + extra) for (before, after), extra in zip(window.padding, window.overhang(hw)))


# ---------------------------------------------------------------------------------------------------------------
# convolution


def _im2col(x, window, groups, xp, out=None):
    """X_g^T for every group: (G, M, K), row (n, i, j) holding output (n, i, j)'s window over group g's channels;
    written into ``out`` when given (a C-contiguous array of that shape)."""
    N, C = x.shape[:2]
    windows = _windows(_pad(x, window.padding, 0.0, xp), window, xp)  # (N, C, OH, OW, KH, KW)
    oh, ow, kh, kw = windows.shape[2:]
    cols = windows.reshape(N, groups, C // groups, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    if out is None:
        return cols.reshape(groups, N * oh * ow, C // groups * kh * kw)  # the one copy im2col makes
    out.reshape(cols.shape)[...] = cols
    return out


def _rows(a, groups):
    """(N, O, OH, OW) -> dY_g^T for every group: (G, M, Og)."""
    N, O, oh, ow = a.shape
    return a.reshape(N, groups, O // groups, oh, ow).transpose(1, 0, 3, 4, 2).reshape(groups, N * oh * ow, O // groups)


def conv2d_columns_shape(x_shape, weight_shape, out_hw, groups: int):
    """(G, N*OH*OW, K): the columns X_g^T of every group, which ``conv2d_forward`` keeps for ``conv2d_backward`` in an
    array of this shape and x's dtype when given one; None where they would have more than KEPT_COLUMNS entries
    (the backward then gathers them again). Shapes only, unchecked, as ``output_hw`` (whose (OH, OW) ``out_hw``
    is); the forward checks the arguments."""
    M, K = x_shape[0] * out_hw[0] * out_hw[1], int(np.prod(weight_shape[1:]))
    return _checks_conv.kept_columns((groups, M, K))


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups: int, y, columns=None) -> None:
    """x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) or None -> y (N, O, OH, OW); and, when ``columns``
    is given, the columns X_g^T in it (``conv2d_columns_shape``), for ``conv2d_backward``."""
    window = _checks_conv.conv2d_forward(x, weight, bias, stride, padding, dilation, groups, y)
    _checks_conv.columns(columns, conv2d_columns_shape(x.shape, weight.shape, window.out, groups), x.dtype)
    xp, (x, weight, bias, y, columns) = _array_module(x, weight, bias, y, columns)
    N, O, oh, ow = y.shape
    w = weight.reshape(groups, O // groups, -1)  # (G, Og, K)
    rows = _im2col(x, window, groups, xp, columns) @ w.transpose(0, 2, 1)  # Y_g^T (G, M, Og)
    y[...] = rows.reshape(groups, N, oh, ow, O // groups).transpose(1, 0, 4, 2, 3).reshape(y.shape)
    if bias is not None:
        y += bias.reshape(1, O, 1, 1)


def conv2d_backward(dy, x, weight, stride, padding, dilation, groups: int, dx, dweight, dbias, columns=None) -> None:
    """dy (N, O, OH, OW) -> dx like x, dweight like weight, dbias (O,); each may be None (not computed). ``columns``:
    what ``conv2d_forward`` kept for this x, read for dweight instead of building the columns from x again."""
    window = _checks_conv.conv2d_backward(dy, x, weight, stride, padding, dilation, groups, dx, dweight, dbias)
    _checks_conv.columns(columns, conv2d_columns_shape(x.shape, weight.shape, window.out, groups), x.dtype)
    xp, (dy, x, weight, dx, dweight, dbias, columns) = _array_module(dy, x, weight, dx, dweight, dbias, columns)
    dy_rows = _rows(dy, groups)  # (G, M, Og)
    if dbias is not None:
        dbias[...] = dy.sum(axis=(0, 2, 3))
    if dweight is not None:
        cols = _im2col(x, window, groups, xp) if columns is None else columns
        dweight[...] = (dy_rows.transpose(0, 2, 1) @ cols).reshape(weight.shape)
    if dx is not None:
        _input_grad(dy_rows, weight, window, groups, dx, xp)


def conv2d_backward_input(dy, weight, stride, padding, dilation, groups: int, dx) -> None:
    """dy (N, O, OH, OW), weight (O, C/groups, KH, KW) -> dx (N, C, H, W), the size of the convolution's input."""
    window = _checks_conv.conv2d_backward_input(dy, weight, stride, padding, dilation, groups, dx)
    xp, (dy, weight, dx) = _array_module(dy, weight, dx)
    _input_grad(_rows(dy, groups), weight, window, groups, dx, xp)


def _input_grad(dy_rows, weight, window, groups, dx, xp):
    """dx = col2im(W_g^T dY_g) from dY_g^T (G, M, Og)."""
    N, C = dx.shape[:2]
    O, cg, kh, kw = weight.shape
    oh, ow = window.out
    dcols = dy_rows @ weight.reshape(groups, O // groups, cg * kh * kw)  # dX_g^T (G, M, K)
    dcols = dcols.reshape(groups, N, oh, ow, cg, kh, kw)

    def window_grad(a, b):  # (G, N, OH, OW, Cg) -> (N, C, OH, OW)
        return dcols[..., a, b].transpose(1, 0, 4, 2, 3).reshape(N, C, oh, ow)

    dx_pad = _scatter_windows(window_grad, _padded_shape(dx.shape, window.padding), dx.dtype, window, xp)
    dx[...] = _crop(dx_pad, window.padding)


# ---------------------------------------------------------------------------------------------------------------
# max pooling


def max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode: bool, y, indices) -> None:
    """x (N, C, H, W) -> y (N, C, OH, OW) and indices (N, C, OH, OW) int64 into the (H, W) plane."""
    window = _checks_conv.max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode, y, indices)
    xp, (x, y, indices) = _array_module(x, y, indices)
    N, C, H, W = x.shape
    oh, ow = window.out
    kk = window.kernel[0] * window.kernel[1]
    reach = _reach(window, (H, W))
    values = _windows(_pad(x, reach, -np.inf, xp), window, xp).reshape(N, C, oh, ow, kk)
    inside = _windows(_pad(xp.ones((1, 1, H, W), bool), reach, False, xp), window, xp).reshape(oh, ow, kk)
    maximum = values.max(axis=-1, keepdims=True)  # nan wherever the window holds a nan
    is_nan = xp.isnan(values)
    first_max = xp.argmax(inside & (values == maximum), axis=-1)
    last_nan = kk - 1 - xp.argmax(is_nan[..., ::-1], axis=-1)
    a, b = xp.divmod(xp.where(is_nan.any(axis=-1), last_nan, first_max), window.kernel[1])
    (sh, sw), (dh, dw), (top, left) = window.stride, window.dilation, window.before
    h = xp.arange(oh).reshape(oh, 1) * sh - top + a * dh
    w = xp.arange(ow) * sw - left + b * dw
    indices[...] = xp.where(inside.any(axis=-1), h * W + w, -1)
    y[...] = maximum[..., 0]


def max_pool2d_backward(dy, indices, dx) -> None:
    """dy, indices (N, C, OH, OW) -> dx (N, C, H, W): each gradient added at its index of the plane."""
    _checks_conv.max_pool2d_backward(dy, indices, dx)
    xp, (dy, indices, dx) = _array_module(dy, indices, dx)
    N, C, H, W = dx.shape
    if bool(((indices < -1) | (indices >= H * W)).any()):
        raise ValueError(f"indices must lie in [0, H*W) = [0, {H * W}) or be -1, as max_pool2d_forward writes them")
    sent = indices >= 0
    flat = (xp.arange(N * C).reshape(N, C, 1, 1) * (H * W) + indices)[sent]
    sums = xp.bincount(flat, weights=dy[sent].astype(np.float64), minlength=N * C * H * W)
    dx[...] = sums.reshape(dx.shape)


# ---------------------------------------------------------------------------------------------------------------
# average pooling


def _divisor(hw, window, count_include_pad, divisor_override, xp):
    """A number, or (OH, OW) counts of each window's positions inside the padded plane (count_include_pad) or the
    plane."""
    if divisor_override is not None:
        return divisor_override
    inside = _pad(xp.ones((1, 1, *hw)), window.padding, float(count_include_pad), xp)
    inside = _pad(inside, tuple((0, extra) for extra in window.overhang(hw)), 0.0, xp)
    return _windows(inside, window, xp).sum(axis=(4, 5))[0, 0]


def avg_pool2d_forward(x, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override,
                       y) -> None:
    """x (N, C, H, W) -> y (N, C, OH, OW): window sums over the divisor."""
    window = _checks_conv.avg_pool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad,
                                             divisor_override, y)
    xp, (x, y) = _array_module(x, y)
    sums = _windows(_pad(x, _reach(window, x.shape[2:]), 0.0, xp), window, xp).sum(axis=(4, 5), dtype=np.float64)
    y[...] = sums / _divisor(x.shape[2:], window, count_include_pad, divisor_override, xp)


def avg_pool2d_backward(dy, kernel, stride, padding, ceil_mode: bool, count_include_pad: bool, divisor_override,
                        dx) -> None:
    """dy (N, C, OH, OW) -> dx (N, C, H, W): each output's gradient over the divisor, spread on its window."""
    window = _checks_conv.avg_pool2d_backward(dy, kernel, stride, padding, ceil_mode, count_include_pad,
                                              divisor_override, dx)
    xp, (dy, dx) = _array_module(dy, dx)
    scaled = dy.astype(np.float64) / _divisor(dx.shape[2:], window, count_include_pad, divisor_override, xp)
    reach = _reach(window, dx.shape[2:])
    dx[...] = _crop(_scatter_windows(lambda a, b: scaled, _padded_shape(dx.shape, reach), np.float64, window, xp),
                    reach)
