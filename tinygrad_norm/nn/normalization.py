"""Normalization layers with torch.nn's names, defaults and state_dict keys, each calling its functional form
in nn/norms.py (which views the input as three axes and calls one fused norm op)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from ..tensor import Tensor
from . import init
from ._arguments import check_int
from .module import Module, Parameter
from .norms import batch_norm, group_norm, instance_norm, layer_norm, normalized_shape_tuple, rms_norm


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

    _batch_norm = staticmethod(batch_norm)  # the functional form forward calls (SyncBatchNorm chooses its own)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked.item())
        batch_stats = self.training or self.running_mean is None
        keep_buffers = not self.training or self.track_running_stats
        return self._batch_norm(
            input,
            self.running_mean if keep_buffers else None,
            self.running_var if keep_buffers else None,
            self.weight,
            self.bias,
            batch_stats,
            factor,
            self.eps,
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalization of (N, C) or (N, C, L) input (arXiv:1502.03167); see `_BatchNorm`."""

    _input_dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization of (N, C, H, W) input (arXiv:1502.03167); see `_BatchNorm`."""

    _input_dims = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization of (N, C, D, H, W) input (arXiv:1502.03167); see `_BatchNorm`."""

    _input_dims = (5,)


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


class InstanceNorm3d(_InstanceNorm):
    """Instance normalization of (N, C, D, H, W) or unbatched (C, D, H, W) input (arXiv:1607.08022); see
    `_InstanceNorm`."""

    _input_dims = (4, 5)


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
        self.normalized_shape = normalized_shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
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
        self.normalized_shape = normalized_shape_tuple(normalized_shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
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
