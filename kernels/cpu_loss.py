"""Numba CPU cross-entropy: the functions of ``reference_loss.py`` (whose docstring derives the math), same
signatures. One task per row: the forward reads the row once for its maximum and once for its log-sum-exp and the
loss; the backward reads it once more and writes the gradient. Sums accumulate in float64 scalars."""

import numpy as np
from numba import prange

from ._jit import njit
from .reference_loss import check_cross_entropy

__all__ = ["cross_entropy_backward", "cross_entropy_forward"]


@njit()
def _row_lse(z):
    """log sum_c exp(z_c), with the maximum taken out first."""
    top = np.float64(z[0])
    for c in range(1, z.size):
        top = max(top, np.float64(z[c]))
    total = 0.0
    for c in range(z.size):
        total += np.exp(np.float64(z[c]) - top)
    return top + np.log(total)


@njit(parallel=True)
def _forward(logits, target, weight, has_weight, ignore_index, smoothing, loss, lse):
    M, C = logits.shape
    for m in prange(M):
        z = logits[m]
        row_lse = _row_lse(z)
        lse[m] = row_lse
        t = target[m]
        if t == ignore_index:
            loss[m] = 0.0
            continue
        w_t = weight[t] if has_weight else 1.0
        value = (1.0 - smoothing) * w_t * (row_lse - z[t])
        if smoothing != 0.0:
            sum_w = 0.0
            sum_wz = 0.0
            for c in range(C):
                w_c = weight[c] if has_weight else 1.0
                sum_w += w_c
                sum_wz += w_c * z[c]
            value += smoothing / C * (sum_w * row_lse - sum_wz)
        loss[m] = value


@njit(parallel=True)
def _backward(dloss, logits, target, weight, has_weight, ignore_index, smoothing, lse, dlogits):
    M, C = logits.shape
    sum_w = 0.0
    for c in range(C):
        sum_w += weight[c] if has_weight else 1.0
    for m in prange(M):
        t = target[m]
        dz = dlogits[m]
        if t == ignore_index:
            dz[:] = 0.0
            continue
        z = logits[m]
        g = np.float64(dloss[m])
        target_share = g * (1.0 - smoothing) * (weight[t] if has_weight else 1.0)
        smooth_share = g * (smoothing / C)
        p_share = target_share + smooth_share * sum_w
        for c in range(C):
            w_c = weight[c] if has_weight else 1.0
            dz[c] = np.exp(z[c] - lse[m]) * p_share - smooth_share * w_c
        dz[t] = dz[t] - target_share


def _weight(weight, dtype):
    """(C-contiguous weight, True), or a one-element placeholder and False."""
    return (np.ones(1, dtype), False) if weight is None else (np.ascontiguousarray(weight), True)


def cross_entropy_forward(logits, target, weight, ignore_index: int, label_smoothing: float, loss, lse) -> None:
    """logits (M, C), target (M,) -> loss (M,) in the logits' dtype, lse (M,) float64 saved for the backward."""
    M = logits.shape[0]
    check_cross_entropy(logits, target, weight, ignore_index, label_smoothing, loss=(loss, (M,), logits.dtype),
                        lse=(lse, (M,), np.dtype(np.float64)))
    weight, has_weight = _weight(weight, logits.dtype)
    _forward(np.ascontiguousarray(logits), np.ascontiguousarray(target, np.int64), weight, has_weight,
             int(ignore_index), float(label_smoothing), loss, lse)


def cross_entropy_backward(dloss, logits, target, weight, ignore_index: int, label_smoothing: float, lse,
                           dlogits) -> None:
    """dloss (M,), logits (M, C), target (M,), saved lse (M,) -> dlogits (M, C) in the logits' dtype."""
    M, C = logits.shape
    check_cross_entropy(logits, target, weight, ignore_index, label_smoothing, dloss=(dloss, (M,), dloss.dtype),
                        lse=(lse, (M,), np.dtype(np.float64)), dlogits=(dlogits, (M, C), logits.dtype))
    weight, has_weight = _weight(weight, logits.dtype)
    _backward(np.ascontiguousarray(dloss), np.ascontiguousarray(logits), np.ascontiguousarray(target, np.int64),
              weight, has_weight, int(ignore_index), float(label_smoothing), np.ascontiguousarray(lse), dlogits)
