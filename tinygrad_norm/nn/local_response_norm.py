"""LocalResponseNorm and `local_response_norm` (Krizhevsky et al., NIPS 2012), with torch's arguments.

Each element is divided by a power of the mean square over `size` neighbouring channels:

    y[n, c] = x[n, c] / (k + alpha/size · sum_{c' = c - size//2}^{c + (size-1)//2} x[n, c']²)^beta

channels outside 0..C-1 counting as zeros. Composed from Tensor ops (the window sum is a sum of shifted slices),
so the tape differentiates it.
"""

from __future__ import annotations

import functools
import operator

from ..ops.windows import window_slices
from ..tensor import Tensor
from ._arguments import check_int
from .module import Module


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """Normalize (N, C, *) input over neighbouring channels; see the module docstring."""
    if input.ndim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality input (got {input.ndim} dimensions)")
    size = check_int("size", size, 1)
    if input.numel() == 0:
        return input
    C = input.shape[1]
    squares = (input * input).pad(((0, 0), (size // 2, (size - 1) // 2)) + ((0, 0),) * (input.ndim - 2))
    sums = functools.reduce(operator.add, window_slices(squares, (size,), (1,), (1,), (C,), first_axis=1))
    return input / (sums * (alpha / size) + k) ** beta


class LocalResponseNorm(Module):
    """Local response normalization over channels of (N, C, *) input; see the module docstring."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size, self.alpha, self.beta, self.k = check_int("size", size, 1), alpha, beta, k

    def forward(self, input: Tensor) -> Tensor:
        return local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
