"""Reference kernels in plain numpy: the specification the ``cpu`` and ``cuda`` backends are tested against.

Written for clarity, not speed; the arguments are checked as on every backend (``_checks.py``). Every statistic
and reduction is computed in float64; outputs are rounded once, on assignment, to the dtype of the caller's array.

Normalization (one derivation serves every norm)
------------------------------------------------
A norm normalizes ``x`` over a set R of n elements (a row of a row norm, a channel of BatchNorm)::

    mean  = (1/n) sum_R x                    (mean = 0 when center is False: RMSNorm)
    var   = (1/n) sum_R (x - mean)^2         (biased)
    rstd  = 1 / sqrt(var + eps)
    x_hat = (x - mean) * rstd
    y     = x_hat * weight[c] + bias[c]      (affine per channel c; weight = 1, bias = 0 when absent)

The vector-Jacobian product. Given dy = dL/dy, the affine step gives::

    dx_hat   = dy * weight[c]
    dweight  = sum_{elements of channel c} dy * x_hat
    dbias    = sum_{elements of channel c} dy

Within R, d x_hat_i / d x_j = rstd * (delta_ij - 1/n - x_hat_i * x_hat_j / n), since
d mean / d x_j = 1/n and d rstd / d x_j = -rstd^3 (x_j - mean) / n = -rstd^2 x_hat_j / n. Hence::

    dx = rstd * (dx_hat - mean_R(dx_hat) - x_hat * mean_R(dx_hat * x_hat))
              term 1     term 2            term 3

Without centering (mean fixed at 0) term 2 drops out: dx = rstd * (dx_hat - x_hat * mean_R(dx_hat * x_hat)).
When the statistics are constants (BatchNorm in eval mode with running statistics) terms 2 and 3 drop out:
dx = rstd * dx_hat. Note rstd multiplies, it does not divide, and the bias gradient sums dy, not dy * x_hat.

Row norms (LayerNorm, RMSNorm, GroupNorm, InstanceNorm) take x as (B, C, S) and normalize each of the B * groups
rows ``x[b, g*C/G:(g+1)*C/G, :]``. BatchNorm takes x as (N, C, S) and normalizes each channel over N and S.

BatchNorm over several processes (SyncBatchNorm), each holding a share of the batch, splits both passes in two.
Forward: each share's count, mean and M2 = sum (x - mean)^2 per channel (``channel_norm_moments``) are combined
into the batch's statistics by Chan et al.'s formula (``channel_norm_combine``), and every share is normalized with
them (``channel_norm_apply``). Backward: terms 2 and 3 are means over the whole batch, so each share sums dy and
dy * x_hat per channel (``channel_norm_grad_sums``), the sums are added across processes, and each share takes
dx = rstd * (dx_hat - weight * sum(dy) / n - x_hat * weight * sum(dy * x_hat) / n) from the totals
(``channel_norm_input_grad``), n being the batch's count per channel.

Dropout
-------
Row r of x (R, S) is kept when u_r >= p, u_r being the splitmix64 output number ``offset + r`` of a generator
seeded with ``seed``, mapped to [0, 1) by its top 53 bits (``_scalar.py``: ``splitmix64``, and ``is_kept``, which
compares as integers). With keep_prob = 1 - p::

    y  = x * keep_r / keep_prob              (a dropped element is exactly 0, whatever x holds)
    dx = dy * keep_r / keep_prob             (the same mask, regenerated from (seed, offset))

The product x * (1 / keep_prob) is formed in float64 and rounded once, so every backend gets the same bits.
"""

import numpy as np

from . import _checks, _scalar
from .reference_activation import relu_backward, relu_forward  # noqa: F401  (ReLU)
from .reference_conv import *  # noqa: F403  (convolution and pooling: reference_conv.__all__)
from .reference_loss import cross_entropy_backward, cross_entropy_forward  # noqa: F401  (cross-entropy)
from .reference_matmul import matmul  # noqa: F401  (the product)
from .reference_optim import adagrad_step, adam_step, rmsprop_step, sgd_step  # noqa: F401  (optimizer updates)

# ---------------------------------------------------------------------------------------------------------------
# shared pieces


def _affine(x_hat, weight, bias, channel_axis):
    """y = x_hat * weight[c] + bias[c], with weight/bias broadcast along ``channel_axis`` of x_hat."""
    shape = [1] * x_hat.ndim
    shape[channel_axis] = -1
    y = x_hat
    if weight is not None:
        y = y * weight.astype(np.float64).reshape(shape)
    if bias is not None:
        y = y + bias.astype(np.float64).reshape(shape)
    return y


def _normalize(x, axes, eps, center):
    """Returns mean, var, rstd (dims kept) and x_hat, normalizing float64 x over ``axes``."""
    mean = x.mean(axis=axes, keepdims=True)
    if not center:
        mean = np.zeros_like(mean)
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
    rstd = 1.0 / np.sqrt(var + eps)
    return mean, var, rstd, (x - mean) * rstd


def _normalize_vjp(dx_hat, x_hat, rstd, axes, center):
    """dx = rstd * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), the means taken over ``axes``."""
    term1 = dx_hat
    term2 = dx_hat.mean(axis=axes, keepdims=True) if center else 0.0
    term3 = x_hat * (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    return rstd * (term1 - term2 - term3)


def _affine_vjp(dy, x_hat, weight, channel_axis, dweight, dbias):
    """Fills dweight = sum dy * x_hat and dbias = sum dy per channel (when given); returns dx_hat = dy * weight."""
    other_axes = tuple(a for a in range(dy.ndim) if a != channel_axis)
    if dweight is not None:
        dweight[...] = (dy * x_hat).sum(axis=other_axes)
    if dbias is not None:
        dbias[...] = dy.sum(axis=other_axes)
    return _affine(dy, weight, None, channel_axis)


# ---------------------------------------------------------------------------------------------------------------
# row norm: LayerNorm, RMSNorm, GroupNorm, InstanceNorm


def _rows(x, groups):
    """(B, C, S) -> float64 (B, G, C/G, S): row (b, g) is [b, g] and the channel is axes 1-2 flattened."""
    B, C, S = x.shape
    return x.astype(np.float64).reshape(B, groups, C // groups, S)


def row_norm_forward(x, weight, bias, groups, eps, center, y, mean, rstd):
    """x (B, C, S) -> y (B, C, S); saves mean, rstd (B, groups) float64 for the backward."""
    _checks.row_norm_forward(x, weight, bias, groups, eps, center, y, mean, rstd)
    B, C, S = x.shape
    row_mean, _, row_rstd, x_hat = _normalize(_rows(x, groups), (2, 3), eps, center)  # stats (B, G, 1, 1)
    y[...] = _affine(x_hat.reshape(B, C, S), weight, bias, channel_axis=1)
    mean[...] = row_mean.reshape(B, groups)
    rstd[...] = row_rstd.reshape(B, groups)


def row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias):
    """dy, x (B, C, S), saved mean, rstd (B, groups) -> dx (B, C, S), dweight, dbias (C,) (each may be None)."""
    _checks.row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias)
    B, C, S = x.shape
    row_rstd = rstd.reshape(B, groups, 1, 1)
    x_hat = ((_rows(x, groups) - mean.reshape(B, groups, 1, 1)) * row_rstd).reshape(B, C, S)
    dx_hat = _affine_vjp(dy.astype(np.float64), x_hat, weight, 1, dweight, dbias)
    as_rows = (B, groups, C // groups, S)
    dx_rows = _normalize_vjp(dx_hat.reshape(as_rows), x_hat.reshape(as_rows), row_rstd, (2, 3), center)
    dx[...] = dx_rows.reshape(B, C, S)


# ---------------------------------------------------------------------------------------------------------------
# channel norm: BatchNorm (statistics per channel over N and S)


def channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased):
    """x (N, C, S) -> y (N, C, S); batch statistics mean, rstd, var_unbiased (C,) float64."""
    _checks.channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased)
    N, C, S = x.shape
    count = N * S
    ch_mean, ch_var, ch_rstd, x_hat = _normalize(x.astype(np.float64), (0, 2), eps, center=True)  # stats (1, C, 1)
    y[...] = _affine(x_hat, weight, bias, channel_axis=1)
    mean[...] = ch_mean.reshape(C)
    rstd[...] = ch_rstd.reshape(C)
    var_unbiased[...] = ch_var.reshape(C) * count / (count - 1) if count > 1 else np.nan


def channel_norm_apply(x, mean, rstd, weight, bias, y):
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] with given statistics mean, rstd (C,)."""
    _checks.channel_norm_apply(x, mean, rstd, weight, bias, y)
    x_hat = (x.astype(np.float64) - mean.reshape(1, -1, 1)) * rstd.reshape(1, -1, 1)
    y[...] = _affine(x_hat, weight, bias, channel_axis=1)


def channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias):
    """dy, x (N, C, S) -> dx (N, C, S), dweight, dbias (C,); full VJP when the statistics came from this batch."""
    _checks.channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias)
    ch_rstd = rstd.reshape(1, -1, 1)
    x_hat = (x.astype(np.float64) - mean.reshape(1, -1, 1)) * ch_rstd
    dx_hat = _affine_vjp(dy.astype(np.float64), x_hat, weight, 1, dweight, dbias)
    dx[...] = _normalize_vjp(dx_hat, x_hat, ch_rstd, (0, 2), center=True) if batch_stats else ch_rstd * dx_hat


def update_running_stats(running_mean, running_var, momentum, mean, var_unbiased):
    """running = momentum * batch_stat + (1 - momentum) * running, in float64 and rounded once to the buffers'
    dtype (as torch's CPU kernel), for the running mean and the running (unbiased) variance (C,). Array code only,
    so CuPy arrays run it too."""
    _checks.update_running_stats(running_mean, running_var, momentum, mean, var_unbiased)
    for running, batch_stat in ((running_mean, mean), (running_var, var_unbiased)):
        running[...] = momentum * batch_stat + (1 - momentum) * running.astype(np.float64)


# ---------------------------------------------------------------------------------------------------------------
# channel norm over several processes (SyncBatchNorm): each process holds a share of the batch


def channel_norm_moments(x, mean, m2):
    """x (N, C, S) -> this share's per-channel mean and M2 = sum (x - mean)^2 (C,) float64."""
    _checks.channel_norm_moments(x, mean, m2)
    x64 = x.astype(np.float64)
    mean[...] = x64.mean(axis=(0, 2))
    m2[...] = ((x64 - mean.reshape(1, -1, 1)) ** 2).sum(axis=(0, 2))


def channel_norm_combine(counts, means, m2s, eps, mean, rstd, var_unbiased):
    """Per-share counts (P,) and means, M2 (P, C) -> the whole batch's mean, rstd, var_unbiased (C,) float64.

    The shares are combined in order by Chan et al.'s formula (``_scalar.combine_moments``), which adds no
    cancellation; empty shares count for nothing.
    """
    _checks.channel_norm_combine(counts, means, m2s, eps, mean, rstd, var_unbiased)
    count, total_mean, total_m2 = 0.0, np.full(means.shape[1], np.nan), np.zeros(means.shape[1])
    for share_count, share_mean, share_m2 in zip(counts, means, m2s):
        count, total_mean, total_m2 = _scalar.combine_moments.py_func(count, total_mean, total_m2, share_count,
                                                                       share_mean, share_m2)
    mean[...] = total_mean
    rstd[...] = 1.0 / np.sqrt(total_m2 / count + eps)
    var_unbiased[...] = total_m2 / (count - 1) if count > 1 else np.nan


def channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat):
    """dy, x (N, C, S) and the whole batch's mean, rstd -> this share's sums of dy and dy * x_hat (C,) float64."""
    _checks.channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat)
    x_hat = (x.astype(np.float64) - mean.reshape(1, -1, 1)) * rstd.reshape(1, -1, 1)
    _affine_vjp(dy.astype(np.float64), x_hat, None, 1, sum_dy_xhat, sum_dy)


def channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx):
    """dx (N, C, S) of this share, from the whole batch's statistics and its sums of dy and dy * x_hat over
    ``count`` elements per channel: dx = rstd * (dx_hat - w * sum_dy / count - x_hat * w * sum_dy_xhat / count)."""
    _checks.channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx)
    ch_rstd = rstd.reshape(1, -1, 1)
    x_hat = (x.astype(np.float64) - mean.reshape(1, -1, 1)) * ch_rstd
    w = np.ones(x.shape[1]) if weight is None else weight.astype(np.float64)
    term2 = (w * sum_dy / count).reshape(1, -1, 1)
    term3 = (w * sum_dy_xhat / count).reshape(1, -1, 1)
    dx[...] = ch_rstd * (_affine(dy.astype(np.float64), weight, None, 1) - term2 - x_hat * term3)


# ---------------------------------------------------------------------------------------------------------------
# dropout: splitmix64 counter hash, one draw per row (the draw and the keep test are _scalar.py's, run on arrays)


def _keep(p, seed, offset, rows):
    """keep (rows,) bool: u >= p with u the top 53 bits of the draw offset + r, as a float in [0, 1)."""
    counters = np.uint64(offset) + np.arange(rows, dtype=np.uint64)
    draws = _scalar.splitmix64.py_func(np.uint64(seed), counters)
    return _scalar.is_kept.py_func(draws, _scalar.keep_threshold(p))


def _apply_mask(x, p, seed, offset, y):
    """y = x * keep[r] / (1 - p) for x (R, S); dropped elements are exactly 0."""
    keep = _keep(p, seed, offset, x.shape[0])  # (R,)
    kept = np.zeros(x.shape)
    if keep.any():  # none is kept when p == 1, where 1 / (1 - p) is undefined
        kept[keep] = x[keep].astype(np.float64) * (1.0 / (1.0 - p))
    y[...] = kept


def dropout_forward(x, p, seed, offset, y):
    """x (R, S) -> y (R, S): rows dropped with probability p, kept rows scaled by 1 / (1 - p)."""
    _apply_mask(x, *_checks.dropout("x", x, p, seed, offset, "y", y), y)


def dropout_backward(dy, p, seed, offset, dx):
    """dy (R, S) -> dx (R, S): the forward's mask, regenerated from (seed, offset)."""
    _apply_mask(dy, *_checks.dropout("dy", dy, p, seed, offset, "dx", dx), dx)


def dropout_mask(p, seed, offset, mask):
    """mask (R,) uint8 out: 1 where row r is kept, 0 where dropped."""
    p, seed, offset = _checks.dropout_mask(p, seed, offset, mask)
    mask[...] = _keep(p, seed, offset, mask.shape[0])
