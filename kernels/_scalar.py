"""Scalar math shared by the kernels, each piece written once.

The CPU kernels (``cpu.py``) call these Numba functions; the CUDA kernels (``cuda.py``) compile the same Python source
as device functions; the reference (``reference.py``) runs the Python source (``.py_func``) on numpy arrays where it
shares a piece (the dropout draw). The derivations are in reference.py's docstring.
"""

import math

import numpy as np

from ._jit import njit

# ---------------------------------------------------------------------------------------------------------------
# dropout: splitmix64 counter hash, one draw per row

SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
SPLITMIX_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
SPLITMIX_MUL2 = np.uint64(0x94D049BB133111EB)


@njit()
def splitmix64(seed, counter):
    """Output number ``counter`` of splitmix64 seeded with ``seed`` (uint64, or uint64 arrays in Python); mod 2^64."""
    z = seed + (counter + np.uint64(1)) * SPLITMIX_GAMMA
    z = (z ^ (z >> np.uint64(30))) * SPLITMIX_MUL1
    z = (z ^ (z >> np.uint64(27))) * SPLITMIX_MUL2
    return z ^ (z >> np.uint64(31))


def keep_threshold(p):
    """The integer form of "u >= p" for ``is_kept``: ceil(p * 2^53) as uint64.

    u is the draw's top 53 bits as a float in [0, 1), u = (z >> 11) * 2^-53. Then u >= p <=> (z >> 11) >= p * 2^53
    <=> (z >> 11) >= ceil(p * 2^53), exact because scaling by 2^53 is exact and the left side is an integer; it saves
    a conversion per element. p = 0 keeps every row, p = 1 (threshold 2^53) none.
    """
    return np.uint64(math.ceil(p * 2**53))


@njit()
def is_kept(draw, threshold):
    """True when a row whose draw (a splitmix64 output) is ``draw`` survives: (draw >> 11) >= keep_threshold(p)."""
    return (draw >> np.uint64(11)) >= threshold


# ---------------------------------------------------------------------------------------------------------------
# normalization


@njit()
def channel_param(values, present, c, default):
    """values[c] of an optional per-channel weight or bias in float64; ``default`` when it is absent (the kernels
    then get a 1-element placeholder)."""
    return float(values[c]) if present else default


@njit()
def input_grad(dy, w, term2, x_centered, rstd, rstd2_term3, batch_stats):
    """One element of dx = rstd * (dx_hat - term2 - x_hat * term3), dx_hat = dy * w: terms 1, 2 and 3 of the VJP.

    Written as rstd * (dx_hat - term2) - (x - mean) * (rstd^2 * term3), the last factor computed once per row or
    channel. dx_hat - term2 is formed first, so it cancels exactly where it should (a channel of one element).
    Without batch statistics (mean and rstd given, not computed from x) terms 2 and 3 drop out, and x with them:
    dx = rstd * dx_hat, whatever x holds (an inf in x gives no inf * 0).
    """
    if not batch_stats:
        return rstd * (dy * w)
    return rstd * (dy * w - term2) - x_centered * rstd2_term3


# ---------------------------------------------------------------------------------------------------------------
# statistics of a set of elements (a row, a channel), and of the union of several (SyncBatchNorm)


@njit()
def stats_from_m2(count, m2, eps):
    """(rstd, var_unbiased) of a set of ``count`` elements whose squared deviations from their mean sum to ``m2``:
    rstd = 1 / sqrt(m2 / count + eps), var_unbiased = m2 / (count - 1), nan for fewer than 2 elements.

    An empty set gives nan (0 / 0). rstd is inf where var + eps == 0 (eps = 0 on constant elements), written
    out because the CUDA simulator's Python floats raise on 1 / 0.
    """
    var_eps = m2 / count + eps
    rstd = 1.0 / math.sqrt(var_eps) if var_eps != 0.0 else math.inf
    return rstd, (m2 / (count - 1) if count > 1 else math.nan)


@njit()
def combine_moments(count_a, mean_a, m2_a, count_b, mean_b, m2_b):
    """(count, mean, M2) of the union of two sets of elements, from each set's count, mean and M2 = sum (x - mean)^2.

    Chan, Golub & LeVeque (1979): with delta = mean_b - mean_a and count = count_a + count_b,
    mean = mean_a + delta * count_b / count and M2 = M2_a + M2_b + delta^2 * count_a * count_b / count. Every term
    of M2 is non-negative, so nothing cancels, unlike sum x^2 - count * mean^2. An empty set leaves the other as it is
    (its mean, 0 / 0, is never read).
    """
    if count_b == 0:
        return count_a, mean_a, m2_a
    if count_a == 0:
        return count_b, mean_b, m2_b
    count = count_a + count_b
    delta = mean_b - mean_a
    return count, mean_a + delta * (count_b / count), m2_a + m2_b + delta * delta * (count_a / count * count_b)


@njit()
def channel_grad_terms(w, sum_dy, sum_dy_xhat, count):
    """(term2, term3) of a channel's input gradient (``input_grad``) from its sums of dy and dy * x_hat over
    ``count`` elements: term2 = mean(dx_hat) = w * sum_dy / count, term3 = mean(dx_hat * x_hat)."""
    return w * sum_dy / count, w * sum_dy_xhat / count
