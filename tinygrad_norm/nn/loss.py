"""Losses, functional forms and layers, with torch's names and arguments. The functions are composed from
differentiable ops (their gradients come from the tape); each layer holds its settings and calls its function.

torch.nn.functional's losses keep the deprecated `size_average` and `reduce` in the positional slots
after `weight` (after `target` for mse_loss). We do not accept them, so the arguments there are
keyword-only, in the functions and the layers: a positional call that torch would read differently raises
TypeError instead. Class weights and pos_weight are buffers of the layers (so they are saved in state_dict and
cast by `double()`), as in torch.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ..devices import check_same
from ..ops.activation import Softplus
from ..ops.cross_entropy import CrossEntropy
from ..tensor import Tensor
from ._arguments import check_choice
from .module import Module

REDUCTIONS = ("mean", "sum", "none")


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _weighted_mean(total: Tensor, weight_sum) -> Tensor:
    """total / weight_sum; nan when nothing was counted (every target ignored), with zero gradients (as torch)."""
    return total / weight_sum if weight_sum else total + math.nan


def _class_targets(input: Tensor, target) -> tuple[Tensor, np.ndarray]:
    """Move the class axis of (N, C, d1, ...) input last and flatten: (M, C) scores, (M,) targets."""
    if isinstance(target, Tensor):
        check_same((input, target))
    target = target.data if isinstance(target, Tensor) else input.xp.asarray(target)
    if target.dtype.kind not in "iu":
        raise TypeError(f"target must hold integer class indices, got dtype {target.dtype}")
    if input.ndim == 1:
        input, target = input.unsqueeze(0), target.reshape(1)
    if input.ndim > 2:
        input = input.permute(0, *range(2, input.ndim), 1).reshape(-1, input.shape[1])
    if target.size != input.shape[0]:
        raise ValueError(f"target has {target.size} class indices for {input.shape[0]} rows of scores")
    return input, target.reshape(-1)


def _class_rows(scores: Tensor, target, weight: Tensor | None, ignore_index: int):
    """(M, C) scores, (M,) class indices as given, (M,) class indices with 0 where ignored, and (M,) row weights
    (0 where the target is `ignore_index`, else weight[target] or 1)."""
    flat, target = _class_targets(scores, target)
    keep = target != ignore_index
    safe_target = flat.xp.where(keep, target, 0)
    if ((safe_target < 0) | (safe_target >= flat.shape[1])).any():
        raise ValueError(f"target holds a class index outside [0, {flat.shape[1]})")
    keep = keep.astype(flat.dtype)
    row_weight = keep if weight is None else keep * weight.data[safe_target]
    return flat, target, safe_target, row_weight


def _reduce_rows(loss: Tensor, row_weight, reduction: str, input: Tensor) -> Tensor:
    """Per-row losses (M,) reduced as torch's class losses: "mean" divides by the summed row weights, "none"
    gives back the target's shape (N, d1, ...)."""
    if reduction == "mean":
        return _weighted_mean(loss.sum(), row_weight.sum())
    if reduction == "sum":
        return loss.sum()
    return _in_target_shape(loss, input)


def _in_target_shape(loss: Tensor, input: Tensor) -> Tensor:
    """Per-row losses (M,) in the target's shape: (N, d1, ...), or () for a 1-D input."""
    return loss.reshape(*((input.shape[0], *input.shape[2:]) if input.ndim > 1 else ()))


def _nll_rows(log_probs: Tensor, safe_target, row_weight) -> Tensor:
    """-log_probs[m, target[m]] · row_weight[m], (M,)."""
    picked = log_probs[log_probs.xp.arange(len(safe_target)), safe_target]
    return -picked * Tensor._from_array(row_weight, False)


def nll_loss(
    input: Tensor, target, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """-input[n, target[n]] · weight[target[n]]; "mean" divides by the summed weights of the counted rows."""
    check_choice("reduction", reduction, REDUCTIONS)
    log_probs, _, safe_target, row_weight = _class_rows(input, target, weight, ignore_index)
    return _reduce_rows(_nll_rows(log_probs, safe_target, row_weight), row_weight, reduction, input)


def cross_entropy(
    input: Tensor,
    target,
    weight: Tensor | None = None,
    *,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """log_softmax over the class axis, then the negative log-likelihood of integer targets, or for a
    floating target shaped like `input` (class probabilities) -Σ_c w_c t_c log p_c per sample.

    With label smoothing ε the target distribution is (1-ε)·onehot + ε/C, so the loss is
    (1-ε)·nll + ε·mean_c(-w_c log p_c) per counted row, reduced with nll's divisor (as torch).
    Integer targets take one op, forward and backward each a single kernel (ops/cross_entropy.py; the math is in
    kernels/reference_loss.py); probability targets are composed from the tape's ops."""
    check_choice("reduction", reduction, REDUCTIONS)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    class_axis = 1 if input.ndim > 1 else 0
    if getattr(target, "dtype", np.dtype(np.int64)).kind == "f":
        log_probs = input.log_softmax(axis=class_axis)
        if target.shape != input.shape:
            raise ValueError(f"probability targets must have the input's shape {input.shape}, got {target.shape}")
        classes = input.shape[class_axis]
        per_class = -log_probs * (input._wrap_operand(target) * (1.0 - label_smoothing) + label_smoothing / classes)
        if weight is not None:
            per_class = per_class * weight.reshape(-1, *[1] * (input.ndim - 2))
        return _reduce(per_class.sum(axis=class_axis), reduction)
    scores, target = _class_targets(input, target)
    if scores.dtype not in (np.float32, np.float64):  # the kernels take these two; float16 goes through float32
        scores = scores.astype(np.float32)
    class_weight = None if weight is None else weight.data.astype(scores.dtype, copy=False)
    loss = CrossEntropy.apply(scores, target=target, weight=class_weight, ignore_index=ignore_index,
                              label_smoothing=label_smoothing, reduction=reduction).astype(input.dtype)
    return _in_target_shape(loss, input) if reduction == "none" else loss


def mse_loss(input: Tensor, target, *, reduction: str = "mean") -> Tensor:
    check_choice("reduction", reduction, REDUCTIONS)
    if getattr(target, "shape", ()) != input.shape:
        warnings.warn(
            f"mse_loss: target shape {getattr(target, 'shape', ())} differs from input shape {input.shape}; "
            "they broadcast, which is likely wrong (as torch warns)",
            UserWarning,
            stacklevel=2,
        )
    diff = input - target
    return _reduce(diff * diff, reduction)


def binary_cross_entropy_with_logits(
    input: Tensor, target, weight: Tensor | None = None, *, reduction: str = "mean", pos_weight: Tensor | None = None
) -> Tensor:
    """-[p·t·log σ(x) + (1-t)·log(1-σ(x))], computed stably as
    (1-t)·x + (1 + (p-1)·t)·softplus(-x), softplus being the stable Softplus op, whose gradient at 0 is -1/2 as it
    should be."""
    check_choice("reduction", reduction, REDUCTIONS)
    target = target if isinstance(target, Tensor) else input._wrap_operand(target)
    softplus_neg = Softplus.apply(-input, beta=1.0, threshold=math.inf)  # its gradient is exact at x = 0 too
    log_weight = 1 if pos_weight is None else 1 + (pos_weight - 1) * target
    loss = (1 - target) * input + log_weight * softplus_neg
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction)


# ---- layers ---------------------------------------------------------------------------------------------


def _optional_tensor(value: Any) -> Tensor | None:
    return value if value is None or isinstance(value, Tensor) else Tensor(value)


class _Loss(Module):
    def __init__(self, reduction: str = "mean"):
        super().__init__()
        self.reduction = check_choice("reduction", reduction, REDUCTIONS)


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _optional_tensor(weight))


class MSELoss(_Loss):
    """mean (or sum) of (input - target)²."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)


class NLLLoss(_WeightedLoss):
    """-input[n, target[n]]·weight[target[n]] for log-probabilities input (N, C, ...) and class indices."""

    def __init__(self, weight: Tensor | None = None, *, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(weight, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """NLLLoss of log_softmax(input) over the class axis (axis 1, or 0 for a 1-D input), with optional
    label smoothing."""

    def __init__(
        self,
        weight: Tensor | None = None,
        *,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(weight, reduction)
        self.ignore_index, self.label_smoothing = ignore_index, label_smoothing

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class BCEWithLogitsLoss(_WeightedLoss):
    """Binary cross-entropy of sigmoid(input) against targets in [0, 1], computed stably from logits;
    pos_weight scales the positive term per class."""

    def __init__(self, weight: Tensor | None = None, *, reduction: str = "mean", pos_weight: Tensor | None = None):
        super().__init__(weight, reduction)
        self.register_buffer("pos_weight", _optional_tensor(pos_weight))

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )
