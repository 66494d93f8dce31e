"""Dropout layers and their functional forms, with torch.nn's names and defaults.

In training each form calls the dropout op of ops/dropout.py (the active backend's kernels and the
counter-based generator of `tinygrad_norm.random`); in eval mode, and for p = 0, the input is returned as it is.

Difference from torch: `inplace=True` is accepted for compatibility but the result is always a new tensor
(overwriting an input that the tape may have saved for a backward would corrupt that backward silently).
"""

from __future__ import annotations

import math
import numbers

from ..ops import dropout as ops
from ..tensor import Tensor
from .module import Module


def _check_p(p: float) -> None:
    if not isinstance(p, numbers.Real):
        raise TypeError(f"dropout probability must be a number, got {type(p).__name__} {p!r}")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each element with probability p and scale the kept ones by 1 / (1 - p)."""
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    return ops.Dropout.apply(input, p=p, rows=input.numel())


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each whole channel input[n, c] with probability p and scale the kept ones by 1 / (1 - p).

    Input (N, C, H, W), or 3-D input read as (N, C, L), as torch does today (torch warns that it will read
    3-D input as unbatched (C, H, W) in a future release).
    """
    _check_p(p)
    if input.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected 3D or 4D input, got {input.ndim}D input")
    if not training or p == 0 or input.numel() == 0:
        return input
    return ops.Dropout.apply(input, p=p, rows=input.shape[0] * input.shape[1])


def _feature_dropout(name: str, input: Tensor, p: float, training: bool, spatial: int) -> Tensor:
    """Channel dropout of (N, C, *spatial) or unbatched (C, *spatial) input: one draw per (n, c) or per c."""
    _check_p(p)
    if input.ndim not in (spatial + 1, spatial + 2):
        raise ValueError(
            f"{name}: expected a {spatial + 1}D (C, *) or {spatial + 2}D (N, C, *) input with {spatial} spatial "
            f"dimension(s), got {input.ndim}D input"
        )
    if not training or p == 0 or input.numel() == 0:
        return input
    return ops.Dropout.apply(input, p=p, rows=math.prod(input.shape[: input.ndim - spatial]))


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each whole channel input[n, c] of (N, C, L) input (input[c] of unbatched (C, L)) with probability p and
    scale the kept ones by 1 / (1 - p)."""
    return _feature_dropout("dropout1d", input, p, training, 1)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Zero each whole channel input[n, c] of (N, C, D, H, W) input (input[c] of unbatched (C, D, H, W)) with
    probability p and scale the kept ones by 1 / (1 - p)."""
    return _feature_dropout("dropout3d", input, p, training, 3)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Alpha dropout: keeps zero mean and unit variance of SELU activations (see ops/dropout.alpha_dropout).
    p = 1 gives zeros. Note `training` defaults to False, as in torch."""
    _check_p(p)
    if not training or p == 0 or input.numel() == 0:
        return input
    if p == 1:
        return input * 0.0
    return ops.alpha_dropout(input, p)


class _DropoutNd(Module):
    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        _check_p(p)
        self.p, self.inplace = p, inplace

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Dropout (Srivastava et al., JMLR 2014; arXiv:1207.0580): in training, y = x * keep / (1 - p) with
    keep ~ Bernoulli(1 - p) per element; identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout(input, self.p, self.training, self.inplace)


class Dropout2d(_DropoutNd):
    """Channel dropout (Tompson et al., arXiv:1411.4280): in training each feature map input[n, c] of
    (N, C, H, W) input is zeroed with probability p, kept ones scaled by 1 / (1 - p); identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout2d(input, self.p, self.training, self.inplace)


class Dropout1d(_DropoutNd):
    """Channel dropout of (N, C, L) or (C, L) input (Tompson et al., arXiv:1411.4280); see `dropout1d`. Identity in
    eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout1d(input, self.p, self.training, self.inplace)


class Dropout3d(_DropoutNd):
    """Channel dropout of (N, C, D, H, W) or (C, D, H, W) input (Tompson et al., arXiv:1411.4280); see
    `dropout3d`. Identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return dropout3d(input, self.p, self.training, self.inplace)


class AlphaDropout(_DropoutNd):
    """Alpha dropout for self-normalizing networks (Klambauer et al., arXiv:1706.02515): dropped elements
    take SELU's saturation value alpha' = -1.7581, then y = a * (.) + b restores zero mean and unit variance,
    a = ((1 - p)(1 + p alpha'^2))^(-1/2), b = -a alpha' p. Identity in eval mode."""

    def forward(self, input: Tensor) -> Tensor:
        return alpha_dropout(input, self.p, self.training, self.inplace)
