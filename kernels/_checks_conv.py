"""Argument checks shared by the convolution and pooling kernels of every backend (``reference_conv``,
``cpu_conv``), in the manner of ``_checks.py``: each mistake is caught once, with one message naming the argument
and what was expected (TypeError for a wrong kind or dtype, ValueError for a wrong shape, layout or value).

A window slides over the last two axes of (N, C, H, W). Its arguments are pairs (rows, columns): ``kernel``,
``stride``, ``dilation`` (positive) and ``padding`` ((top, bottom), (left, right)) (non-negative, zeros for a
convolution, -inf for max pooling). Pooling also takes ``ceil_mode``: the output size is rounded up instead of down,
so the last window may run past the padded plane (torch's rule: it must still start inside the plane or the
padding before it). The checks return them as a ``Window`` with the output size, so every backend reads the same
normalized numbers.
"""

from dataclasses import dataclass

import numpy as np

from ._checks import _c_contiguous, _exact, _input, _outputs

INDEX_DTYPE = np.dtype(np.int64)  # max pooling's indices, as torch's return_indices

Pair = tuple[int, int]
Padding = tuple[Pair, Pair]


@dataclass(frozen=True)
class Window:
    """The checked arguments of one call and the output size: output (i, j) reads the padded input at
    (i sh + a dh, j sw + b dw) for a < KH, b < KW."""

    kernel: Pair  # (KH, KW)
    stride: Pair
    dilation: Pair
    padding: Padding  # ((top, bottom), (left, right))
    out: Pair  # (OH, OW)

    @property
    def before(self) -> Pair:
        """(top, left): the padding a window's offsets are shifted by."""
        return self.padding[0][0], self.padding[1][0]

    @property
    def after(self) -> Pair:
        """(bottom, right)."""
        return self.padding[0][1], self.padding[1][1]

    def overhang(self, hw) -> Pair:
        """(rows, columns) the last windows reach past the padded (H, W) plane: 0 unless in ceil mode."""
        return tuple(
            max(0, (n - 1) * s + d * (k - 1) + 1 - (size + before + after))
            for n, s, d, k, size, (before, after) in zip(self.out, self.stride, self.dilation, self.kernel, hw,
                                                         self.padding)
        )


def _is_int(value, minimum):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum


def _pair(name, value, minimum):
    if not (isinstance(value, (tuple, list)) and len(value) == 2 and all(_is_int(v, minimum) for v in value)):
        raise ValueError(f"{name} must be a pair of integers of at least {minimum}, got {value!r}")
    return int(value[0]), int(value[1])


def _padding(padding):
    try:
        return _pair("padding", padding[0], 0), _pair("padding", padding[1], 0)
    except (TypeError, IndexError, ValueError, KeyError):
        raise ValueError(f"padding must be ((top, bottom), (left, right)) of integers >= 0, got {padding!r}") from None


def _output_size(size, k, s, before, after, d, ceil_mode):
    span = size + before + after - d * (k - 1) - 1
    if not ceil_mode:
        return span // s + 1
    out = -(-span // s) + 1
    return out - 1 if (out - 1) * s >= size + before else out  # the last window starts inside, or in `before`


def output_hw(hw, kernel, stride, padding, dilation, ceil_mode=False) -> Pair:
    """(OH, OW) of a window over a (H, W) plane: OH = (H + top + bottom - dh (KH - 1) - 1) // sh + 1, the division
    rounded up in ceil mode (less one if the last window would start past the top padding and the plane, as torch).
    The kernel modules export it, so that callers size the outputs they allocate by the same formula."""
    return tuple(
        _output_size(size, k, s, before, after, d, ceil_mode)
        for size, k, s, (before, after), d in zip(hw, kernel, stride, padding, dilation)
    )


def _window(x_shape, kernel, stride, padding, dilation, ceil_mode=False):
    kernel, stride, dilation = _pair("kernel", kernel, 1), _pair("stride", stride, 1), _pair("dilation", dilation, 1)
    padding = _padding(padding)
    if not isinstance(ceil_mode, (bool, np.bool_)):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    out = output_hw(x_shape[2:], kernel, stride, padding, dilation, bool(ceil_mode))
    if min(out) < 1:
        raise ValueError(f"the input's (H, W) = {tuple(x_shape[2:])} padded by {padding} is smaller than the kernel "
                         f"{kernel} with dilation {dilation}")
    return Window(kernel, stride, dilation, padding, out)


def _pool_padding(window):
    """At most half the kernel on each side (torch's limit), so that a window rarely reads padding alone."""
    for side, k in zip(window.padding, window.kernel):
        if max(side) > k // 2:
            raise ValueError(f"padding must be at most half the kernel {window.kernel}, got {window.padding}")


def _out_shape(x, channels, window):
    return (x.shape[0], channels, *window.out)


# ---------------------------------------------------------------------------------------------------------------
# the public kernel functions, argument for argument


def _conv(name, x, weight, stride, padding, dilation, groups):
    """The window of a convolution of ``x`` (the input, or the input's gradient that stands for it)."""
    N, C, H, W = _input(name, x, "(N, C, H, W)")
    _input("weight", weight, "(O, C/groups, KH, KW)")
    O, Cg, KH, KW = weight.shape
    if not _is_int(groups, 1) or C % groups or O % groups or Cg != C // groups:
        raise ValueError(f"groups must be a positive integer dividing C={C} and O={O} with weight.shape[1] = "
                         f"C/groups, got groups={groups!r} and weight of shape {tuple(weight.shape)}")
    _exact("weight", weight, x.dtype, weight.shape)
    return _window(x.shape, (KH, KW), stride, padding, dilation)


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups, y) -> Window:
    window = _conv("x", x, weight, stride, padding, dilation, groups)
    O = weight.shape[0]
    if bias is not None:
        _exact("bias", bias, x.dtype, (O,))
    _outputs(x.dtype, _out_shape(x, O, window), y=y)
    return window


def conv2d_backward(dy, x, weight, stride, padding, dilation, groups, dx, dweight, dbias) -> Window:
    window = _conv("x", x, weight, stride, padding, dilation, groups)
    O = weight.shape[0]
    _exact("dy", dy, x.dtype, _out_shape(x, O, window))
    _outputs(x.dtype, x.shape, optional=True, dx=dx)
    _outputs(x.dtype, weight.shape, optional=True, dweight=dweight)
    _outputs(x.dtype, (O,), optional=True, dbias=dbias)
    return window


KEPT_COLUMNS = 2**21  # most column entries a convolution's forward keeps for its backward (8 MiB of float32)


def kept_columns(shape):
    """``shape``, the columns' of a convolution, where they have at most KEPT_COLUMNS entries; else None."""
    return shape if int(np.prod(shape)) <= KEPT_COLUMNS else None


def columns(columns, shape, dtype) -> None:
    """The columns a convolution's forward keeps for its backward: None, or a C-contiguous, writable array of the
    backend's ``conv2d_columns_shape`` (None there: the backend keeps none for this convolution) and x's dtype."""
    if columns is None:
        return
    if shape is None:
        raise ValueError("columns must be None: conv2d_columns_shape gives None for this convolution (its columns "
                         "are built again in the backward)")
    _exact("columns", columns, dtype, shape)
    if not _c_contiguous(columns) or not getattr(getattr(columns, "flags", None), "writeable", True):
        raise ValueError("columns must be C-contiguous and writable")


def conv2d_backward_input(dy, weight, stride, padding, dilation, groups, dx) -> Window:
    window = _conv("dx", dx, weight, stride, padding, dilation, groups)
    _outputs(dx.dtype, dx.shape, dx=dx)
    _exact("dy", dy, dx.dtype, _out_shape(dx, weight.shape[0], window))
    return window


def max_pool2d_forward(x, kernel, stride, padding, dilation, ceil_mode, y, indices) -> Window:
    _input("x", x, "(N, C, H, W)")
    window = _window(x.shape, kernel, stride, padding, dilation, ceil_mode)
    _pool_padding(window)
    out_shape = _out_shape(x, x.shape[1], window)
    _outputs(x.dtype, out_shape, y=y)
    _outputs(INDEX_DTYPE, out_shape, indices=indices)
    return window


def max_pool2d_backward(dy, indices, dx) -> None:
    _input("dy", dy, "(N, C, OH, OW)")
    _exact("indices", indices, INDEX_DTYPE, dy.shape)
    _input("dx", dx, "(N, C, H, W)")
    _outputs(dy.dtype, (*dy.shape[:2], *dx.shape[2:]), dx=dx)


def _avg_pool(name, x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override):
    """The window over ``x`` (the input, or the input's gradient in the backward)."""
    _input(name, x, "(N, C, H, W)")
    window = _window(x.shape, kernel, stride, padding, (1, 1), ceil_mode)
    _pool_padding(window)
    if not isinstance(count_include_pad, (bool, np.bool_)):
        raise TypeError(f"count_include_pad must be a bool, got {count_include_pad!r}")
    if divisor_override is not None and not _is_int(divisor_override, 1):
        raise ValueError(f"divisor_override must be a positive integer or None, got {divisor_override!r}")
    return window


def avg_pool2d_forward(x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, y) -> Window:
    window = _avg_pool("x", x, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    _outputs(x.dtype, _out_shape(x, x.shape[1], window), y=y)
    return window


def avg_pool2d_backward(dy, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override, dx) -> Window:
    window = _avg_pool("dx", dx, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
    _outputs(dx.dtype, dx.shape, dx=dx)
    _exact("dy", dy, dx.dtype, _out_shape(dx, dx.shape[1], window))
    return window
