"""Numba CPU cross-entropy: the functions of ``reference_loss.py`` (whose docstring derives the math), same
signatures. One task per row: the forward reads the row once for its maximum and once for its log-sum-exp and the
loss; the backward reads it once more and writes the gradient. Sums accumulate in float64 scalars.

The exponentials are ``_exp``, written out so that the loops over classes vectorize: libm's exp is a call per
element (a 64 x 1024 forward and backward took 0.72 ms with it, 0.42 ms with ``_exp``).
"""

import math

import numpy as np
from llvmlite import ir
from numba import prange, types
from numba.core.extending import intrinsic

from ._jit import njit
from .reference_loss import check_cross_entropy

__all__ = ["cross_entropy_backward", "cross_entropy_forward"]

LOG2E = 1.4426950408889634
LN2_HI, LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # ln 2 = HI + LO; HI has 32 bits
TAYLOR = tuple(1.0 / math.factorial(n) for n in range(14))  # e^r = sum r^n / n!, n <= 13
LOWEST, HIGHEST = -708.39, 709.43  # exp is subnormal below; 2^k overflows above (exp itself at 709.78)


@intrinsic
def _float64_from_bits(typingctx, bits):
    """The float64 whose IEEE 754 bits are the int64 ``bits`` (a bitcast, no instruction)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@njit(reassociate=False)
def _exp(x):
    """exp(x) for a float64 x, in instructions that vectorize.

    x = k ln2 + r with k = round(x / ln2) and |r| <= ln2 / 2; r = (x - k HI) - k LO (Cody and Waite: k HI is exact,
    so r is exact but for the rounding of k LO). e^r is its Taylor series to r^13 (truncation under 1e-17 of e^r),
    by Horner's rule; 2^k is built from its exponent bits. Within 2 ulp of exp from LOWEST to HIGHEST; 0 below
    (where exp is subnormal, under 1e-307), inf above (exp itself overflows a little later, at 709.78: the
    softmax's arguments are never positive), nan for nan. No reassociation: it would undo the two-part reduction.
    """
    k = np.floor(x * LOG2E + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = TAYLOR[13]
    for n in range(12, -1, -1):
        p = p * r + TAYLOR[n]
    value = p * _float64_from_bits((np.int64(k) + 1023) << 52)
    return 0.0 if x < LOWEST else (np.inf if x > HIGHEST else (x if x != x else value))


@njit()
def _row_lse(z):
    """log sum_c exp(z_c), with the maximum taken out first."""
    top = np.float64(z[0])
    for c in range(1, z.size):
        top = max(top, np.float64(z[c]))
    total = 0.0
    for c in range(z.size):
        total += _exp(np.float64(z[c]) - top)
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
            dz[c] = _exp(z[c] - lse[m]) * p_share - smooth_share * w_c
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
