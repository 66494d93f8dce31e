"""Cross-entropy of logits against class indices as one op: the backend's kernels forward and backward.

The math (log-sum-exp, class weights, ignore_index, label smoothing, and the vector-Jacobian product) is in
kernels/reference_loss.py.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function


class CrossEntropy(Function):
    """Input logits (M, C); per-row losses (M,) before the reduction, for class indices `target` (M,), class
    weights `weight` (an array (C,) or None), `ignore_index` and `label_smoothing`. The backward reads the
    logits and the saved log-sum-exp of each row."""

    def forward(self, logits, target, weight, ignore_index: int, label_smoothing: float):
        self.kernels = backend.kernels(logits)
        self.logits, self.arguments = logits, (target, weight, ignore_index, label_smoothing)
        loss = self.xp.empty(logits.shape[:1], logits.dtype)
        self.lse = self.xp.empty(logits.shape[:1], np.float64)
        self.kernels.cross_entropy_forward(logits, *self.arguments, loss, self.lse)
        return loss

    def backward(self, grad):
        dlogits = self.xp.empty(self.logits.shape, self.logits.dtype)
        self.kernels.cross_entropy_backward(grad, self.logits, *self.arguments, self.lse, dlogits)
        return dlogits

    def composed(self, logits, target, weight, ignore_index: int, label_smoothing: float):
        """The loss of kernels/reference_loss.py on Tensor logits: (1 - eps) w_t (-logp_t) + (eps / C) Σ_c w_c (-logp_c)
        on kept rows."""
        rows, classes = logits.shape
        keep = (target != ignore_index).astype(logits.dtype)
        safe = self.xp.where(target != ignore_index, target, 0)
        w = self.xp.ones(classes, logits.dtype) if weight is None else weight
        logp = logits.log_softmax(-1)
        loss = logp[self.xp.arange(rows), safe] * (-(1 - label_smoothing) * keep * w[safe])
        if label_smoothing:
            loss = loss - (logp * w).sum(-1) * (label_smoothing / classes * keep)
        return loss
