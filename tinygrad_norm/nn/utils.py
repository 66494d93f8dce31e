"""Utilities over a model's parameters: weight penalties and gradient clipping (torch.nn.utils names).

`l2_penalty` is Σw², the squared L2 norm, which is what torch users write by hand
(`sum(p.pow(2).sum() for p in model.parameters())`). Note that SGD's `weight_decay=λ` adds λ·w
to the gradient, which is the gradient of (λ/2)·l2_penalty, not of λ·l2_penalty.

`weight_norm` and `remove_weight_norm` (a reparametrization of a weight) live in weight_norm.py and are
re-exported here, where torch.nn.utils has them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from ..tensor import Tensor
from .weight_norm import remove_weight_norm as remove_weight_norm
from .weight_norm import weight_norm as weight_norm

Parameters = Tensor | Iterable[Tensor]


def _tensors(parameters: Parameters) -> list[Tensor]:
    return [parameters] if isinstance(parameters, Tensor) else list(parameters)


def _total(terms: list[Tensor]) -> Tensor:
    """Σ terms as a differentiable scalar; 0.0 for no terms."""
    return sum(terms[1:], terms[0]) if terms else Tensor(0.0)


def l1_penalty(parameters: Parameters) -> Tensor:
    """Σ_p Σ |w| over all the given parameters, differentiable (d/dw = sign(w))."""
    return _total([p.abs().sum() for p in _tensors(parameters)])


def l2_penalty(parameters: Parameters) -> Tensor:
    """Σ_p Σ w² over all the given parameters (no ½), differentiable (d/dw = 2w)."""
    return _total([(p * p).sum() for p in _tensors(parameters)])


def clip_grad_norm_(
    parameters: Parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together, in place, so their joint p-norm ‖(g_1, ..., g_k)‖_p is at most
    `max_norm`: g ← g · min(1, max_norm / (total + 1e-6)), as torch. `norm_type` is p > 0 or inf.
    Returns the total norm before clipping (0-d, in the gradients' dtype and on their device; computed in
    float64)."""
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    grads = [p.grad for p in _tensors(parameters) if p.grad is not None and p.grad.numel()]
    if not grads:
        return Tensor(0.0)
    if norm_type == math.inf:
        total = max(float(g.xp.abs(g.data).max()) for g in grads)
    else:
        total = sum(float((g.xp.abs(g.data.astype(np.float64)) ** norm_type).sum()) for g in grads) ** (1 / norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it cannot be "
            "clipped. Set error_if_nonfinite=False to clip anyway."
        )
    scale = float(np.minimum(max_norm / (total + 1e-6), 1.0))  # np.minimum keeps a NaN, as torch's clamp
    for g in grads:
        g.data *= scale
    return Tensor(np.asarray(total, dtype=grads[0].dtype), device=grads[0].device)


def clip_grad_value_(parameters: Parameters, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value], in place."""
    for p in _tensors(parameters):
        if p.grad is not None:
            p.grad.xp.clip(p.grad.data, -clip_value, clip_value, out=p.grad.data)
