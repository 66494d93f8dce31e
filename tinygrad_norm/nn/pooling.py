"""MaxPool2d, AvgPool2d and AdaptiveAvgPool2d with their functional forms (torch's arguments).

ceil_mode=True and return_indices=True are not supported and raise ValueError.
"""

from __future__ import annotations

from ..ops.pool import AvgPool2d as AvgPool2dOp
from ..ops.pool import MaxPool2d as MaxPool2dOp
from ..ops.windows import Pair
from ..tensor import Tensor
from ._arguments import check_choice, check_image_batch, check_int, check_pair, check_window_fits
from .module import Module


def _pool_arguments(name: str, kernel_size, stride, padding, dilation) -> tuple[Pair, Pair, Pair, Pair]:
    """Kernel, stride (default: the kernel), padding and dilation as pairs; padding may be at most
    kernel_size // 2, whatever the dilation (torch's documented limit)."""
    kernel = check_pair("kernel_size", kernel_size, 1)
    stride = kernel if stride is None else check_pair("stride", stride, 1)
    padding, dilation = check_pair("padding", padding, 0), check_pair("dilation", dilation, 1)
    if any(p > k // 2 for p, k in zip(padding, kernel)):
        raise ValueError(
            f"{name}: padding should be at most half of kernel_size, "
            f"got padding={padding}, kernel_size={kernel}"
        )
    return kernel, stride, padding, dilation


def _check_unsupported(ceil_mode: bool, return_indices: bool = False) -> None:
    check_choice("ceil_mode", ceil_mode, (False,))
    check_choice("return_indices", return_indices, (False,))


def max_pool2d(
    input: Tensor,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    dilation: int | Pair = 1,
    ceil_mode: bool = False,
    return_indices: bool = False,
) -> Tensor:
    """Maximum over each (dilated) KH×KW window of (N, C, H, W) or (C, H, W); padding counts as -inf."""
    _check_unsupported(ceil_mode, return_indices)
    x, unbatched = check_image_batch("max_pool2d", input)
    kernel, stride, padding, dilation = _pool_arguments("max_pool2d", kernel_size, stride, padding, dilation)
    padding = tuple((p, p) for p in padding)
    check_window_fits("max_pool2d", x.shape[2:], padding, kernel, dilation)
    out = MaxPool2dOp.apply(x, kernel=kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=False)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(
    input: Tensor,
    kernel_size: int | Pair,
    stride: int | Pair | None = None,
    padding: int | Pair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Tensor:
    """Mean over each KH×KW window of (N, C, H, W) or (C, H, W), zero padding included in the
    count unless count_include_pad=False; divisor_override replaces the count."""
    _check_unsupported(ceil_mode)
    x, unbatched = check_image_batch("avg_pool2d", input)
    kernel, stride, padding, _ = _pool_arguments("avg_pool2d", kernel_size, stride, padding, 1)
    if divisor_override is not None:
        divisor_override = check_int("divisor_override", divisor_override, 1)
    padding = tuple((p, p) for p in padding)
    check_window_fits("avg_pool2d", x.shape[2:], padding, kernel, (1, 1))
    out = AvgPool2dOp.apply(
        x,
        kernel=kernel,
        stride=stride,
        padding=padding,
        ceil_mode=False,
        count_include_pad=bool(count_include_pad),
        divisor_override=divisor_override,
    )
    return out.squeeze(0) if unbatched else out


def _averaging_matrix(in_size: int, out_size: int, dtype, xp):
    """(out, in) matrix whose row i averages x[floor(i·in/out) : ceil((i+1)·in/out)] (torch's bins)."""
    i = xp.arange(out_size)[:, None]
    start, end = (i * in_size) // out_size, -((-(i + 1) * in_size) // out_size)
    j = xp.arange(in_size)[None, :]
    return (((j >= start) & (j < end)) / (end - start)).astype(dtype)


def _adaptive_size(output_size: int | tuple[int | None, int | None]) -> tuple[int | None, int | None]:
    if isinstance(output_size, tuple | list):
        if len(output_size) != 2:
            raise ValueError(f"output_size must be an int or a pair, got {output_size!r}")
        return tuple(None if n is None else check_int("output_size", n, 1) for n in output_size)
    return check_pair("output_size", output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Average over torch's adaptive bins: output (N, C, OH, OW), output row i averaging input rows
    floor(i·H/OH) .. ceil((i+1)·H/OH) - 1 (bins may overlap), likewise for columns; None keeps a size.
    Computed as A_H · x · A_Wᵀ with the averaging matrices A, so the gradient comes from matmul."""
    x, unbatched = check_image_batch("adaptive_avg_pool2d", input)
    (h, w), (oh, ow) = x.shape[2:], _adaptive_size(output_size)
    oh, ow = h if oh is None else oh, w if ow is None else ow
    rows = Tensor._from_array(_averaging_matrix(h, oh, x.dtype, x.xp), False)  # (OH, H)
    cols = Tensor._from_array(_averaging_matrix(w, ow, x.dtype, x.xp).T, False)  # (W, OW)
    out = rows @ x @ cols  # (N, C, OH, OW)
    return out.squeeze(0) if unbatched else out


class _Pool2d(Module):
    """Keeps the arguments as given (an int stays an int in the repr, as torch); stride defaults to kernel_size."""

    def __init__(self, kernel_size: int | Pair, stride: int | Pair | None, padding: int | Pair, ceil_mode: bool):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode


class MaxPool2d(_Pool2d):
    """Max pooling. See `max_pool2d`."""

    def __init__(
        self,
        kernel_size: int | Pair,
        stride: int | Pair | None = None,
        padding: int | Pair = 0,
        dilation: int | Pair = 1,
        return_indices: bool = False,
        ceil_mode: bool = False,
    ):
        _check_unsupported(ceil_mode, return_indices)
        _pool_arguments("MaxPool2d", kernel_size, stride, padding, dilation)
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation = dilation

    def forward(self, input: Tensor) -> Tensor:
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"dilation={self.dilation}, ceil_mode={self.ceil_mode}"
        )


class AvgPool2d(_Pool2d):
    """Average pooling. See `avg_pool2d`."""

    def __init__(
        self,
        kernel_size: int | Pair,
        stride: int | Pair | None = None,
        padding: int | Pair = 0,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
        divisor_override: int | None = None,
    ):
        _check_unsupported(ceil_mode)
        _pool_arguments("AvgPool2d", kernel_size, stride, padding, 1)
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(
            input, self.kernel_size, self.stride, self.padding, False, self.count_include_pad, self.divisor_override
        )

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (an int, or a pair whose None entries keep the input's
    size). See `adaptive_avg_pool2d`."""

    def __init__(self, output_size: int | tuple[int | None, int | None]):
        super().__init__()
        _adaptive_size(output_size)
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
