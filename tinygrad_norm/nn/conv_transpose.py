"""ConvTranspose1d, ConvTranspose2d and their functional forms, with torch's arguments, defaults and initialization.

A transposed convolution is the adjoint of a convolution in its input (the gradient a Conv2d sends back to x): each
input element spreads its value, times the kernel, over a window of the output, windows `stride` apart and added
where they overlap. Per spatial axis the output has

    (n - 1)·stride - 2·padding + dilation·(kernel - 1) + output_padding + 1

elements; output_padding (smaller than the stride or the dilation) picks among the sizes that a convolution with
that stride maps to n. The 1-D form runs as a 2-D one over (N, C, 1, L).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..ops.conv import ConvTranspose2d as ConvTranspose2dOp
from ..tensor import Tensor
from ._arguments import check_batch, check_input_dtype, check_int, check_tuple
from .conv import _ConvNd, check_conv_weight


def _output_size(sizes, kernel, stride, padding, dilation, output_padding) -> tuple[int, ...]:
    return tuple(
        (n - 1) * s - 2 * p + d * (k - 1) + extra + 1
        for n, k, s, p, d, extra in zip(sizes, kernel, stride, padding, dilation, output_padding)
    )


def _conv_transpose(name, dims, input, weight, bias, stride, padding, output_padding, groups, dilation) -> Tensor:
    x, unbatched = check_batch(name, input, dims)
    check_input_dtype(name, input, weight=weight, bias=bias)
    stride, dilation = check_tuple("stride", stride, dims, 1), check_tuple("dilation", dilation, dims, 1)
    padding = check_tuple("padding", padding, dims, 0)
    output_padding = check_tuple("output_padding", output_padding, dims, 0)
    if any(extra >= s and extra >= d for extra, s, d in zip(output_padding, stride, dilation)):
        raise ValueError(
            f"{name}: output_padding must be smaller than either stride or dilation, got output_padding="
            f"{output_padding}, stride={stride}, dilation={dilation}"
        )
    groups = check_int("groups", groups, 1)
    check_conv_weight(name, x, weight, bias, groups, transposed=True)
    out = _output_size(x.shape[2:], weight.shape[2:], stride, padding, dilation, output_padding)
    if min(out) < 1:
        raise ValueError(f"{name}: the input's spatial size {x.shape[2:]} gives an output of size {out}, too small")
    if dims == 1:  # as 2-D over (N, C, 1, L)
        x, weight, out = x.unsqueeze(2), weight.unsqueeze(2), (1, *out)
        stride, padding, dilation = (1, *stride), (0, *padding), (1, *dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    y = ConvTranspose2dOp.apply(
        *inputs, out_hw=out, stride=stride, padding=tuple((p, p) for p in padding), dilation=dilation, groups=groups
    )
    y = y.squeeze(2) if dims == 1 else y
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """Transposed 1-D convolution of input (N, C, L) or (C, L) with weight (C, O/groups, K), plus bias (O,);
    see the module docstring for the output's size."""
    return _conv_transpose(
        "conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1, dilation=1) -> Tensor:
    """Transposed 2-D convolution of input (N, C, H, W) or (C, H, W) with weight (C, O/groups, KH, KW), plus
    bias (O,); see the module docstring for the output's size."""
    return _conv_transpose(
        "conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups, dilation
    )


class _ConvTransposeNd(_ConvNd):
    """A transposed convolution layer; only padding_mode='zeros' (as torch). `forward(input, output_size)` may
    name the output's size instead of output_padding."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: int | tuple[int, ...] = 0,
        output_padding: int | tuple[int, ...] = 0,
        groups: int = 1,
        bias: bool = True,
        dilation: int | tuple[int, ...] = 1,
        padding_mode: str = "zeros",
    ):
        if padding_mode != "zeros":
            raise ValueError(f'Only "zeros" padding mode is supported for {type(self).__name__}, got {padding_mode!r}')
        if isinstance(padding, str):
            raise ValueError(f"{type(self).__name__}: padding must be an int or a tuple of ints, got {padding!r}")
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, True, output_padding, groups, bias,
            padding_mode,
        )

    def _output_padding(self, input: Tensor, output_size: Sequence[int] | None) -> tuple[int, ...]:
        """output_padding, or the one that gives `output_size` (its last spatial entries; torch's rule)."""
        if output_size is None:
            return self.output_padding
        dims = self._dims
        output_size = tuple(output_size)[-dims:]
        if len(output_size) != dims:
            raise ValueError(f"output_size must have {dims} or {dims + 2} elements, got {len(output_size)}")
        smallest = _output_size(
            input.shape[-dims:], self.kernel_size, self.stride, self.padding, self.dilation, (0,) * dims
        )
        for size, low, s in zip(output_size, smallest, self.stride):
            if not low <= size < low + s:
                raise ValueError(
                    f"requested an output size of {output_size}, but valid sizes range from {smallest} to "
                    f"{tuple(n + s - 1 for n, s in zip(smallest, self.stride))} (for an input of "
                    f"{tuple(input.shape[-dims:])})"
                )
        return tuple(size - low for size, low in zip(output_size, smallest))

    def forward(self, input: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        output_padding = self._output_padding(input, output_size)
        functional = conv_transpose1d if self._dims == 1 else conv_transpose2d
        return functional(
            input, self.weight, self.bias, self.stride, self.padding, output_padding, self.groups, self.dilation
        )


class ConvTranspose1d(_ConvTransposeNd):
    """Transposed 1-D convolution of (N, C, L) or (C, L) input; see the module docstring."""

    _dims = 1


class ConvTranspose2d(_ConvTransposeNd):
    """Transposed 2-D convolution of (N, C, H, W) or (C, H, W) input; see the module docstring."""

    _dims = 2
