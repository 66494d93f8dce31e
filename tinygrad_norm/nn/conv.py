"""Conv2d and its functional form `conv2d`, with torch's arguments, defaults and initialization."""

from __future__ import annotations

import numpy as np

from ..ops.conv import Conv2d as Conv2dOp
from ..ops.windows import Padding, Pair
from ..tensor import Tensor
from . import init
from ._arguments import check_choice, check_image_batch, check_input_dtype, check_int, check_pair, check_window_fits
from .module import Module, Parameter


def _conv_padding(padding: str | int | Pair, kernel: Pair, stride: Pair, dilation: Pair) -> Padding:
    """torch's padding argument as ((top, bottom), (left, right)). 'same' keeps H and W (stride 1 only),
    putting the odd pixel of padding at the bottom/right as torch does; 'valid' is no padding."""
    if isinstance(padding, str):
        check_choice("padding", padding, ("same", "valid"))
        if padding == "valid":
            return (0, 0), (0, 0)
        if stride != (1, 1):
            raise ValueError("padding='same' is not supported for strided convolutions (stride must be 1)")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (totals[0] // 2, totals[0] - totals[0] // 2), (totals[1] // 2, totals[1] - totals[1] // 2)
    ph, pw = check_pair("padding", padding, 0)
    return (ph, ph), (pw, pw)


def conv2d(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Pair = 1,
    padding: str | int | Pair = 0,
    dilation: int | Pair = 1,
    groups: int = 1,
) -> Tensor:
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, KH, KW),
    plus bias (O,): output (N, O, OH, OW) with OH = (H + 2·ph - dh(KH-1) - 1)//sh + 1."""
    x, unbatched = check_image_batch("conv2d", input)
    check_input_dtype("conv2d", input, weight=weight, bias=bias)
    stride, dilation = check_pair("stride", stride, 1), check_pair("dilation", dilation, 1)
    groups = check_int("groups", groups, 1)
    if weight.ndim != 4:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels/groups, KH, KW), got {weight.shape}")
    if x.shape[1] != weight.shape[1] * groups or weight.shape[0] % groups:
        raise ValueError(
            f"conv2d: with groups={groups}, weight of shape {weight.shape} expects {weight.shape[1] * groups} "
            f"input channels and out_channels divisible by groups; the input has shape {input.shape}"
        )
    if bias is not None and bias.shape != weight.shape[:1]:
        raise ValueError(f"conv2d: bias must have shape ({weight.shape[0]},), got {bias.shape}")
    kernel = weight.shape[2:]
    padding = _conv_padding(padding, kernel, stride, dilation)
    check_window_fits("conv2d", x.shape[2:], padding, kernel, dilation)
    inputs = (x, weight) if bias is None else (x, weight, bias)
    out = Conv2dOp.apply(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)
    return out.squeeze(0) if unbatched else out


class Conv2d(Module):
    """2-D convolution layer (cross-correlation, as torch) with weight (out_channels, in_channels/groups,
    KH, KW) ~ kaiming_uniform_(a=√5) = U(±1/√fan_in) and bias (out_channels,) ~ U(±1/√fan_in),
    fan_in = in_channels/groups·KH·KW. Only padding_mode='zeros' is supported."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | Pair,
        stride: int | Pair = 1,
        padding: str | int | Pair = 0,
        dilation: int | Pair = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ):
        super().__init__()
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.groups = check_int("groups", groups, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        self.kernel_size = check_pair("kernel_size", kernel_size, 1)
        self.stride = check_pair("stride", stride, 1)
        self.dilation = check_pair("dilation", dilation, 1)
        _conv_padding(padding, self.kernel_size, self.stride, self.dilation)  # validate now, as torch does
        self.padding = padding if isinstance(padding, str) else check_pair("padding", padding, 0)
        self.padding_mode = check_choice("padding_mode", padding_mode, ("zeros",))
        shape = (self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        self.weight = Parameter(np.empty(shape, np.float32))
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, np.float32)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._reset_weight_and_bias_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text
