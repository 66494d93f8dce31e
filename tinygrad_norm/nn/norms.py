"""Functional forms of the normalization layers (torch.nn.functional's names and arguments).

Every form views its input as three axes and calls one norm op from ops/norm.py, which calls the active
backend's fused kernels; nothing here computes a statistic.

    batch_norm     (N, C, *)   -> (N, C, S)              statistics per channel         BatchNorm
    sync_batch_norm  the same, over the shares of a batch that several processes hold        SyncBatchNorm
    layer_norm     (*, D1..Dk) -> (M, D1*..*Dk, 1)       statistics per row             RowNorm, 1 group
    rms_norm       (*, D1..Dk) -> (M, D1*..*Dk, 1)       root mean square per row       RowNorm, not centered
    group_norm     (N, C, *)   -> (N, C, S)              statistics per (n, group)      RowNorm, G groups
    instance_norm  (N, C, *)   -> (N, C, S)              statistics per (n, c)          RowNorm, C groups
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..devices import check_same
from ..ops.norm import BatchNorm, RowNorm
from ..ops.sync_norm import SyncBatchNorm
from ..tensor import Tensor
from ._arguments import check_input_dtype, check_int


def _affine_args(weight: Tensor | None, bias: Tensor | None) -> tuple[tuple[Tensor, ...], dict[str, bool]]:
    """The present ones of weight and bias as op inputs, and the flags that say which they are."""
    present = tuple(t for t in (weight, bias) if t is not None)
    return present, {"has_weight": weight is not None, "has_bias": bias is not None}


def _channel_norm_shape(input: Tensor, name: str) -> tuple[int, int, int]:
    """(N, C, *spatial) -> (N, C, S) with S = prod(spatial)."""
    if input.ndim < 2:
        raise ValueError(f"{name}: expected an input of shape (N, C, *), got {input.shape}")
    return input.shape[0], input.shape[1], math.prod(input.shape[2:])


def normalized_shape_tuple(normalized_shape: int | Sequence[int]) -> tuple[int, ...]:
    """An int or a sequence of ints as a tuple of ints (how torch stores `normalized_shape`)."""
    if isinstance(normalized_shape, numbers.Integral) and not isinstance(normalized_shape, bool):
        return (check_int("normalized_shape", normalized_shape, 0),)
    if not isinstance(normalized_shape, Sequence) or isinstance(normalized_shape, str):
        raise TypeError(
            f"normalized_shape must be an int or a sequence of ints, got {type(normalized_shape).__name__} "
            f"{normalized_shape!r}"
        )
    return tuple(check_int("normalized_shape", n, 0) for n in normalized_shape)


def _row_norm_shape(input: Tensor, normalized_shape: int | Sequence[int], name: str) -> tuple[int, int, int]:
    """(*, D1..Dk) -> (M, D1*..*Dk, 1): one row per leading index, its elements as channels."""
    shape = normalized_shape_tuple(normalized_shape)
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
    _check_batch_norm(input, running_mean, running_var, weight, bias, training, eps)
    return _batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def sync_batch_norm(
    input: Tensor,
    running_mean: Tensor | None,
    running_var: Tensor | None,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """`batch_norm` in training, over the batch that every process's `input` is a share of (SyncBatchNorm; see
    ops/sync_norm.py). Every process must call it, in the same order; shares may differ in N, even be empty."""
    _check_batch_norm(input, running_mean, running_var, weight, bias, True, eps)
    return _batch_norm(input, running_mean, running_var, weight, bias, True, momentum, eps, sync=True)


def _check_batch_norm(input, running_mean, running_var, weight, bias, training, eps) -> None:
    if training and not eps > 0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    if not eps >= 0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    state = {"weight": weight, "bias": bias, "running_mean": running_mean, "running_var": running_var}
    check_input_dtype("batch_norm", input, **state)


def _batch_norm(input, running_mean, running_var, weight, bias, batch_stats, momentum, eps, sync=False) -> Tensor:
    """`batch_norm` without its checks of eps and dtypes (instance_norm makes its own); `batch_stats` is
    torch's `training`: the statistics come from this batch (and update the running ones). `sync`: the batch is
    spread over the processes, so its count is checked, and empty shares are handled, by the op."""
    view = _channel_norm_shape(input, "batch_norm")  # (N, C, S)
    if batch_stats and not sync and view[0] * view[2] == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {list(input.shape)}")
    if not batch_stats and (running_mean is None or running_var is None):
        raise ValueError("batch_norm: running_mean and running_var are needed when training=False")
    for name, buffer in (("running_mean", running_mean), ("running_var", running_var)):
        if buffer is not None and buffer.shape != (view[1],):
            raise ValueError(f"batch_norm: {name} should hold {view[1]} elements, got shape {buffer.shape}")
        if buffer is not None:
            check_same((input, buffer))  # the buffers are updated in place, outside the op's own check
    if batch_stats and not sync and view[0] * view[2] == 0:  # no values: no statistics to fold into the running ones
        running_mean = running_var = None
    affine, flags = _affine_args(weight, bias)
    if sync:
        return SyncBatchNorm.apply(input, *affine, **flags, view=view, eps=eps, running_mean=_data(running_mean),
                                   running_var=_data(running_var), momentum=momentum)
    return BatchNorm.apply(
        input,
        *affine,
        **flags,
        view=view,
        eps=eps,
        batch_stats=batch_stats,
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
    view = _row_norm_shape(input, normalized_shape, "layer_norm")
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
    view = _row_norm_shape(input, normalized_shape, "rms_norm")
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
    view = _channel_norm_shape(input, "group_norm")
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
    N, C, S = _channel_norm_shape(input, "instance_norm")
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
