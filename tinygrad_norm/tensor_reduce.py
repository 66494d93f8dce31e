"""Tensor reductions and the softmax family, thin calls into ops/reduce.py; `mean`, `var` and `std` are
compositions. Every method takes numpy's `axis=`/`keepdims=` and torch's `dim=`/`keepdim=`.

`max`/`min` follow torch: without `dim` the largest (smallest) element, with `dim` the named pair
`(values, indices)` whose values pass the gradient to the picked index; `amax`/`amin` give values only,
over any axes, and share the gradient equally among tied elements (as torch.amax).
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from .ops.movement import TakeAlongAxis
from .ops.reduce import LogSoftmax, LogSumExp, Max, Min, Softmax, Sum
from .shapes import normalize_axis, normalize_dim, torch_keywords

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .tensor import Tensor

    Axis = int | Sequence[int] | None

max_pair = namedtuple("max", ["values", "indices"])
min_pair = namedtuple("min", ["values", "indices"])


class ReductionMethods:
    __slots__ = ()

    @torch_keywords
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    @torch_keywords
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.sum(axis, keepdims) * _reciprocal(_count(self, axis))

    @torch_keywords
    def var(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        """Σ (x - mean)² / (n - correction); torch's older `unbiased=` means correction=1 (True) or 0 (False)."""
        if unbiased is not None:
            correction = int(unbiased)
        centered = self - self.mean(axis, keepdims=True)
        return (centered * centered).sum(axis, keepdims) * _reciprocal(_count(self, axis) - correction)

    @torch_keywords
    def std(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        return self.var(axis, correction, keepdims, unbiased=unbiased).sqrt()

    @torch_keywords
    def amax(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=axis, keepdims=keepdims)

    @torch_keywords
    def amin(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Min.apply(self, axis=axis, keepdims=keepdims)

    @torch_keywords
    def max(self, axis: int | None = None, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """The largest element; with `dim`, the pair (values, indices) along that axis (as torch)."""
        if axis is None:
            return self.amax()
        return max_pair(*self._pick_along(axis, keepdims, "max"))

    @torch_keywords
    def min(self, axis: int | None = None, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """The smallest element; with `dim`, the pair (values, indices) along that axis (as torch)."""
        if axis is None:
            return self.amin()
        return min_pair(*self._pick_along(axis, keepdims, "min"))

    def _pick_along(self, axis, keepdims: bool, name: str) -> tuple[Tensor, Tensor]:
        """The values picked by `argmax`/`argmin` along one axis (differentiable), and their indices."""
        if isinstance(axis, bool) or not isinstance(axis, int | np.integer):
            raise TypeError(f"{name}(dim): dim must be one int (amax/amin take several), got {axis!r}")
        x = self.reshape(1) if self.ndim == 0 else self  # torch accepts dim 0 or -1 for a 0-d tensor
        axis = normalize_dim(int(axis), x.ndim)
        if x.shape[axis] == 0:
            raise IndexError(f"{name}(): Expected reduction dim {axis} to have non-zero size.")
        indices = getattr(x.data, "arg" + name)(axis=axis, keepdims=True)
        values = TakeAlongAxis.apply(x, indices=indices, axis=axis)
        if not keepdims:
            values, indices = values.squeeze(axis), indices.squeeze(axis)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return values, self._from_array(indices, False)

    @torch_keywords
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._from_array(self.data.argmax(axis=axis, keepdims=keepdims), False)

    @torch_keywords
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return self._from_array(self.data.argmin(axis=axis, keepdims=keepdims), False)

    @torch_keywords
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    @torch_keywords
    def softmax(self, axis: int = -1) -> Tensor:
        return Softmax.apply(self, axis=axis)

    @torch_keywords
    def log_softmax(self, axis: int = -1) -> Tensor:
        return LogSoftmax.apply(self, axis=axis)


def _count(t: Tensor, axis: Axis) -> int:
    axes = normalize_axis(axis, t.ndim)
    return int(np.prod([t.shape[a] for a in axes], dtype=np.int64))


def _reciprocal(count: int) -> float:
    """1/count for a mean's divisor; inf when count <= 0, so the result is nan or inf as torch's x/0."""
    return 1.0 / count if count > 0 else math.inf
