"""Numba CPU kernels: the functions of ``reference.py``, same signatures and math, parallel over rows or channels.

The derivations are in reference.py's docstring; the names here (mean, rstd, x_hat, dx_hat, term2, term3) are
the same, and the scalar pieces they share with the CUDA kernels are in ``_scalar.py``. Each public function checks
its arguments (``_checks.py``, shared with the other backends), makes the inputs C-contiguous and calls
``njit(parallel=True)`` kernels (``_jit.py``: the cache, the compiler options, thread safety). Every statistic
accumulates in a float64 scalar (a float32 load converts on the fly).

Layouts. A row of a row norm is a (C/G, S) block of x. When S > 1 (GroupNorm, InstanceNorm) a channel is a run
of S positions with one weight, and the loops vectorize along the run. When S == 1 (LayerNorm, RMSNorm, and
BatchNorm1d's (N, C)) the weight changes with every element, and the loops vectorize across channels.

Reductions across rows (the affine gradients of a row norm, the statistics and gradients of BatchNorm1d) are
two-stage: chunks of rows each sum into their own row of a (chunks, C) float64 buffer, then the chunks are summed.
No thread writes where another does, and as the chunks depend on the shape alone, neither do the results on the
thread count.

Dropout hashes each row's counter on its own, so the mask is the same bits for any thread count.
"""

import numpy as np
from numba import prange

from . import _checks
from ._jit import njit
from ._scalar import (
    channel_grad_terms,
    channel_param,
    combine_moments,
    input_grad,
    is_kept,
    keep_threshold,
    splitmix64,
    stats_from_m2,
)
from .cpu_activation import relu_backward, relu_forward  # noqa: F401  (ReLU)
from .cpu_conv import *  # noqa: F403  (convolution: cpu_conv.__all__)
from .cpu_loss import cross_entropy_backward, cross_entropy_forward  # noqa: F401  (cross-entropy)
from .cpu_matmul import matmul  # noqa: F401  (the product, on Numba's threads)
from .cpu_optim import adagrad_step, adam_step, rmsprop_step, sgd_step  # noqa: F401  (optimizer updates)
from .cpu_pool import *  # noqa: F403  (pooling: cpu_pool.__all__)

MAX_CHUNKS = 32  # row chunks of a two-stage reduction: at most this many ...
MIN_CHUNK_ROWS = 32  # ... of at least this many rows; set by the shape alone, so results do not vary with threads

# ---------------------------------------------------------------------------------------------------------------
# small serial helpers, inlined by LLVM into the kernels


@njit()
def _sum(run):
    total = 0.0
    for i in range(run.size):
        total += run[i]
    return total


@njit()
def _sum_sq_dev(run, mean):
    """sum (run - mean)^2, the second pass of the two-pass variance."""
    total = 0.0
    for i in range(run.size):
        dev = run[i] - mean
        total += dev * dev
    return total


@njit()
def _grad_sums(dy, x, mean, rstd):
    """(sum dy, sum dy * x_hat) over a run, x_hat = (x - mean) * rstd (0 and 0 for an empty run, whatever rstd)."""
    sum_dy = 0.0
    sum_dy_xhat = 0.0
    for i in range(x.size):
        sum_dy += dy[i]
        sum_dy_xhat += dy[i] * ((x[i] - mean) * rstd)
    return sum_dy, sum_dy_xhat


@njit()
def _affine_run(x, mean, scale, shift, y):
    """y = (x - mean) * scale + shift over a run; scale = rstd * weight[c], shift = bias[c]."""
    for i in range(x.size):
        y[i] = (x[i] - mean) * scale + shift


@njit()
def _input_grad_run(dy, x, mean, rstd, w, term2, term3, batch_stats, dx):
    """dx over a run of one channel (w, term2, term3 constant)."""
    rstd2_term3 = rstd * rstd * term3
    for i in range(x.size):
        dx[i] = input_grad(dy[i], w, term2, x[i] - mean, rstd, rstd2_term3, batch_stats)


@njit()
def _n_chunks(n_rows):
    return max(1, min(MAX_CHUNKS, n_rows // MIN_CHUNK_ROWS))


@njit()
def _chunk_rows(n_rows, n_chunks, chunk):
    """Row range [start, stop) of chunk ``chunk`` when n_rows rows are split into n_chunks near-equal chunks."""
    return chunk * n_rows // n_chunks, (chunk + 1) * n_rows // n_chunks


@njit()
def _sum_chunks(part, scale, out):
    """Stage 2 of a two-stage reduction: out[c] = scale * sum_k part[k, c]; part (chunks, C)."""
    for c in range(part.shape[1]):
        total = 0.0
        for k in range(part.shape[0]):
            total += part[k, c]
        out[c] = scale * total


# ---------------------------------------------------------------------------------------------------------------
# row norm: LayerNorm, RMSNorm, GroupNorm, InstanceNorm


@njit()
def _row_moments(row, center):
    """mean (0 without centering) and biased variance of a flat row, by two passes."""
    mean = _sum(row) / row.size if center else 0.0
    return mean, _sum_sq_dev(row, mean) / row.size


@njit(parallel=True)
def _row_norm_forward(x, weight, bias, has_weight, has_bias, groups, eps, center, y, mean, rstd):
    """x, y (B*G, C/G, S); weight, bias (C,) or placeholders; mean, rstd (B*G,) float64 out."""
    R, K, S = x.shape
    for r in prange(R):
        c0 = (r % groups) * K  # first channel of the row
        weight_g, bias_g = weight[c0 : c0 + K], bias[c0 : c0 + K]  # slices: k indexes them without wraparound
        row_mean, row_var = _row_moments(x[r].reshape(K * S), center)
        row_rstd = 1.0 / np.sqrt(row_var + eps)
        mean[r] = row_mean
        rstd[r] = row_rstd
        if S == 1:  # weight varies along the row: vectorize across channels
            for k in range(K):
                w = channel_param(weight_g, has_weight, k, 1.0)
                y[r, k, 0] = (x[r, k, 0] - row_mean) * (row_rstd * w) + channel_param(bias_g, has_bias, k, 0.0)
        else:
            for k in range(K):
                w = channel_param(weight_g, has_weight, k, 1.0)
                _affine_run(x[r, k], row_mean, row_rstd * w, channel_param(bias_g, has_bias, k, 0.0), y[r, k])


@njit()
def _row_backward(dy, x, mean, rstd, weight_g, has_weight, center, dx, dweight_part, dbias_part):
    """dx of one row; dy, x, dx (K, S); weight_g, dweight_part, dbias_part (K,): the row's channels.

    Adds this row's sums of dy * x_hat and dy per channel into the chunk's partial sums.
    """
    K, S = x.shape
    n = K * S
    # pass 1: per-channel sums of dy and dy * x_hat; the row sums of dx_hat = dy * w follow from them
    sum_dxhat = 0.0
    sum_dxhat_xhat = 0.0
    if S == 1:
        for k in range(K):
            w = channel_param(weight_g, has_weight, k, 1.0)
            x_hat = (x[k, 0] - mean) * rstd
            dweight_part[k] += dy[k, 0] * x_hat
            dbias_part[k] += dy[k, 0]
            sum_dxhat += dy[k, 0] * w
            sum_dxhat_xhat += dy[k, 0] * w * x_hat
    else:
        for k in range(K):
            w = channel_param(weight_g, has_weight, k, 1.0)
            sum_dy, sum_dy_xhat = _grad_sums(dy[k], x[k], mean, rstd)
            dweight_part[k] += sum_dy_xhat
            dbias_part[k] += sum_dy
            sum_dxhat += w * sum_dy
            sum_dxhat_xhat += w * sum_dy_xhat
    term2 = sum_dxhat / n if center else 0.0  # mean(dx_hat)
    term3 = sum_dxhat_xhat / n  # mean(dx_hat * x_hat)
    # pass 2: dx = rstd * (dx_hat - term2 - x_hat * term3)
    if S == 1:
        rstd2_term3 = rstd * rstd * term3
        for k in range(K):
            w = channel_param(weight_g, has_weight, k, 1.0)
            dx[k, 0] = input_grad(dy[k, 0], w, term2, x[k, 0] - mean, rstd, rstd2_term3, True)
    else:
        for k in range(K):
            w = channel_param(weight_g, has_weight, k, 1.0)
            _input_grad_run(dy[k], x[k], mean, rstd, w, term2, term3, True, dx[k])


@njit(parallel=True)
def _row_norm_backward(dy, x, mean, rstd, weight, has_weight, groups, center, dx, dweight, dbias):
    """dy, x, dx (B*G, C/G, S); mean, rstd (B*G,); dweight, dbias (C,) float64 out.

    Stage 1: task (chunk, g) owns the rows b*G + g of its chunk of b, and group g's columns of the partial sums.
    """
    R, K, S = x.shape
    n_chunks = _n_chunks(R // groups)
    dweight_part = np.empty((n_chunks, K * groups))
    dbias_part = np.empty((n_chunks, K * groups))
    for task in prange(n_chunks * groups):
        chunk, g = task // groups, task % groups
        c0 = g * K
        weight_g = weight[c0 : c0 + K]
        dweight_row = dweight_part[chunk, c0 : c0 + K]
        dbias_row = dbias_part[chunk, c0 : c0 + K]
        dweight_row[:] = 0.0
        dbias_row[:] = 0.0
        start, stop = _chunk_rows(R // groups, n_chunks, chunk)
        for b in range(start, stop):
            r = b * groups + g
            _row_backward(dy[r], x[r], mean[r], rstd[r], weight_g, has_weight, center, dx[r], dweight_row, dbias_row)
    _sum_chunks(dweight_part, 1.0, dweight)
    _sum_chunks(dbias_part, 1.0, dbias)


# ---------------------------------------------------------------------------------------------------------------
# channel norm, S > 1 (BatchNorm2d/3d): one task per channel, its N runs of S positions


@njit()
def _channel_grad_sums(dy, x, c, mean, rstd):
    """(sum dy, sum dy * x_hat) over the runs of channel c; dy, x (N, C, S). The runs are taken as ``x[n, c]`` of
    the C-contiguous arrays, so Numba knows them contiguous and vectorizes (``x[:, c]`` would lose that)."""
    sum_dy = 0.0
    sum_dy_xhat = 0.0
    for n in range(x.shape[0]):
        run_dy, run_dy_xhat = _grad_sums(dy[n, c], x[n, c], mean, rstd)
        sum_dy += run_dy
        sum_dy_xhat += run_dy_xhat
    return sum_dy, sum_dy_xhat


@njit()
def _channel_input_grad(dy, x, c, mean, rstd, w, sum_dy, sum_dy_xhat, count, batch_stats, dx):
    """dx over the runs of channel c from its sums of dy and dy * x_hat over ``count`` elements; dy, x, dx
    (N, C, S)."""
    term2, term3 = channel_grad_terms(w, sum_dy, sum_dy_xhat, count)
    for n in range(x.shape[0]):
        _input_grad_run(dy[n, c], x[n, c], mean, rstd, w, term2, term3, batch_stats, dx[n, c])


@njit(parallel=True)
def _channel_moments_runs(x, mean, m2):
    """x (N, C, S) -> mean, m2 = sum (x - mean)^2 (C,) by two passes per channel."""
    N, C, S = x.shape
    for c in prange(C):
        total = 0.0
        for n in range(N):
            total += _sum(x[n, c])
        ch_mean = total / (N * S)
        sq_dev = 0.0
        for n in range(N):
            sq_dev += _sum_sq_dev(x[n, c], ch_mean)
        mean[c] = ch_mean
        m2[c] = sq_dev


@njit(parallel=True)
def _channel_apply_runs(x, mean, rstd, weight, bias, has_weight, has_bias, y):
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c]; x, y (N, C, S)."""
    N, C, S = x.shape
    for task in prange(N * C):
        n, c = task // C, task % C
        scale = rstd[c] * channel_param(weight, has_weight, c, 1.0)
        _affine_run(x[n, c], mean[c], scale, channel_param(bias, has_bias, c, 0.0), y[n, c])


@njit(parallel=True)
def _channel_backward_runs(dy, x, mean, rstd, weight, has_weight, batch_stats, dx, dweight, dbias):
    """dy, x, dx (N, C, S); dweight, dbias (C,) float64 out. Both passes of a channel in one task, so its second
    pass finds the channel's runs still in cache."""
    N, C, S = x.shape
    for c in prange(C):
        sum_dy, sum_dy_xhat = _channel_grad_sums(dy, x, c, mean[c], rstd[c])
        dweight[c] = sum_dy_xhat
        dbias[c] = sum_dy
        w = channel_param(weight, has_weight, c, 1.0)
        _channel_input_grad(dy, x, c, mean[c], rstd[c], w, sum_dy, sum_dy_xhat, N * S, batch_stats, dx)


@njit(parallel=True)
def _channel_grad_sums_runs(dy, x, mean, rstd, sum_dy, sum_dy_xhat):
    """dy, x (N, C, S) -> sum_dy, sum_dy_xhat (C,) float64."""
    for c in prange(x.shape[1]):
        sum_dy[c], sum_dy_xhat[c] = _channel_grad_sums(dy, x, c, mean[c], rstd[c])


@njit(parallel=True)
def _channel_input_grad_runs(dy, x, mean, rstd, weight, has_weight, sum_dy, sum_dy_xhat, count, dx):
    """dy, x, dx (N, C, S): dx from given sums over ``count`` elements per channel."""
    for c in prange(x.shape[1]):
        w = channel_param(weight, has_weight, c, 1.0)
        _channel_input_grad(dy, x, c, mean[c], rstd[c], w, sum_dy[c], sum_dy_xhat[c], count, True, dx)


# ---------------------------------------------------------------------------------------------------------------
# channel norm, S == 1 (BatchNorm1d on (N, C)): a channel is a column; chunks of rows sum into partial rows


@njit(parallel=True)
def _column_moments(x, mean, m2):
    """x (N, C) -> mean, m2 = sum (x - mean)^2 (C,): two passes, each a two-stage column reduction."""
    N, C = x.shape
    n_chunks = _n_chunks(N)
    sum_part = np.empty((n_chunks, C))  # per chunk: sum x
    sq_dev_part = np.empty((n_chunks, C))  # per chunk: sum (x - mean)^2
    for chunk in prange(n_chunks):
        start, stop = _chunk_rows(N, n_chunks, chunk)
        sum_part[chunk] = 0.0
        for n in range(start, stop):
            for c in range(C):
                sum_part[chunk, c] += x[n, c]
    _sum_chunks(sum_part, 1.0 / N, mean)
    for chunk in prange(n_chunks):
        start, stop = _chunk_rows(N, n_chunks, chunk)
        sq_dev_part[chunk] = 0.0
        for n in range(start, stop):
            for c in range(C):
                dev = x[n, c] - mean[c]
                sq_dev_part[chunk, c] += dev * dev
    _sum_chunks(sq_dev_part, 1.0, m2)


@njit(parallel=True)
def _column_apply(x, mean, rstd, weight, bias, has_weight, has_bias, y):
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c]; x, y (N, C)."""
    N, C = x.shape
    for n in prange(N):
        for c in range(C):
            scale = rstd[c] * channel_param(weight, has_weight, c, 1.0)
            y[n, c] = (x[n, c] - mean[c]) * scale + channel_param(bias, has_bias, c, 0.0)


@njit(parallel=True)
def _column_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat):
    """dy, x (N, C) -> sum_dy, sum_dy_xhat (C,) float64, a two-stage column reduction."""
    N, C = x.shape
    n_chunks = _n_chunks(N)
    sum_dy_part = np.empty((n_chunks, C))
    sum_dy_xhat_part = np.empty((n_chunks, C))
    for chunk in prange(n_chunks):
        start, stop = _chunk_rows(N, n_chunks, chunk)
        sum_dy_part[chunk] = 0.0
        sum_dy_xhat_part[chunk] = 0.0
        for n in range(start, stop):
            for c in range(C):
                sum_dy_xhat_part[chunk, c] += dy[n, c] * ((x[n, c] - mean[c]) * rstd[c])
                sum_dy_part[chunk, c] += dy[n, c]
    _sum_chunks(sum_dy_part, 1.0, sum_dy)
    _sum_chunks(sum_dy_xhat_part, 1.0, sum_dy_xhat)


@njit(parallel=True)
def _column_input_grad(dy, x, mean, rstd, weight, has_weight, sum_dy, sum_dy_xhat, count, batch_stats, dx):
    """dy, x, dx (N, C): dx from the sums of dy and dy * x_hat over ``count`` elements per channel."""
    N, C = x.shape
    w, term2, rstd2_term3 = np.empty(C), np.empty(C), np.empty(C)  # per channel
    for c in range(C):
        w[c] = channel_param(weight, has_weight, c, 1.0)
        term2[c], term3 = channel_grad_terms(w[c], sum_dy[c], sum_dy_xhat[c], count)
        rstd2_term3[c] = rstd[c] * rstd[c] * term3
    for n in prange(N):
        for c in range(C):
            x_centered = x[n, c] - mean[c]
            dx[n, c] = input_grad(dy[n, c], w[c], term2[c], x_centered, rstd[c], rstd2_term3[c], batch_stats)


# ---------------------------------------------------------------------------------------------------------------
# channel statistics from moments, and the moments of several shares combined (SyncBatchNorm)


@njit()
def _channel_stats(count, m2, eps, rstd, var_unbiased):
    """rstd, var_unbiased (C,) of channels of ``count`` elements with squared deviations m2 (C,)."""
    for c in range(m2.size):
        rstd[c], var_unbiased[c] = stats_from_m2(count, m2[c], eps)


@njit()
def _update_running(running, momentum, batch_stat):
    for c in range(running.size):
        running[c] = momentum * batch_stat[c] + (1.0 - momentum) * np.float64(running[c])


@njit()
def _combine_shares(counts, means, m2s, eps, mean, rstd, var_unbiased):
    """counts (P,), means, m2s (P, C) -> mean, rstd, var_unbiased (C,), the shares combined in order."""
    P, C = means.shape
    for c in range(C):
        count, ch_mean, ch_m2 = 0.0, np.nan, 0.0
        for p in range(P):
            count, ch_mean, ch_m2 = combine_moments(count, ch_mean, ch_m2, counts[p], means[p, c], m2s[p, c])
        mean[c] = ch_mean
        rstd[c], var_unbiased[c] = stats_from_m2(count, ch_m2, eps)


# ---------------------------------------------------------------------------------------------------------------
# dropout: splitmix64 counter hash (_scalar.py), one draw per row


@njit(parallel=True)
def _dropout_elements(x, threshold, scale, seed, offset, y):
    """x, y (R,), one draw per element: y = x * scale where kept, else 0. A flat loop, so the hash vectorizes.

    x is loaded whether kept or not: a load inside the condition becomes a branch on a random bit (~3x slower).
    """
    for r in prange(x.size):
        scaled = x[r] * scale
        y[r] = scaled if is_kept(splitmix64(seed, offset + np.uint64(r)), threshold) else 0.0


@njit(parallel=True)
def _dropout_rows(x, threshold, scale, seed, offset, y):
    """x, y (R, S), one draw per row: y = x * scale in kept rows, 0 in dropped rows."""
    R, S = x.shape
    for r in prange(R):
        keep = is_kept(splitmix64(seed, offset + np.uint64(r)), threshold)
        for s in range(S):
            y[r, s] = x[r, s] * scale if keep else 0.0


@njit(parallel=True)
def _dropout_mask(threshold, seed, offset, mask):
    for r in prange(mask.size):
        mask[r] = is_kept(splitmix64(seed, offset + np.uint64(r)), threshold)


# ---------------------------------------------------------------------------------------------------------------
# public API: check the arguments (_checks.py), make the inputs contiguous, dispatch

_PLACEHOLDER = {np.dtype(np.float32): np.zeros(1, np.float32), np.dtype(np.float64): np.zeros(1, np.float64)}


def _optional(a, dtype):
    """(array, present) for an optional weight/bias: C-contiguous, or a 1-element placeholder when absent."""
    return (_PLACEHOLDER[np.dtype(dtype)], False) if a is None else (np.ascontiguousarray(a), True)


def _as_rows(a, groups):
    """(B, C, S) -> (B*G, C/G, S): one row per (b, g); a view of a C-contiguous array."""
    B, C, S = a.shape
    return a.reshape(B * groups, C // groups, S)


def _as_columns(a):
    """(N, C, 1) -> (N, C): the layout of the column kernels; a view."""
    return a.reshape(a.shape[:2])


def _flat(a):
    """Given statistics (mean, rstd) C-contiguous and flattened, one per row or channel."""
    return np.ascontiguousarray(a).reshape(-1)


def _copy_affine_grads(dweight64, dbias64, dweight, dbias):
    """Rounds the kernels' float64 weight gradients into the caller's outputs, where given."""
    if dweight is not None:
        dweight[...] = dweight64
    if dbias is not None:
        dbias[...] = dbias64


def row_norm_forward(x, weight, bias, groups: int, eps: float, center: bool, y, mean, rstd) -> None:
    """x (B, C, S) -> y (B, C, S); mean, rstd (B, groups) float64 saved for the backward."""
    _checks.row_norm_forward(x, weight, bias, groups, eps, center, y, mean, rstd)
    x, groups = np.ascontiguousarray(x), int(groups)
    weight, has_weight = _optional(weight, x.dtype)
    bias, has_bias = _optional(bias, x.dtype)
    _row_norm_forward(_as_rows(x, groups), weight, bias, has_weight, has_bias, groups, float(eps), bool(center),
                      _as_rows(y, groups), mean.reshape(-1), rstd.reshape(-1))


def row_norm_backward(dy, x, mean, rstd, weight, groups: int, center: bool, dx, dweight, dbias) -> None:
    """dy, x (B, C, S), saved mean, rstd (B, groups) -> dx (B, C, S); dweight, dbias (C,) or None."""
    _checks.row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias)
    x, dy, groups = np.ascontiguousarray(x), np.ascontiguousarray(dy), int(groups)
    weight, has_weight = _optional(weight, x.dtype)
    C = x.shape[1]
    dweight64, dbias64 = np.empty(C), np.empty(C)
    _row_norm_backward(_as_rows(dy, groups), _as_rows(x, groups), _flat(mean), _flat(rstd), weight, has_weight,
                       groups, bool(center), _as_rows(dx, groups), dweight64, dbias64)
    _copy_affine_grads(dweight64, dbias64, dweight, dbias)


def _moments(x, mean, m2):
    """Per-channel mean and M2 of a C-contiguous x (N, C, S), by layout."""
    if x.shape[2] == 1:
        _column_moments(_as_columns(x), mean, m2)
    else:
        _channel_moments_runs(x, mean, m2)


def channel_norm_forward(x, weight, bias, eps: float, y, mean, rstd, var_unbiased) -> None:
    """x (N, C, S) -> y (N, C, S); batch statistics mean, rstd, var_unbiased (C,) float64."""
    _checks.channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased)
    x = np.ascontiguousarray(x)
    m2 = np.empty(x.shape[1])
    _moments(x, mean, m2)
    _channel_stats(x.shape[0] * x.shape[2], m2, float(eps), rstd, var_unbiased)
    _apply(x, mean, rstd, weight, bias, y)


def update_running_stats(running_mean, running_var, momentum: float, mean, var_unbiased) -> None:
    """running = momentum * batch_stat + (1 - momentum) * running in float64, rounded once (reference.py), in place:
    one compiled loop per buffer instead of numpy's four passes and temporaries."""
    _checks.update_running_stats(running_mean, running_var, momentum, mean, var_unbiased)
    _update_running(running_mean, float(momentum), _flat(mean))
    _update_running(running_var, float(momentum), _flat(var_unbiased))


def channel_norm_apply(x, mean, rstd, weight, bias, y) -> None:
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] with given statistics mean, rstd (C,) float64."""
    _checks.channel_norm_apply(x, mean, rstd, weight, bias, y)
    _apply(np.ascontiguousarray(x), _flat(mean), _flat(rstd), weight, bias, y)


def _apply(x, mean, rstd, weight, bias, y):
    """channel_norm_apply on checked arguments: x C-contiguous, mean and rstd flat."""
    weight, has_weight = _optional(weight, x.dtype)
    bias, has_bias = _optional(bias, x.dtype)
    if x.shape[2] == 1:
        _column_apply(_as_columns(x), mean, rstd, weight, bias, has_weight, has_bias, _as_columns(y))
    else:
        _channel_apply_runs(x, mean, rstd, weight, bias, has_weight, has_bias, y)


def channel_norm_backward(dy, x, mean, rstd, weight, batch_stats: bool, dx, dweight, dbias) -> None:
    """dy, x (N, C, S) -> dx (N, C, S); dweight, dbias (C,) or None. Full VJP when batch_stats is True."""
    _checks.channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias)
    x, dy, mean, rstd = np.ascontiguousarray(x), np.ascontiguousarray(dy), _flat(mean), _flat(rstd)
    weight, has_weight = _optional(weight, x.dtype)
    C = x.shape[1]
    dweight64, dbias64 = np.empty(C), np.empty(C)
    if x.shape[2] == 1:
        dy_columns, x_columns = _as_columns(dy), _as_columns(x)
        _column_grad_sums(dy_columns, x_columns, mean, rstd, dbias64, dweight64)
        _column_input_grad(dy_columns, x_columns, mean, rstd, weight, has_weight, dbias64, dweight64, x.shape[0],
                           bool(batch_stats), _as_columns(dx))
    else:
        _channel_backward_runs(dy, x, mean, rstd, weight, has_weight, bool(batch_stats), dx, dweight64, dbias64)
    _copy_affine_grads(dweight64, dbias64, dweight, dbias)


def channel_norm_moments(x, mean, m2) -> None:
    """x (N, C, S) -> this share's per-channel mean and M2 = sum (x - mean)^2 (C,) float64."""
    _checks.channel_norm_moments(x, mean, m2)
    _moments(np.ascontiguousarray(x), mean, m2)


def channel_norm_combine(counts, means, m2s, eps: float, mean, rstd, var_unbiased) -> None:
    """Per-share counts (P,) and means, M2 (P, C) float64 -> the batch's mean, rstd, var_unbiased (C,) float64."""
    _checks.channel_norm_combine(counts, means, m2s, eps, mean, rstd, var_unbiased)
    counts, means, m2s = (np.ascontiguousarray(a) for a in (counts, means, m2s))
    _combine_shares(counts, means, m2s, float(eps), mean, rstd, var_unbiased)


def channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat) -> None:
    """dy, x (N, C, S) and the batch's mean, rstd -> this share's sums of dy and dy * x_hat (C,) float64."""
    _checks.channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat)
    x, dy, mean, rstd = np.ascontiguousarray(x), np.ascontiguousarray(dy), _flat(mean), _flat(rstd)
    if x.shape[2] == 1:
        _column_grad_sums(_as_columns(dy), _as_columns(x), mean, rstd, sum_dy, sum_dy_xhat)
    else:
        _channel_grad_sums_runs(dy, x, mean, rstd, sum_dy, sum_dy_xhat)


def channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx) -> None:
    """dy, x (N, C, S) -> dx (N, C, S) from the batch's statistics and its sums of dy and dy * x_hat (C,) over
    ``count`` elements per channel."""
    _checks.channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx)
    x, dy = np.ascontiguousarray(x), np.ascontiguousarray(dy)
    mean, rstd, sum_dy, sum_dy_xhat = (_flat(a) for a in (mean, rstd, sum_dy, sum_dy_xhat))
    weight, has_weight = _optional(weight, x.dtype)
    if x.shape[2] == 1:
        _column_input_grad(_as_columns(dy), _as_columns(x), mean, rstd, weight, has_weight, sum_dy, sum_dy_xhat,
                           float(count), True, _as_columns(dx))
    else:
        _channel_input_grad_runs(dy, x, mean, rstd, weight, has_weight, sum_dy, sum_dy_xhat, float(count), dx)


def _masked_scale(x, p, seed, offset, y):
    """y = x * keep[r] / (1 - p), the dropout forward and backward alike; x, y (R, S)."""
    x = np.ascontiguousarray(x)
    threshold, seed, offset = keep_threshold(p), np.uint64(seed), np.uint64(offset)
    scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
    if x.shape[1] == 1:
        _dropout_elements(x.reshape(-1), threshold, scale, seed, offset, y.reshape(-1))
    else:
        _dropout_rows(x, threshold, scale, seed, offset, y)


def dropout_forward(x, p: float, seed: int, offset: int, y) -> None:
    """x (R, S) -> y (R, S): each row kept with probability 1 - p and scaled by 1 / (1 - p), else 0."""
    _masked_scale(x, *_checks.dropout("x", x, p, seed, offset, "y", y), y)


def dropout_backward(dy, p: float, seed: int, offset: int, dx) -> None:
    """dy (R, S) -> dx (R, S) through the forward's mask, regenerated from (seed, offset)."""
    _masked_scale(dy, *_checks.dropout("dy", dy, p, seed, offset, "dx", dx), dx)


def dropout_mask(p: float, seed: int, offset: int, mask) -> None:
    """mask (R,) uint8 out: 1 where row r is kept, 0 where dropped."""
    p, seed, offset = _checks.dropout_mask(p, seed, offset, mask)
    _dropout_mask(keep_threshold(p), np.uint64(seed), np.uint64(offset), mask)
