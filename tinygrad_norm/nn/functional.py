"""Functional forms of the layers, with torch.nn.functional's names and argument order."""

from __future__ import annotations

from .losses import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss

__all__ = ["binary_cross_entropy_with_logits", "cross_entropy", "mse_loss", "nll_loss"]
