"""Normalization layers and their functional forms, with torch.nn's names, defaults and state_dict keys.

Every form views its input as three axes and calls one norm op from ops/norm.py, which calls the active
backend's fused kernels; nothing here computes a statistic.

    batch_norm     (N, C, *)   -> (N, C, S)              statistics per channel         BatchNorm
    layer_norm     (*, D1..Dk) -> (M, D1*..*Dk, 1)       statistics per row             RowNorm, 1 group
    rms_norm       (*, D1..Dk) -> (M, D1*..*Dk, 1)       root mean square per row       RowNorm, not centered
    group_norm     (N, C, *)   -> (N, C, S)              statistics per (n, group)      RowNorm, G groups
    instance_norm  (N, C, *)   -> (N, C, S)              statistics per (n, c)          RowNorm, C groups
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence

import numpy as np

from ..ops.norm import BatchNorm, RowNorm
from ..tensor import Tensor
from . import init
from ._arguments import check_input_dtype, check_int
from .module import Module, Parameter

# ---- functional forms ---------------------------------------------------------------------------------------


def _affine_args(weight: Tensor | None, bias: Tensor | None) -> tuple[tuple[Tensor, ...], dict[str, bool]]:
    """The present ones of weight and bias as op inputs, and the flags that say which they are."""
    present = tuple(t for t in (weight, bias) if t is not None)
    return present, {"has_weight": weight is not None, "has_bias": bias is not None}


def _channel_view(input: Tensor, name: str) -> tuple[int, int, int]:
    """(N, C, *spatial) -> (N, C, S) with S = prod(spatial)."""
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, *), got {input.shape}")
    return input.shape[0], input.shape[1], math.prod(input.shape[2:])


def _shape(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of ints (how torch stores `normalized_shape`)."""
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (check_int("normalized_shape", normalized_shape, 0),)
    if not isinstance(normalized_shape, Sequence) or isinstance(normalized_shape, str):
        raise TypeError(
            f"normalized_shape must be an int or a sequence of ints, got {type(normalized_shape).__name__} "
            f"{normalized_shape!r}"
        )
    return tuple(check_int("normalized_shape", n, 0) for n in normalized_shape)


def _row_view(input: Tensor, normalized_shape: int | Sequence[int], name: str) -> tuple[int, int, int]:
    """(*, D1..Dk) -> (M, D1*..*Dk, 1): one row per leading index, its elements as channels."""
    shape = _shape(normalized_shape)
    lead = input.ndim - len(shape)
    if lead < 0 or input.shape[lead:] != shape:
        raise ValueError(f"{name}: expected an input of shape (*, {', '.join(map(str, shape))}), got {input.shape}")
    return math.prod(input.shape[:lead]), math.prod(shape), 1


def _data(t: Tensor | None):
    return None if t is None else t.data


def batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    training: bool = False,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """y = (x - mean[c]) / sqrt(var[c] + eps) * weight[c] + bias[c] on (N, C, *), statistics over N and *.

    training: mean and biased var of this batch; given running buffers are updated in place with momentum
    (running_var with the unbiased batch variance), except by an empty batch, which leaves them as they are
    (as torch). Otherwise the running statistics are used. eps must be positive in training, non-negative
    otherwise (as torch).
    """
    if training and not eps > 0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if not eps >= 0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    state = {"weight": weight, "bias": bias, "running_mean": running_mean, "running_var": running_var}
    check_input_dtype("batch_norm", input, **state)
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps) -> Tensor:
    """`batch_norm` without its checks of eps and dtypes (instance_norm makes its own)."""
    view = _channel_view(input, "batch_norm")
    if training and view[0] * view[2] == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    if not training and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    for name, buffer in (("running_mean", running_mean), ("running_var", running_var)):
        if buffer is not None and buffer.shape != (view[1],):
            raise ValueError(f"batch_norm: {name} should hold {view[1]} elements, got shape {buffer.shape}")
    if training and view[0] * view[2] == 0:  # no values: no statistics to fold into the running ones
        running_mean = running_var = None
    affine, flags = _affine_args(weight, bias)
    return BatchNorm.apply(
        input,
        *affine,
        **flags,
        view=view,
        eps=eps,
        training=training,
        running_mean=_data(running_mean),
        running_var=_data(running_var),
        momentum=momentum,
    )


def layer_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias, statistics over the last dims `normalized_shape`."""
    view = _row_view(input, normalized_shape, "layer_norm")
    check_input_dtype("layer_norm", input, weight=weight, bias=bias)
    affine, flags = _affine_args(weight, bias)
    return RowNorm.apply(input, *affine, **flags, view=view, groups=1, eps=eps, center=True)


def rms_norm(
    input: Tensor,
    normalized_shape: int | Sequence[int],
    weight: Tensor | None = None,
    eps: float | None = None,
) -> Tensor:
    """y = x / sqrt(E[x^2] + eps) * weight over the last dims; eps=None is the machine epsilon of x's dtype."""
    view = _row_view(input, normalized_shape, "rms_norm")
    check_input_dtype("rms_norm", input, weight=weight)
    eps = float(np.finfo(input.dtype).eps) if eps is None else eps
    affine, flags = _affine_args(weight, None)
    return RowNorm.apply(input, *affine, **flags, view=view, groups=1, eps=eps, center=False)


def group_norm(
    input: Tensor,
    num_groups: int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
) -> Tensor:
    """(N, C, *): statistics over each group of C/num_groups channels (and *) of each sample; affine per channel."""
    view = _channel_view(input, "group_norm")
    check_input_dtype("group_norm", input, weight=weight, bias=bias)
    if view[1] % num_groups:
        raise ValueError(f"group_norm: {view[1]} channels cannot be split into {num_groups} groups")
    affine, flags = _affine_args(weight, bias)
    return RowNorm.apply(input, *affine, **flags, view=view, groups=num_groups, eps=eps, center=True)


def instance_norm(
    input: Tensor,
    running_mean: Tensor | None = None,
    running_var: Tensor | None = None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    use_input_stats: bool = True,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """(N, C, *): statistics over * for each sample and channel (use_input_stats), else the running statistics.

    With running buffers and use_input_stats, torch's definition: batch norm over the (1, N*C, S) view (each
    instance a channel) with the buffers repeated per sample, then averaged back over the batch. An empty
    input leaves the buffers as they are (where torch 2.13 writes NaN into them).
    """
    N, C, S = _channel_view(input, "instance_norm")
    buffers = {"running_mean": running_mean, "running_var": running_var}
    check_input_dtype("instance_norm", input, weight=weight, bias=bias, **buffers)
    if not use_input_stats:
        return _batch_norm(input, running_mean, running_var, weight, bias, False, 0.0, eps)
    if S == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {list(input.shape)}")
    if running_mean is None or running_var is None or N * S == 0:
        affine, flags = _affine_args(weight, bias)
        return RowNorm.apply(input, *affine, **flags, view=(N, C, S), groups=C, eps=eps, center=True)
    repeated = [Tensor._from_array(input.xp.tile(buffer.data, N), False) for buffer in (running_mean, running_var)]
    weight, bias = [None if t is None else t.unsqueeze(0).expand(N, C).reshape(N * C) for t in (weight, bias)]
    y = _batch_norm(input.reshape(1, N * C, S), *repeated, weight, bias, True, momentum, eps)
    for buffer, per_sample in zip((running_mean, running_var), repeated):
        buffer.data[...] = per_sample.data.reshape(N, C).mean(axis=0)
    return y.reshape(input.shape)


# ---- layers -------------------------------------------------------------------------------------------------


def _register_affine(module: Module, shape: tuple[int, ...], affine: bool, bias: bool) -> None:
    """`weight` (ones) and `bias` (zeros) parameters of `shape`, or None placeholders, as torch registers them."""
    module.register_parameter("weight", Parameter(np.ones(shape, np.float32)) if affine else None)
    module.register_parameter("bias", Parameter(np.zeros(shape, np.float32)) if affine and bias else None)


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share: per-channel affine parameters and the running-statistics buffers
    `running_mean` (zeros), `running_var` (ones) and `num_batches_tracked` (int64), when tracked."""

    _input_dims: tuple[int, ...]  # the accepted input ndims (unbatched first for InstanceNorm)

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        *,
        bias: bool = True,
    ):
        super().__init__()
        self.num_features = check_int("num_features", num_features, 1)
        self.eps, self.momentum, self.affine, self.track_running_stats = eps, momentum, affine, track_running_stats
        _register_affine(self, (num_features,), affine, bias)
        tracked = {
            "running_mean": np.zeros(num_features, np.float32),
            "running_var": np.ones(num_features, np.float32),
            "num_batches_tracked": np.zeros((), np.int64),
        }
        for name, array in tracked.items():
            self.register_buffer(name, Tensor(array) if track_running_stats else None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        if input.ndim not in self._input_dims:
            expected = " or ".join(f"{n}D" for n in self._input_dims)
            raise ValueError(f"expected {expected} input (got {input.ndim}D input)")

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}"
        )


class _BatchNorm(_NormBase):
    """Batch normalization (Ioffe & Szegedy, arXiv:1502.03167), per channel c over the batch and positions:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight[c] + bias[c]

    Training normalizes with the batch mean and biased variance and, when tracking, updates
    running = (1 - momentum) * running + momentum * batch_stat (running_var from the unbiased variance;
    momentum=None: the cumulative average, factor 1 / num_batches_tracked). Eval normalizes with the running
    statistics, or with the batch statistics when track_running_stats=False. Gradient mode does not matter.
    """

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        use_batch_stats = self.training or self.running_mean is None
        keep_buffers = not self.training or self.track_running_stats
        return batch_norm(
            input,
            self.running_mean if keep_buffers else None,
            self.running_var if keep_buffers else None,
            self.weight,
            self.bias,
            use_batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input (arXiv:1502.03167); see `_BatchNorm`."""

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input (arXiv:1502.03167); see `_BatchNorm`."""

    _input_dims = (4,)


class _InstanceNorm(_NormBase):
    """Instance normalization (Ulyanov et al., arXiv:1607.08022), per sample and channel over the positions:

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight[c] + bias[c]

    Always uses the statistics of each instance, unless track_running_stats=True and the layer is in eval
    mode: then the running statistics, which training updates with the per-instance mean and unbiased
    variance averaged over the batch (as torch; momentum=None leaves them unchanged, num_batches_tracked is
    never incremented). An unbatched input (no N axis) is normalized as a batch of one.
    """

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = False,
        track_running_stats: bool = False,
        *,
        bias: bool = True,
    ):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, bias=bias)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        unbatched = input.ndim == self._input_dims[0]
        channels = input.shape[0 if unbatched else 1]
        if channels != self.num_features:
            message = (
                f"expected input's size at dim={0 if unbatched else 1} to match num_features "
                f"({self.num_features}), but got: {channels}."
            )
            if self.affine:
                raise ValueError(message)
            warnings.warn(message + " num_features is unused because affine=False.", stacklevel=2)
        y = instance_norm(
            input.unsqueeze(0) if unbatched else input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            self.training or not self.track_running_stats,
            0.0 if self.momentum is None else self.momentum,
            self.eps,
        )
        return y.squeeze(0) if unbatched else y


class InstanceNorm1d(_InstanceNorm):
    """Instance normalization of (N, C, L) or unbatched (C, L) input (arXiv:1607.08022); see `_InstanceNorm`."""

    _input_dims = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalization of (N, C, H, W) or unbatched (C, H, W) input (arXiv:1607.08022); see `_InstanceNorm`."""

    _input_dims = (3, 4)


class LayerNorm(Module):
    """Layer normalization (Ba et al., arXiv:1607.06450) over the last dims, of shape `normalized_shape`:

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias      (weight, bias of shape normalized_shape)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
    ):
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        _register_affine(self, self.normalized_shape, elementwise_affine, bias)

    def forward(self, input: Tensor) -> Tensor:
        return layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
            f"bias={self.bias is not None}"
        )


class RMSNorm(Module):
    """Root mean square layer normalization (Zhang & Sennrich, arXiv:1910.07467) over the last dims:

        y = x / sqrt(E[x^2] + eps) * weight      (no centering, no bias)

    eps=None uses the machine epsilon of the input's dtype (torch.finfo(x.dtype).eps), as torch.
    """

    def __init__(
        self, normalized_shape: int | Sequence[int], eps: float | None = None, elementwise_affine: bool = True
    ):
        super().__init__()
        self.normalized_shape, self.eps, self.elementwise_affine = _shape(normalized_shape), eps, elementwise_affine
        weight = Parameter(np.ones(self.normalized_shape, np.float32)) if elementwise_affine else None
        self.register_parameter("weight", weight)

    def forward(self, input: Tensor) -> Tensor:
        return rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"


class GroupNorm(Module):
    """Group normalization (Wu & He, arXiv:1803.08494): the C channels of (N, C, *) split into num_groups groups,
    statistics per sample and group, affine per channel:

        y = (x - E_group[x]) / sqrt(Var_group[x] + eps) * weight[c] + bias[c]
    """

    def __init__(
        self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True, *, bias: bool = True
    ):
        super().__init__()
        self.num_groups = check_int("num_groups", num_groups, 1)
        self.num_channels = check_int("num_channels", num_channels, 1)
        if num_channels % num_groups:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups ({num_groups})")
        self.eps, self.affine = eps, affine
        _register_affine(self, (num_channels,), affine, bias)

    def forward(self, input: Tensor) -> Tensor:
        return group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
