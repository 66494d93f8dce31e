"""Max and average pooling over 1, 2 or 3 spatial axes (MaxPool1d..3d, AvgPool1d..3d) with their functional forms
and torch's arguments, including ceil_mode and max pooling's return_indices.

Every form runs on the 2-D pooling ops (ops/pool.py, the backend's kernels):

    1-D   (N, C, L)        -> (N, C, 1, L), window (1, K)
    2-D   (N, C, H, W)     as it is
    3-D   (N, C, D, H, W)  two 2-D passes: the (H, W) windows of every depth slice, (N, C·D, H, W) -> (N, C·D, OH, OW),
                           then the depth windows, (N, C, D, OH·OW) with window (KD, 1) -> (N, C, OD, OH·OW)

A 3-D window is a box, so both reductions split into their axes: the maximum of the per-slice maxima is the box's
maximum, and the kernels' choice among ties and nans (the first maximum, the last nan, scanning row-major) made
slice by slice and then over depth is the same choice made over the box in (d, h, w) order, as torch makes it. An
average's divisor is the product of its per-axis counts (positions inside the padded axis, or inside the axis), so
averaging over (H, W) and then over depth gives it; with divisor_override the first pass sums (divisor 1) and the
second divides.
"""

from __future__ import annotations

from ..ops.pool import AvgPool2d as AvgPool2dOp
from ..ops.pool import max_pool2d_with_indices, output_size
from ..tensor import Tensor
from ._arguments import check_batch, check_int, check_tuple
from .module import Module


def _pool_arguments(name: str, dims: int, kernel_size, stride, padding, dilation) -> tuple[tuple[int, ...], ...]:
    """Kernel, stride (default: the kernel), padding and dilation as tuples; padding may be at most
    kernel_size // 2, whatever the dilation (torch's documented limit)."""
    kernel = check_tuple("kernel_size", kernel_size, dims, 1)
    stride = kernel if stride is None or stride == [] else check_tuple("stride", stride, dims, 1)
    padding, dilation = check_tuple("padding", padding, dims, 0), check_tuple("dilation", dilation, dims, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{name}: padding should be at most half of kernel_size, got padding={padding}, kernel_size={kernel}"
        )
    return kernel, stride, padding, dilation


def _window(name: str, dims: int, input: Tensor, kernel_size, stride, padding, dilation, ceil_mode: bool):
    """The batched input and the checked window, as (before, after) padding; at least one output per axis."""
    x, unbatched = check_batch(name, input, dims)
    kernel, stride, padding, dilation = _pool_arguments(name, dims, kernel_size, stride, padding, dilation)
    widths = tuple((p, p) for p in padding)
    out = output_size(x.data, x.shape[2:], kernel, stride, widths, dilation, bool(ceil_mode))
    if min(out) < 1:
        raise ValueError(
            f"{name}: input of spatial size {x.shape[2:]} padded by {padding} is smaller than the kernel {kernel} "
            f"with dilation {dilation}"
        )
    return x, unbatched, (kernel, stride, widths, dilation, bool(ceil_mode))


def _max_pool(name, dims, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    x, unbatched, (kernel, stride, padding, dilation, ceil_mode) = _window(
        name, dims, input, kernel_size, stride, padding, dilation, ceil_mode
    )
    if dims == 1:
        y, indices = max_pool2d_with_indices(x.unsqueeze(2), (1, *kernel), (1, *stride), ((0, 0), *padding),
                                             (1, *dilation), ceil_mode)
        y, indices = y.squeeze(2), indices.reshape(y.shape[:2] + y.shape[3:])
    elif dims == 2:
        y, indices = max_pool2d_with_indices(x, kernel, stride, padding, dilation, ceil_mode)
    else:
        y, indices = _max_pool3d(x, kernel, stride, padding, dilation, ceil_mode)
    if unbatched:
        y, indices = y.squeeze(0), indices[0]
    return (y, Tensor(indices)) if return_indices else y


def _max_pool3d(x, kernel, stride, padding, dilation, ceil_mode):
    """Two 2-D passes (see the module docstring); the positions d H W + h W + w from both passes' indices."""
    N, C, D, H, W = x.shape
    planes, plane_indices = max_pool2d_with_indices(
        x.reshape(N, C * D, H, W), kernel[1:], stride[1:], padding[1:], dilation[1:], ceil_mode
    )  # (N, C·D, OH, OW)
    oh, ow = planes.shape[2:]
    y, depth_indices = max_pool2d_with_indices(
        planes.reshape(N, C, D, oh * ow), (kernel[0], 1), (stride[0], 1), (padding[0], (0, 0)), (dilation[0], 1),
        ceil_mode,
    )  # (N, C, OD, OH·OW), indices d OH OW + p
    xp, od = x.xp, y.shape[2]
    depth = depth_indices // (oh * ow)
    within = xp.take_along_axis(plane_indices.reshape(N, C, D, oh * ow), xp.maximum(depth, 0), axis=2)
    indices = xp.where(depth_indices >= 0, depth * (H * W) + within, -1)
    return y.reshape(N, C, od, oh, ow), indices.reshape(N, C, od, oh, ow)


def _avg_pool(name, dims, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override):
    x, unbatched, (kernel, stride, padding, _, ceil_mode) = _window(
        name, dims, input, kernel_size, stride, padding, 1, ceil_mode
    )
    if dims == 3 and any(n < k for n, k in zip(x.shape[2:], kernel)):  # torch checks this for 3-D averages only
        raise ValueError(f"{name}: input of spatial size {x.shape[2:]} is smaller than the kernel {kernel}")
    if divisor_override is not None:
        divisor_override = check_int("divisor_override", divisor_override, 1)
    options = {"ceil_mode": ceil_mode, "count_include_pad": bool(count_include_pad)}
    if dims == 1:
        y = AvgPool2dOp.apply(x.unsqueeze(2), kernel=(1, *kernel), stride=(1, *stride), padding=((0, 0), *padding),
                              divisor_override=None, **options).squeeze(2)
    elif dims == 2:
        y = AvgPool2dOp.apply(x, kernel=kernel, stride=stride, padding=padding, divisor_override=divisor_override,
                              **options)
    else:  # (H, W) windows, then depth windows (see the module docstring)
        N, C, D, H, W = x.shape
        planes = AvgPool2dOp.apply(x.reshape(N, C * D, H, W), kernel=kernel[1:], stride=stride[1:],
                                   padding=padding[1:], divisor_override=None if divisor_override is None else 1,
                                   **options)
        oh, ow = planes.shape[2:]
        y = AvgPool2dOp.apply(planes.reshape(N, C, D, oh * ow), kernel=(kernel[0], 1), stride=(stride[0], 1),
                              padding=(padding[0], (0, 0)), divisor_override=divisor_override, **options)
        y = y.reshape(N, C, -1, oh, ow)
    return y.squeeze(0) if unbatched else y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each (dilated) window of (N, C, L) or (C, L); padding counts as -inf. With return_indices also
    the position each maximum came from (an int64 Tensor)."""
    return _max_pool("max_pool1d", 1, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each (dilated) KH×KW window of (N, C, H, W) or (C, H, W); padding counts as -inf. With
    return_indices also the position h·W + w each maximum came from (an int64 Tensor)."""
    return _max_pool("max_pool2d", 2, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def max_pool3d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """Maximum over each (dilated) KD×KH×KW window of (N, C, D, H, W) or (C, D, H, W); padding counts as -inf.
    With return_indices also the position d·H·W + h·W + w each maximum came from (an int64 Tensor)."""
    return _max_pool("max_pool3d", 3, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True) -> Tensor:
    """Mean over each window of (N, C, L) or (C, L), zero padding included in the count unless
    count_include_pad=False."""
    return _avg_pool("avg_pool1d", 1, input, kernel_size, stride, padding, ceil_mode, count_include_pad, None)


def avg_pool2d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """Mean over each KH×KW window of (N, C, H, W) or (C, H, W), zero padding included in the
    count unless count_include_pad=False; divisor_override replaces the count."""
    return _avg_pool(
        "avg_pool2d", 2, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


def avg_pool3d(
    input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None
) -> Tensor:
    """Mean over each KD×KH×KW window of (N, C, D, H, W) or (C, D, H, W), as avg_pool2d."""
    return _avg_pool(
        "avg_pool3d", 3, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )


class _MaxPoolNd(Module):
    """Keeps the arguments as given (an int stays an int in the repr, as torch); stride defaults to kernel_size."""

    _dims: int

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        _pool_arguments(type(self).__name__, self._dims, kernel_size, stride, padding, dilation)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        name = f"max_pool{self._dims}d"
        return _max_pool(name, self._dims, input, self.kernel_size, self.stride, self.padding, self.dilation,
                         self.ceil_mode, self.return_indices)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class MaxPool1d(_MaxPoolNd):
    """Max pooling of (N, C, L) or (C, L). See `max_pool1d`."""

    _dims = 1


class MaxPool2d(_MaxPoolNd):
    """Max pooling of (N, C, H, W) or (C, H, W). See `max_pool2d`."""

    _dims = 2


class MaxPool3d(_MaxPoolNd):
    """Max pooling of (N, C, D, H, W) or (C, D, H, W). See `max_pool3d`."""

    _dims = 3


class _AvgPoolNd(Module):
    """Keeps the arguments as given (as torch's AvgPool2d and AvgPool3d; AvgPool1d keeps tuples)."""

    _dims: int

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        _pool_arguments(type(self).__name__, self._dims, kernel_size, stride, padding, 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode, self.count_include_pad = padding, ceil_mode, count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return _avg_pool(f"avg_pool{self._dims}d", self._dims, input, self.kernel_size, self.stride, self.padding,
                         self.ceil_mode, self.count_include_pad, self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    """Average pooling of (N, C, L) or (C, L). See `avg_pool1d`."""

    _dims = 1

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
        super().__init__(kernel_size, stride, padding, ceil_mode, count_include_pad)
        self.kernel_size = check_tuple("kernel_size", self.kernel_size, 1, 1)
        self.stride = check_tuple("stride", self.stride, 1, 1)
        self.padding = check_tuple("padding", self.padding, 1, 0)


class AvgPool2d(_AvgPoolNd):
    """Average pooling of (N, C, H, W) or (C, H, W). See `avg_pool2d`."""

    _dims = 2


class AvgPool3d(_AvgPoolNd):
    """Average pooling of (N, C, D, H, W) or (C, D, H, W). See `avg_pool3d`."""

    _dims = 3
