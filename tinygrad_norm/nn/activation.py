"""Activation layers and their functional forms, with torch's names, arguments and reprs.

`inplace=True` is accepted for compatibility and shown in the repr, but the result is always a new
tensor: the input is never overwritten (the tape may still need it).
"""

from __future__ import annotations

import warnings

from ..tensor import Tensor
from ._arguments import check_choice
from .module import Module


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """max(x, 0) + negative_slope · min(x, 0)."""
    return input.leaky_relu(negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (exact, with erf) or its tanh approximation (approximate='tanh')."""
    return input.gelu(check_choice("approximate", approximate, ("none", "tanh")))


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return input.sigmoid()


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (the swish of Ramachandran et al., 2017), composed so the tape differentiates it."""
    return input * input.sigmoid()


def _softmax_dim(dim: int | None, ndim: int, name: str) -> int:
    """torch's legacy choice when dim is None (with the same warning): 0 for 0-, 1- and 3-D inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `dim`."""
    return input.softmax(axis=_softmax_dim(dim, input.ndim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None) -> Tensor:
    """x_i - log Σ_j exp(x_j) along `dim`."""
    return input.log_softmax(axis=_softmax_dim(dim, input.ndim, "log_softmax"))


class _InplaceActivation(Module):
    """An activation whose only setting is torch's `inplace` flag (see the module docstring)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    def forward(self, input: Tensor) -> Tensor:
        return relu(input)


class SiLU(_InplaceActivation):
    def forward(self, input: Tensor) -> Tensor:
        return silu(input)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = check_choice("approximate", approximate, ("none", "tanh"))

    def forward(self, input: Tensor) -> Tensor:
        return gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Tanh(Module):
    def forward(self, input: Tensor) -> Tensor:
        return tanh(input)


class Sigmoid(Module):
    def forward(self, input: Tensor) -> Tensor:
        return sigmoid(input)


class _AlongDim(Module):
    """An activation along one dimension; dim=None picks torch's legacy default (0 for 0-, 1- and
    3-D inputs, else 1) with its deprecation warning."""

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    def forward(self, input: Tensor) -> Tensor:
        return softmax(input, self.dim)


class LogSoftmax(_AlongDim):
    def forward(self, input: Tensor) -> Tensor:
        return log_softmax(input, self.dim)
