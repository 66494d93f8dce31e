"""Dropout ops: a kernel forward and backward sharing one counter-based mask, and alpha dropout composed on it.

The mask is a pure function of (seed, offset, row), reserved from `random.dropout_stream`, so an op saves two
integers instead of a mask and its backward regenerates the very same mask.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function
from ..random import dropout_stream

SELU_ALPHA_PRIME = -1.7580993408473766  # -lambda * alpha: the value SELU saturates to for x -> -inf


class Dropout(Function):
    """Dropout (Srivastava et al., JMLR 2014; arXiv:1207.0580) with one keep/drop draw per row.

    x viewed (R, S): row r is kept when the draw u_r (generator at seed, offset + r) is >= p, so with
    probability 1 - p.  y = x * keep_r / (1 - p),  dx = dy * keep_r / (1 - p).
    Element-wise dropout is R = numel (S = 1); channel dropout is R = N * C (a row is one feature map).
    """

    saved_inputs = ()  # the backward regenerates the mask from (seed, offset)

    def forward(self, x, p: float, rows: int):
        self.kernels = backend.kernels(x)
        self.p, self.dtype, self.view = p, x.dtype, (rows, x.size // rows)  # (R, S)
        self.seed, self.offset = dropout_stream(rows)
        y = self.xp.empty(self.view, x.dtype)
        self.kernels.dropout_forward(x.reshape(self.view), p, self.seed, self.offset, y)
        return y.reshape(x.shape)

    def backward(self, grad):
        dx = self.xp.empty(self.view, self.dtype)
        dy = grad.reshape(self.view).astype(self.dtype, copy=False)
        self.kernels.dropout_backward(dy, self.p, self.seed, self.offset, dx)
        return dx.reshape(grad.shape)

    def composed(self, x, p: float, rows: int):
        """x times keep_r / (1 - p) with the node's own mask (regenerated, never drawn again)."""
        keep = self.xp.empty(rows, np.uint8)
        self.kernels.dropout_mask(p, self.seed, self.offset, keep)
        scale = keep.astype(x.dtype) * (1 / (1 - p) if p < 1 else 0)  # p = 1 keeps nothing
        return (x.reshape(self.view) * scale.reshape(rows, 1)).reshape(x.shape)


def alpha_dropout(x, p: float):
    """Alpha dropout for SELU networks (Klambauer et al., arXiv:1706.02515), for 0 < p < 1.

    A dropped element is set to alpha' = -lambda * alpha (SELU's negative saturation) instead of 0, then an
    affine map a * (.) + b restores zero mean and unit variance for inputs with zero mean and unit variance:
        y = a * (x * keep + alpha' * (1 - keep)) + b,   a = ((1 - p) (1 + p alpha'^2))^(-1/2),   b = -a alpha' p
    i.e. y = x * scale + shift with scale = a * keep, shift = a alpha' (1 - keep) + b, so dx = dy * scale.
    Composed from differentiable ops; the per-element keep mask comes from the dropout kernel's generator.
    """
    seed, offset = dropout_stream(x.numel())
    keep = x.xp.empty(x.numel(), np.uint8)
    backend.kernels(x.data).dropout_mask(p, seed, offset, keep)
    keep = keep.reshape(x.shape).astype(np.float64)
    a = ((1 - p) * (1 + p * SELU_ALPHA_PRIME**2)) ** -0.5
    b = -a * SELU_ALPHA_PRIME * p
    scale = (a * keep).astype(x.dtype)
    shift = (a * SELU_ALPHA_PRIME * (1 - keep) + b).astype(x.dtype)
    return x * scale + shift
