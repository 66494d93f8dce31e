"""A BatchNorm2d and a dropout written by hand in numpy, as a course exercise would, for `written-by-hand`.

Correct by default; each name in MISTAKES switches on one classic mistake of hand-written layers. They are
autograd Functions (forward above backward) so that `tinygrad_norm.gradcheck` can judge them and a network can
train with them; they live here, in the experiments, and nowhere in the library.

BatchNorm over x (N, C, H, W), statistics per channel over the m = N·H·W values of axes (0, 2, 3):

    mean = Σx / m,  var = Σ(x - mean)² / m,  x̂ = (x - mean) / √(var + eps),  y = γ·x̂ + β

The backward goes through the same intermediates, step by step (as one derives it on paper):

    dx̂ = dy·γ
    dvar = Σ dx̂·(x - mean) · (-½)(var + eps)^(-3/2)       (how y moves through var)
    dmean = -Σ dx̂ / √(var + eps)                          (through the mean; its path through var sums to 0)
    dx = dx̂ / √(var + eps) + dvar · 2(x - mean)/m + dmean / m
    dγ = Σ dy·x̂,  dβ = Σ dy

with every Σ over axes (0, 2, 3). Eval mode normalizes with the running statistics, constants for the backward:
dx = dx̂ / √(running_var + eps). Training updates running = (1 - momentum)·running + momentum·batch (PyTorch's
convention, momentum 0.1; running_var from the unbiased variance Σ(x - mean)²/(m - 1)), starting from mean 0
and variance 1.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..autograd import Function
from ..nn.module import Parameter
from ..tensor import Tensor

MISTAKES = {
    "times-std": "dx multiplied by √(var + eps) where it should be divided by it",
    "bias-grad": "dβ summing dy·x̂ (the weight's gradient again) instead of dy",
    "nhwc-axes": "statistics over (0, 2, 3) but gradients summed over (0, 1, 2), the axes of NHWC data",
    "batch-divisor": "the mean and variance terms of dx divided by the batch size N instead of m = N·H·W",
    "eval-updates": "running statistics updated in eval mode too (before use), and seeded from the first batch",
    "keep-momentum": "momentum 0.997 in the 'keep' convention: running statistics that move 0.3 % per batch",
    "dropout-in-place": "dropout that scales the caller's array in place instead of returning a new one",
}
KEEP = 0.997  # the "keep" momentum of "keep-momentum"


class BatchNormFunction(Function):
    """y = γ·x̂ + β for x (N, C, H, W), weight γ and bias β (C,); `layer` holds the running statistics."""

    def forward(self, x, weight, bias, layer: HandBatchNorm2d):
        self.mistakes = layer.mistakes
        self.training = layer.training
        if layer.training or "eval-updates" in layer.mistakes:
            batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
            layer.track(batch_mean, batch_var, x.size // x.shape[1])
        if layer.training:
            mean, var = batch_mean, batch_var
        else:
            mean, var = layer.running_mean.astype(x.dtype), layer.running_var.astype(x.dtype)
        self.x, self.m = x, x.size // x.shape[1]
        self.mean, self.var = mean.reshape(1, -1, 1, 1), var.reshape(1, -1, 1, 1)
        self.gamma = weight.reshape(1, -1, 1, 1)
        self.std = np.sqrt(self.var + layer.eps)
        self.x_hat = (x - self.mean) / self.std
        return self.x_hat * self.gamma + bias.reshape(1, -1, 1, 1)

    def backward(self, dy):
        mistakes = self.mistakes
        axes = (0, 1, 2) if "nhwc-axes" in mistakes else (0, 2, 3)
        m = self.x.shape[0] if "batch-divisor" in mistakes else self.m
        dx_hat = dy * self.gamma
        dx = dx_hat * self.std if "times-std" in mistakes else dx_hat / self.std
        if self.training:
            centered = self.x - self.mean
            dvar = (dx_hat * centered).sum(axis=axes, keepdims=True) * -0.5 * self.std**-3
            dmean = -dx_hat.sum(axis=axes, keepdims=True) / self.std
            dx = dx + dvar * 2 * centered / m + dmean / m
        dweight = (dy * self.x_hat).sum(axis=axes)
        dbias = (dy * self.x_hat if "bias-grad" in mistakes else dy).sum(axis=axes)
        return dx, dweight, dbias


class HandBatchNorm2d(nn.Module):
    """The hand-written BatchNorm2d with the switches in `mistakes` (names of MISTAKES) on."""

    def __init__(self, channels: int, mistakes: frozenset[str] = frozenset(), momentum: float = 0.1, eps: float = 1e-5):
        super().__init__()
        unknown = set(mistakes) - set(MISTAKES)
        if unknown:
            raise ValueError(f"unknown mistakes {sorted(unknown)}: choose from {', '.join(MISTAKES)}")
        self.mistakes, self.momentum, self.eps = frozenset(mistakes), momentum, eps
        self.weight = Parameter(np.ones(channels, np.float32))
        self.bias = Parameter(np.zeros(channels, np.float32))
        seeded = "eval-updates" in self.mistakes  # starts empty, to be filled by the first batch
        self.running_mean = np.zeros(channels)
        self.running_var = np.zeros(channels) if seeded else np.ones(channels)
        self.empty = seeded

    def track(self, mean: np.ndarray, var: np.ndarray, m: int) -> None:
        """Move the running statistics towards this batch's (`var` biased, over m values per channel)."""
        unbiased = var * m / max(m - 1, 1)
        if self.empty:
            self.running_mean, self.running_var = mean.astype(np.float64), unbiased.astype(np.float64)
            self.empty = False
            return
        new = 1 - KEEP if "keep-momentum" in self.mistakes else self.momentum  # the weight of this batch
        self.running_mean = (1 - new) * self.running_mean + new * mean
        self.running_var = (1 - new) * self.running_var + new * unbiased

    def forward(self, x: Tensor) -> Tensor:
        return BatchNormFunction.apply(x, self.weight, self.bias, layer=self)


class DropoutFunction(Function):
    """Zero each element with probability p (mask from `seed`), scale the rest by 1/(1 - p); dx = dy·mask/(1 - p)."""

    def forward(self, x, p: float, seed: int, in_place: bool):
        keep = 1 - p
        self.scaled_mask = (np.random.default_rng(seed).random(x.shape) < keep) / keep
        if in_place:
            x *= self.scaled_mask.astype(x.dtype)
            return x
        return x * self.scaled_mask.astype(x.dtype)

    def backward(self, dy):
        return dy * self.scaled_mask.astype(dy.dtype)


class HandDropout(nn.Module):
    """Dropout with masks from its own generator (seeded once), so that it leaves the framework's alone."""

    def __init__(self, p: float, in_place: bool = False, seed: int = 0):
        super().__init__()
        self.p, self.in_place = p, in_place
        self.generator = np.random.default_rng(seed)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        seed = int(self.generator.integers(2**63))
        return DropoutFunction.apply(x, p=self.p, seed=seed, in_place=self.in_place)
