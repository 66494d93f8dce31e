"""Tensor reductions, cumulative ops and the softmax family, thin calls into ops/reduce.py and ops/cumulative.py;
`mean`, `var`, `std` and the norms are compositions. Every method takes numpy's `axis=`/`keepdims=` and torch's
`dim=`/`keepdim=`; an empty `dim` (`()` or `[]`) means every axis, as torch's sum, mean, var, std, amax, amin,
count_nonzero and norm take it.

`max`/`min` follow torch: without `dim` the largest (smallest) element, with `dim` the named pair
`(values, indices)` whose values pass the gradient to the picked index; `amax`/`amin` give values only,
over any axes, and share the gradient equally among tied elements (as torch.amax). `cummax`/`cummin` give the
pair of running extrema, the latest index among ties.

dtypes as torch: sum, prod, cumsum and cumprod of integer and bool tensors are int64 unless `dtype` is given;
mean, var, std and the norms take floating tensors only.
"""

from __future__ import annotations

import math
from collections import namedtuple
from typing import TYPE_CHECKING

import numpy as np

from .dtypes import DTypeError, as_dtype
from .ops.cumulative import Cumprod, Cumsum, LogCumSumExp
from .ops.movement import TakeAlongAxis
from .ops.reduce import LogSoftmax, LogSumExp, Max, Min, Prod, Softmax, Sum, VectorNorm
from .shapes import normalize_axis, normalize_dim, torch_keywords

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .tensor import Tensor

    Axis = int | Sequence[int] | None

max_pair = namedtuple("max", ["values", "indices"])
min_pair = namedtuple("min", ["values", "indices"])
cummax_pair = namedtuple("cummax", ["values", "indices"])
cummin_pair = namedtuple("cummin", ["values", "indices"])
aminmax_pair = namedtuple("aminmax", ["min", "max"])


class ReductionMethods:
    __slots__ = ()

    @torch_keywords
    def sum(self, axis: Axis = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        return Sum.apply(_accumulating(self, dtype), axis=_every_axis_if_empty(axis), keepdims=keepdims)

    @torch_keywords
    def mean(self, axis: Axis = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        x = _floating_only(self if dtype is None else self.astype(dtype), "mean")
        axis = _every_axis_if_empty(axis)
        return x.sum(axis, keepdims) * _reciprocal(_count(x, axis))

    @torch_keywords
    def var(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        """Σ (x - mean)² / (n - correction); torch's older `unbiased=` means correction=1 (True) or 0 (False)."""
        if unbiased is not None:
            correction = int(unbiased)
        axis = _every_axis_if_empty(axis)
        centered = _floating_only(self, "var") - self.mean(axis, keepdims=True)
        return (centered * centered).sum(axis, keepdims) * _reciprocal(_count(self, axis) - correction)

    @torch_keywords
    def std(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        return self.var(axis, correction, keepdims, unbiased=unbiased).sqrt()

    @torch_keywords
    def var_mean(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> tuple[Tensor, Tensor]:
        return self.var(axis, correction, keepdims, unbiased=unbiased), self.mean(axis, keepdims)

    @torch_keywords
    def std_mean(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> tuple[Tensor, Tensor]:
        return self.std(axis, correction, keepdims, unbiased=unbiased), self.mean(axis, keepdims)

    @torch_keywords
    def prod(self, axis: int | None = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        """The product of all elements, or along one axis; its gradient is exact at zeros too."""
        axis = None if axis is None else normalize_dim(axis, self.ndim)
        return Prod.apply(_accumulating(self, dtype), axis=axis, keepdims=keepdims)

    @torch_keywords
    def norm(self, p: float | str = "fro", axis: Axis = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        """The vector p-norm (Σ |x|^p)^(1/p) over `dim` (every axis when None): p a number, inf, -inf (max and
        min of |x|), 0 (the count of nonzeros) or "fro" (2). The gradient is 0 where the norm is 0 (as torch)."""
        x = _floating_only(self if dtype is None else self.astype(dtype), "norm")
        if p == "fro":
            p = 2
        if isinstance(p, str) or isinstance(p, bool):
            raise ValueError(f"norm: p must be a number or 'fro' (the nuclear norm is not supported), got {p!r}")
        axes = normalize_axis(_every_axis_if_empty(axis), x.ndim)
        magnitude = x.abs()
        if math.isinf(p):  # a nan element makes the norm nan, and that nan's gradient 0 (its sign, as torch)
            return (Max if p > 0 else Min).apply(magnitude, axis=axes, keepdims=keepdims, nan_wins=True)
        if p == 0:
            return (x != 0).astype(x.dtype).sum(axes, keepdims)
        if p == 1:
            return magnitude.sum(axes, keepdims)
        return VectorNorm.apply(x, p=float(p), axes=axes, keepdims=keepdims)

    @torch_keywords
    def any(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Whether any element along `dim` is nonzero (bool; uint8 for uint8 input, as torch)."""
        return self._truth("any", axis, keepdims)

    @torch_keywords
    def all(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Whether every element along `dim` is nonzero (bool; uint8 for uint8 input, as torch)."""
        return self._truth("all", axis, keepdims)

    def _truth(self, name: str, axis: Axis, keepdims: bool) -> Tensor:
        axis = None if axis is None else normalize_axis(axis, self.ndim)
        result = getattr(self.xp, name)(self.data, axis=axis, keepdims=keepdims)
        return self._from_array(self.xp.asarray(result, self.dtype if self.dtype == np.uint8 else bool), False)

    @torch_keywords
    def count_nonzero(self, axis: Axis = None) -> Tensor:
        axis = normalize_axis(_every_axis_if_empty(axis), self.ndim)
        return self._from_array(self.xp.asarray(self.xp.count_nonzero(self.data, axis=axis), np.int64), False)

    @torch_keywords
    def amax(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Max.apply(self, axis=_every_axis_if_empty(axis), keepdims=keepdims)

    @torch_keywords
    def amin(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return Min.apply(self, axis=_every_axis_if_empty(axis), keepdims=keepdims)

    def aminmax(self, *, dim: int | None = None, keepdim: bool = False) -> tuple[Tensor, Tensor]:
        return aminmax_pair(self.amin(dim, keepdim), self.amax(dim, keepdim))

    @torch_keywords
    def nansum(self, axis: Axis = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        """sum with nan counted as zero (its gradient is zero)."""
        return self._without_nan().sum(axis, keepdims, dtype=dtype)

    @torch_keywords
    def nanmean(self, axis: Axis = None, keepdims: bool = False, *, dtype=None) -> Tensor:
        """mean of the elements that are not nan (nan where all are)."""
        x = _floating_only(self if dtype is None else self.astype(dtype), "nanmean")
        count = (~x.isnan()).sum(axis, keepdims)
        return x._without_nan().sum(axis, keepdims) / count.astype(x.dtype)

    def _without_nan(self) -> Tensor:
        return self if self.dtype.kind not in "fc" else self.masked_fill(self.isnan(), 0)

    @torch_keywords
    def max(self, axis: int | None = None, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """The largest element; with `dim`, the pair (values, indices) along that axis; with a tensor, the
        element-wise `maximum` (as torch)."""
        if isinstance(axis, ReductionMethods):
            return self.maximum(axis)
        if axis is None:
            return Max.apply(self, nan_wins=True)
        return max_pair(*self._pick_along(axis, keepdims, "max"))

    @torch_keywords
    def min(self, axis: int | None = None, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """The smallest element; with `dim`, the pair (values, indices) along that axis; with a tensor, the
        element-wise `minimum` (as torch)."""
        if isinstance(axis, ReductionMethods):
            return self.minimum(axis)
        if axis is None:
            return Min.apply(self, nan_wins=True)
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
        if self.dtype == np.bool_:
            raise RuntimeError("argmax(): does not support bool input")
        return self._from_array(self.data.argmax(axis=axis, keepdims=keepdims), False)

    @torch_keywords
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        if self.dtype == np.bool_:
            raise RuntimeError("argmin(): does not support bool input")
        return self._from_array(self.data.argmin(axis=axis, keepdims=keepdims), False)

    @torch_keywords
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    @torch_keywords
    def softmax(self, axis: int = -1, *, dtype=None) -> Tensor:
        return Softmax.apply(self if dtype is None else self.astype(dtype), axis=axis)

    @torch_keywords
    def log_softmax(self, axis: int = -1, *, dtype=None) -> Tensor:
        return LogSoftmax.apply(self if dtype is None else self.astype(dtype), axis=axis)

    # ---- cumulative, along one axis -------------------------------------------------------------------------

    @torch_keywords
    def cumsum(self, axis: int, *, dtype=None) -> Tensor:
        return Cumsum.apply(_accumulating(self, dtype), axis=normalize_dim(axis, self.ndim))

    @torch_keywords
    def cumprod(self, axis: int, *, dtype=None) -> Tensor:
        """Running products; the gradient is exact at zeros too."""
        return Cumprod.apply(_accumulating(self, dtype), axis=normalize_dim(axis, self.ndim))

    @torch_keywords
    def logcumsumexp(self, axis: int) -> Tensor:
        """log Σ_{j<=i} exp(x_j) along `dim`, without overflow."""
        return LogCumSumExp.apply(_floating_only(self, "logcumsumexp"), axis=normalize_dim(axis, self.ndim))

    @torch_keywords
    def cummax(self, axis: int) -> tuple[Tensor, Tensor]:
        """The running maximum and the index it was read from (the latest among ties; a nan stays)."""
        return cummax_pair(*self._running(axis, "maximum"))

    @torch_keywords
    def cummin(self, axis: int) -> tuple[Tensor, Tensor]:
        """The running minimum and the index it was read from (the latest among ties; a nan stays)."""
        return cummin_pair(*self._running(axis, "minimum"))

    def _running(self, axis: int, ufunc: str) -> tuple[Tensor, Tensor]:
        x = self.reshape(1) if self.ndim == 0 else self
        xp, axis = self.xp, normalize_dim(axis, x.ndim)
        running = getattr(xp, ufunc).accumulate(x.data, axis=axis)  # nan propagates
        positions = xp.arange(x.shape[axis]).reshape([-1 if d == axis else 1 for d in range(x.ndim)])
        reached = (x.data == running) | (x.data != x.data)  # a new extremum, a tie, or a nan
        indices = xp.maximum.accumulate(xp.where(reached, positions, 0), axis=axis)
        values = TakeAlongAxis.apply(x, indices=indices, axis=axis)
        return values.reshape(self.shape), self._from_array(indices.reshape(self.shape), False)


def _every_axis_if_empty(axis: Axis) -> Axis:
    """torch reads an empty `dim` as every axis."""
    return None if isinstance(axis, tuple | list) and not axis else axis


def _accumulating(t: Tensor, dtype) -> Tensor:
    """`t` cast to `dtype` when given, else an integer or bool `t` cast to int64 (torch sums and multiplies
    integers in int64)."""
    if dtype is not None:
        return t.astype(as_dtype(dtype))
    return t.astype(np.int64) if t.dtype.kind in "biu" else t


def _floating_only(t: Tensor, name: str) -> Tensor:
    if t.dtype.kind not in "fc":
        raise DTypeError(
            f"{name}(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
            f"Got: {t.dtype}"
        )
    return t


def _count(t: Tensor, axis: Axis) -> int:
    axes = normalize_axis(axis, t.ndim)
    return int(np.prod([t.shape[a] for a in axes], dtype=np.int64))


def _reciprocal(count: int) -> float:
    """1/count for a mean's divisor; inf when count <= 0, so the result is nan or inf as torch's x/0."""
    return 1.0 / count if count > 0 else math.inf
