"""A small CNN with every kind of norm and a dropout, built from our nn and from torch.nn: torch's state_dict
loads into ours, and both give the same outputs, input gradients, parameter gradients and running statistics
over three training steps (with SGD updates), then in eval mode.

Train-mode dropout: the two generators differ, so torch's model gets a dropout that applies the mask our
kernel generator drew (regenerated from the (seed, offset) our layer will use). Everything else in the two
models is the library's own layers; that makes the comparison exact rather than statistical.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm.nn as nn  # noqa: E402
from tinygrad_norm import backend  # noqa: E402
from tinygrad_norm.random import dropout_stream  # noqa: E402

from .torch_helpers import compare_forward_backward, copy_params_from_torch  # noqa: E402

P = 0.3
LR = 0.1


def build(nn_module, dropout):
    """Conv-BN-ReLU-Pool, Conv-GroupNorm-ReLU, Flatten-Linear-LayerNorm-Dropout-Linear on (N, 3, 8, 8)."""
    return nn_module.Sequential(
        nn_module.Conv2d(3, 8, 3, padding=1),
        nn_module.BatchNorm2d(8),
        nn_module.ReLU(),
        nn_module.MaxPool2d(2),
        nn_module.Conv2d(8, 8, 3, padding=1),
        nn_module.GroupNorm(4, 8),
        nn_module.ReLU(),
        nn_module.Flatten(),
        nn_module.Linear(8 * 4 * 4, 16),
        nn_module.LayerNorm(16),
        dropout,
        nn_module.Linear(16, 10),
    )


class MaskedDropout(torch.nn.Module):
    """torch's side of the dropout: y = x * keep / (1 - p) with a given keep mask; identity in eval mode."""

    def __init__(self, p: float):
        super().__init__()
        self.p, self.keep = p, None

    def forward(self, x):
        if not self.training:
            return x
        return x * torch.tensor(self.keep, dtype=x.dtype) / (1 - self.p)


def our_next_mask(shape: tuple[int, ...]) -> np.ndarray:
    """The keep mask our next element-wise dropout call of `shape` will draw."""
    seed, offset = dropout_stream(0)  # the current position, reserving nothing
    keep = np.empty(int(np.prod(shape)), np.uint8)
    backend.kernels().dropout_mask(P, seed, offset, keep)
    return keep.reshape(shape)


def sgd_step(ours: nn.Module, theirs: torch.nn.Module) -> None:
    for param in ours.parameters():
        param.data -= LR * param.grad.data
    with torch.no_grad():
        for param in theirs.parameters():
            param -= LR * param.grad


# float32: weight gradients of the linear layers sum over the batch, the conv layers sum 72 products, and three
# SGD steps carry each difference forward; rounding in different orders reaches 3.4e-5 relative (2.2e-6 absolute).
TOLERANCE = {np.float32: (5e-5, 5e-6), np.float64: (1e-10, 1e-12)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_trains_and_evaluates_like_torch(dtype):
    torch.manual_seed(0)
    theirs = build(torch.nn, MaskedDropout(P)).to(torch.float64 if dtype == np.float64 else torch.float32)
    ours = build(nn, nn.Dropout(P)).to(dtype)
    copy_params_from_torch(ours, theirs)
    rtol, atol = TOLERANCE[dtype]
    rng = np.random.default_rng(0)
    for step in range(3):
        x = rng.standard_normal((4, 3, 8, 8)).astype(dtype)
        keep = our_next_mask((4, 16))
        assert 0 < keep.sum() < keep.size
        theirs[10].keep = keep
        compare_forward_backward(ours, theirs, x, rtol=rtol, atol=atol, seed=step)
        sgd_step(ours, theirs)
    assert ours[1].num_batches_tracked.item() == 3
    ours.eval()
    theirs.eval()
    compare_forward_backward(ours, theirs, rng.standard_normal((2, 3, 8, 8)).astype(dtype), rtol=rtol, atol=atol)
