"""Functional forms of the layers, with torch.nn.functional's names and argument order."""

from __future__ import annotations

from .activation import gelu, leaky_relu, log_softmax, relu, sigmoid, silu, softmax, tanh
from .conv import conv2d
from .dropout import alpha_dropout, dropout, dropout2d
from .linear import embedding, linear
from .loss import binary_cross_entropy_with_logits, cross_entropy, mse_loss, nll_loss
from .norms import batch_norm, group_norm, instance_norm, layer_norm, rms_norm
from .pooling import adaptive_avg_pool2d, avg_pool2d, max_pool2d

__all__ = [
    "adaptive_avg_pool2d",
    "alpha_dropout",
    "avg_pool2d",
    "batch_norm",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "cross_entropy",
    "dropout",
    "dropout2d",
    "embedding",
    "gelu",
    "group_norm",
    "instance_norm",
    "layer_norm",
    "leaky_relu",
    "linear",
    "log_softmax",
    "max_pool2d",
    "mse_loss",
    "nll_loss",
    "relu",
    "rms_norm",
    "sigmoid",
    "silu",
    "softmax",
    "tanh",
]
