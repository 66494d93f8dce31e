"""Cross-entropy of logits against class indices in plain array code: the specification ``cpu_loss.py`` is tested
against. Works on numpy and CuPy arrays alike.

For row m of logits z (M, C) with target class t, keep = (t != ignore_index), class weights w (ones when absent),
W = sum_c w_c and label smoothing eps, the loss is torch's cross_entropy before its reduction:

    lse    = log sum_c exp(z_c)                       (saved, float64, for the backward)
    logp_c = z_c - lse,   p_c = exp(logp_c)
    loss   = keep * [(1 - eps) * w_t * (-logp_t) + (eps / C) * sum_c w_c * (-logp_c)]
           = keep * [(1 - eps) * w_t * (lse - z_t) + (eps / C) * (W * lse - sum_c w_c z_c)]

The smoothing term is the loss against the uniform distribution; a "mean" reduction (done by the caller) divides by
sum_m keep * w_t, as torch does. Its vector-Jacobian product, with dloss the upstream gradient of row m
(d(-logp_c)/dz_j = p_j - [j == c]):

    dz_j = dloss * keep * [(1 - eps) * w_t * (p_j - [j == t]) + (eps / C) * (W * p_j - w_j)]

so the backward needs z and lse only. Ignored rows have loss 0 and gradient 0. Statistics accumulate in float64;
the loss and the gradient are stored in the logits' dtype.
"""

import sys

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _array_module(array):
    return sys.modules["cupy"] if type(array).__module__.startswith("cupy") else np


def check_cross_entropy(logits, target, weight, ignore_index, label_smoothing, **arrays):
    """logits (M, C) float32/float64 with C >= 1; target (M,) integer, each in [0, C) or ignore_index; weight (C,) of
    the logits' dtype or None; label_smoothing in [0, 1]; ``arrays``: name -> (array, shape, dtype) of the others."""
    if getattr(logits, "dtype", None) not in FLOAT_DTYPES or logits.ndim != 2 or logits.shape[1] < 1:
        raise ValueError(f"logits must be a float32 or float64 (M, C) array with C >= 1, got "
                         f"{getattr(logits, 'dtype', type(logits))} {getattr(logits, 'shape', '')}")
    M, C = logits.shape
    if getattr(target, "dtype", np.dtype(np.float32)).kind not in "iu" or tuple(target.shape) != (M,):
        raise ValueError(f"target must be an integer array of shape ({M},), got {getattr(target, 'dtype', '')} "
                         f"{getattr(target, 'shape', '')}")
    kept = target[target != ignore_index]
    if kept.size and (int(kept.min()) < 0 or int(kept.max()) >= C):
        raise ValueError(f"target holds a class index outside [0, {C}) that is not ignore_index ({ignore_index})")
    if weight is not None and (weight.dtype != logits.dtype or tuple(weight.shape) != (C,)):
        raise ValueError(f"weight must be a ({C},) array of dtype {logits.dtype}, got {weight.dtype} {weight.shape}")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    for name, (array, shape, dtype) in arrays.items():
        if tuple(array.shape) != shape or array.dtype != dtype:
            raise ValueError(f"{name} must be a {shape} array of dtype {dtype}, got {array.dtype} {array.shape}")


def _rows(logits, target, weight, ignore_index):
    """(z float64, keep, safe target (0 where ignored), w float64, xp)."""
    xp = _array_module(logits)
    keep = target != ignore_index
    C = logits.shape[1]
    w = xp.ones(C) if weight is None else weight.astype(np.float64)
    return logits.astype(np.float64), keep, xp.where(keep, target, 0), w, xp


def cross_entropy_forward(logits, target, weight, ignore_index: int, label_smoothing: float, loss, lse) -> None:
    """logits (M, C), target (M,) -> loss (M,) in the logits' dtype, lse (M,) float64 saved for the backward."""
    M, C = logits.shape
    check_cross_entropy(logits, target, weight, ignore_index, label_smoothing, loss=(loss, (M,), logits.dtype),
                        lse=(lse, (M,), np.dtype(np.float64)))
    z, keep, t, w, xp = _rows(logits, target, weight, ignore_index)
    top = z.max(axis=1, keepdims=True)
    lse[...] = top[:, 0] + xp.log(xp.exp(z - top).sum(axis=1))
    nll = w[t] * (lse - z[xp.arange(M), t])
    smooth = (w.sum() * lse - z @ w) / C
    loss[...] = xp.where(keep, (1.0 - label_smoothing) * nll + label_smoothing * smooth, 0.0)


def cross_entropy_backward(dloss, logits, target, weight, ignore_index: int, label_smoothing: float, lse,
                           dlogits) -> None:
    """dloss (M,), logits (M, C), target (M,), saved lse (M,) -> dlogits (M, C) in the logits' dtype."""
    M, C = logits.shape
    check_cross_entropy(logits, target, weight, ignore_index, label_smoothing, dloss=(dloss, (M,), dloss.dtype),
                        lse=(lse, (M,), np.dtype(np.float64)), dlogits=(dlogits, (M, C), logits.dtype))
    z, keep, t, w, xp = _rows(logits, target, weight, ignore_index)
    g = xp.where(keep, dloss.astype(np.float64), 0.0)  # (M,): dloss * keep
    p = xp.exp(z - lse[:, None])
    target_share = g * (1.0 - label_smoothing) * w[t]  # (M,): dloss * keep * (1 - eps) * w_t
    smooth_share = g * (label_smoothing / C)  # (M,): dloss * keep * eps / C
    dz = p * (target_share + smooth_share * w.sum())[:, None] - smooth_share[:, None] * w[None, :]
    dz[xp.arange(M), t] -= target_share
    dlogits[...] = xp.where(keep[:, None], dz, 0.0)  # 0 also where an ignored row's logits are not finite
