"""Cross-entropy of logits against class indices as one op: the backend's kernels forward and backward.

The math (log-sum-exp, class weights, ignore_index, label smoothing, and the vector-Jacobian product) is in
kernels/reference_loss.py.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function


class CrossEntropy(Function):
    """Input logits (M, C); the losses of the rows for class indices `target` (M,), class weights `weight` (an array
    (C,) or None), `ignore_index` and `label_smoothing`, reduced as torch's `reduction`: "none" (M,), "sum", or
    "mean" (the sum divided by the summed weights w_t of the rows not ignored; nan when that is 0). The backward
    reads the logits and the saved log-sum-exp of each row."""

    def forward(self, logits, target, weight, ignore_index: int, label_smoothing: float, reduction: str):
        self.kernels = backend.kernels(logits)
        self.logits, self.arguments = logits, (target, weight, ignore_index, label_smoothing)
        self.reduction = reduction
        loss = self.xp.empty(logits.shape[:1], logits.dtype)
        self.lse = self.xp.empty(logits.shape[:1], np.float64)
        self.kernels.cross_entropy_forward(logits, *self.arguments, loss, self.lse)
        if reduction == "none":
            return loss
        total = loss.sum()
        if reduction == "sum":
            return total
        self.divisor = _counted_weight(self.xp, target, weight, ignore_index)
        return total / self.divisor if self.divisor else total + np.nan

    def backward(self, grad):
        dloss = grad
        if self.reduction != "none":
            share = grad / self.divisor if self.reduction == "mean" and self.divisor else grad
            dloss = self.xp.full(self.logits.shape[:1], share, self.logits.dtype)
        dlogits = self.xp.empty(self.logits.shape, self.logits.dtype)
        self.kernels.cross_entropy_backward(dloss, self.logits, *self.arguments, self.lse, dlogits)
        return dlogits

    def composed(self, logits, target, weight, ignore_index: int, label_smoothing: float, reduction: str):
        """The loss of kernels/reference_loss.py on Tensor logits: (1 - eps) w_t (-logp_t) + (eps / C) Σ_c w_c (-logp_c)
        on kept rows, reduced."""
        rows, classes = logits.shape
        keep = (target != ignore_index).astype(logits.dtype)
        safe = self.xp.where(target != ignore_index, target, 0)
        w = self.xp.ones(classes, logits.dtype) if weight is None else weight
        logp = logits.log_softmax(-1)
        loss = logp[self.xp.arange(rows), safe] * (-(1 - label_smoothing) * keep * w[safe])
        if label_smoothing:
            loss = loss - (logp * w).sum(-1) * (label_smoothing / classes * keep)
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        divisor = _counted_weight(self.xp, target, weight, ignore_index)
        return loss.sum() / divisor if divisor else loss.sum() + np.nan


def _counted_weight(xp, target, weight, ignore_index: int):
    """The divisor of the "mean" reduction: Σ_m w_t over the rows whose target is not ignore_index (their count when
    there are no class weights), in float64."""
    keep = target != ignore_index
    if weight is None:
        return float(keep.sum())
    return float((weight[xp.where(keep, target, 0)].astype(np.float64) * keep).sum())
