"""Conv1d, Conv2d, Conv3d and their functional forms, with torch's arguments, defaults, padding modes and
initialization; `_ConvNd` is shared with the transposed convolutions (conv_transpose.py).

Every convolution runs on the 2-D convolution op (ops/conv.py, the backend's kernels):

    conv1d   (N, C, L)        -> (N, C, 1, L), kernel (1, K)
    conv2d   (N, C, H, W)     as it is
    conv3d   (N, C, D, H, W)  -> (N·OD, C·KD, H, W): the KD depth slices each output depth reads become channels
                                 (channel c·KD + kd), so the weight (O, C/groups, KD, KH, KW) reshaped to
                                 (O, C/groups·KD, KH, KW) convolves them in one 2-D convolution; the gather is a
                                 stack of strided slices, so its gradient adds back where windows overlap.
"""

from __future__ import annotations

import numpy as np

from ..ops.conv import Conv2d as Conv2dOp
from ..tensor import Tensor
from ..tensor_shape import stack
from . import init
from ._arguments import check_batch, check_choice, check_input_dtype, check_int, check_tuple, check_window_fits
from .module import Module, Parameter
from .padding import pad

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def conv_padding(padding: str | int | tuple, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    """torch's padding argument as (before, after) per spatial axis. 'same' keeps the size (stride 1 only),
    putting the odd element of padding after, as torch does; 'valid' is no padding."""
    if isinstance(padding, str):
        check_choice("padding", padding, ("same", "valid"))
        if padding == "valid":
            return ((0, 0),) * len(kernel)
        if any(s != 1 for s in stride):
            raise ValueError("padding='same' is not supported for strided convolutions (stride must be 1)")
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple((total // 2, total - total // 2) for total in totals)
    return tuple((p, p) for p in check_tuple("padding", padding, len(kernel), 0))


def check_conv_weight(name: str, x: Tensor, weight: Tensor, bias: Tensor | None, groups: int, transposed: bool):
    """Raise unless weight (and bias) fit x's channels: (O, C/groups, *kernel), or (C, O/groups, *kernel) for a
    transposed convolution."""
    dims = x.ndim - 2
    layout = "(in_channels, out_channels/groups" if transposed else "(out_channels, in_channels/groups"
    if weight.ndim != dims + 2:
        raise ValueError(f"{name}: weight must be {dims + 2}-D {layout}, *kernel_size), got {weight.shape}")
    in_channels = weight.shape[0] if transposed else weight.shape[1] * groups
    out_channels = weight.shape[1] * groups if transposed else weight.shape[0]
    if x.shape[1] != in_channels or (weight.shape[0] % groups):
        raise ValueError(
            f"{name}: with groups={groups}, weight of shape {weight.shape} expects {in_channels} input channels "
            f"and a first axis divisible by groups; the input has shape {x.shape}"
        )
    if bias is not None and bias.shape != (out_channels,):
        raise ValueError(f"{name}: bias must have shape ({out_channels},), got {bias.shape}")


def _conv1d(x, weight, bias, stride, padding, dilation, groups) -> Tensor:
    """A 2-D convolution over (N, C, 1, L)."""
    y = _conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, (1, *stride), ((0, 0), *padding), (1, *dilation), groups)
    return y.squeeze(2)


def _conv2d(x, weight, bias, stride, padding, dilation, groups) -> Tensor:
    inputs = (x, weight) if bias is None else (x, weight, bias)
    return Conv2dOp.apply(*inputs, stride=stride, padding=padding, dilation=dilation, groups=groups)


def _conv3d(x, weight, bias, stride, padding, dilation, groups) -> Tensor:
    """A 2-D convolution with the depth folded into the batch and the channels (see the module docstring)."""
    N, C, D, H, W = x.shape
    O, Cg, KD, KH, KW = weight.shape
    (sd, *stride_hw), ((front, back), *padding_hw), (dd, *dilation_hw) = stride, padding, dilation
    od = (D + front + back - dd * (KD - 1) - 1) // sd + 1
    depth_first = x.permute(0, 2, 1, 3, 4).pad(((0, 0), (front, back), (0, 0), (0, 0), (0, 0)))  # (N, D', C, H, W)
    slices = [depth_first[:, kd * dd : kd * dd + sd * (od - 1) + 1 : sd] for kd in range(KD)]  # (N, OD, C, H, W)
    folded = stack(slices, axis=3).reshape(N * od, C * KD, H, W)
    y = _conv2d(folded, weight.reshape(O, Cg * KD, KH, KW), bias, stride_hw, padding_hw, dilation_hw, groups)
    return y.reshape(N, od, *y.shape[1:]).permute(0, 2, 1, 3, 4)


_CONVOLUTIONS = {1: _conv1d, 2: _conv2d, 3: _conv3d}


def _convolution(name, dims, input, weight, bias, stride, padding, dilation, groups) -> Tensor:
    x, unbatched = check_batch(name, input, dims)
    check_input_dtype(name, input, weight=weight, bias=bias)
    stride, dilation = check_tuple("stride", stride, dims, 1), check_tuple("dilation", dilation, dims, 1)
    groups = check_int("groups", groups, 1)
    check_conv_weight(name, x, weight, bias, groups, transposed=False)
    kernel = weight.shape[2:]
    padding = conv_padding(padding, kernel, stride, dilation)
    check_window_fits(name, x.shape[2:], padding, kernel, dilation)
    out = _CONVOLUTIONS[dims](x, weight, bias, stride, padding, dilation, groups)
    return out.squeeze(0) if unbatched else out


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """1-D cross-correlation of input (N, C, L) or (C, L) with weight (O, C/groups, K), plus bias (O,):
    output (N, O, OL) with OL = (L + 2p - d(K-1) - 1)//s + 1."""
    return _convolution("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """2-D cross-correlation of input (N, C, H, W) or (C, H, W) with weight (O, C/groups, KH, KW),
    plus bias (O,): output (N, O, OH, OW) with OH = (H + 2·ph - dh(KH-1) - 1)//sh + 1."""
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> Tensor:
    """3-D cross-correlation of input (N, C, D, H, W) or (C, D, H, W) with weight (O, C/groups, KD, KH, KW),
    plus bias (O,): output (N, O, OD, OH, OW), each size as in conv2d."""
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


class _ConvNd(Module):
    """What every convolution layer shares: torch's attributes (sizes as tuples), weight (out_channels,
    in_channels/groups, *kernel_size), or (in_channels, out_channels/groups, *kernel_size) when transposed,
    ~ kaiming_uniform_(a=√5) = U(±1/√fan_in), bias (out_channels,) ~ U(±1/√fan_in), fan_in = weight.shape[1]
    ·prod(kernel_size); and torch's repr."""

    _dims: int

    def __init__(
        self, in_channels, out_channels, kernel_size, stride, padding, dilation, transposed, output_padding, groups,
        bias, padding_mode,
    ):
        super().__init__()
        dims = self._dims
        self.in_channels = check_int("in_channels", in_channels, 1)
        self.out_channels = check_int("out_channels", out_channels, 1)
        self.groups = check_int("groups", groups, 1)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f"in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by groups ({groups})"
            )
        self.kernel_size = check_tuple("kernel_size", kernel_size, dims, 1)
        self.stride = check_tuple("stride", stride, dims, 1)
        self.dilation = check_tuple("dilation", dilation, dims, 1)
        widths = conv_padding(padding, self.kernel_size, self.stride, self.dilation)  # validated now, as torch
        self.padding = padding if isinstance(padding, str) else check_tuple("padding", padding, dims, 0)
        self.transposed = transposed
        self.output_padding = check_tuple("output_padding", output_padding, dims, 0)
        self.padding_mode = check_choice("padding_mode", padding_mode, PADDING_MODES)
        # F.pad's widths for padding_mode: last axis first, as torch's _reversed_padding_repeated_twice
        self._reversed_padding_repeated_twice = [n for before_after in reversed(widths) for n in before_after]
        channels = (in_channels, out_channels // groups) if transposed else (out_channels, in_channels // groups)
        self.weight = Parameter(np.empty((*channels, *self.kernel_size), np.float32))
        self.register_parameter("bias", Parameter(np.empty(out_channels, np.float32)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._reset_weight_and_bias_(self.weight, self.bias)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0,) * len(self.padding):
            text += f", padding={self.padding}"
        if self.dilation != (1,) * self._dims:
            text += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._dims:
            text += f", output_padding={self.output_padding}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        if self.padding_mode != "zeros":
            text += f", padding_mode={self.padding_mode}"
        return text


class _Conv(_ConvNd):
    """A convolution layer: cross-correlation, as torch. padding_mode 'reflect', 'replicate' or 'circular' pads
    the input with `pad` first and convolves without padding."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, ...],
        stride: int | tuple[int, ...] = 1,
        padding: str | int | tuple[int, ...] = 0,
        dilation: int | tuple[int, ...] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
    ):
        super().__init__(
            in_channels, out_channels, kernel_size, stride, padding, dilation, False, 0, groups, bias, padding_mode
        )

    def forward(self, input: Tensor) -> Tensor:
        padding = self.padding
        if self.padding_mode != "zeros":
            input, padding = pad(input, self._reversed_padding_repeated_twice, self.padding_mode), 0
        return _FUNCTIONAL[self._dims](input, self.weight, self.bias, self.stride, padding, self.dilation, self.groups)


_FUNCTIONAL = {1: conv1d, 2: conv2d, 3: conv3d}


class Conv1d(_Conv):
    """1-D convolution of (N, C, L) or (C, L) input; see `conv1d`."""

    _dims = 1


class Conv2d(_Conv):
    """2-D convolution of (N, C, H, W) or (C, H, W) input; see `conv2d`."""

    _dims = 2


class Conv3d(_Conv):
    """3-D convolution of (N, C, D, H, W) or (C, D, H, W) input; see `conv3d` (and the module docstring)."""

    _dims = 3
