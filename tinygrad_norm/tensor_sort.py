"""Sorting and order statistics: `sort`, `argsort`, `msort`, `topk`, `kthvalue`, `median`, `unique`, and the
counting and searching that sorted data allows: `bincount`, `searchsorted`, `bucketize`.

Values come from `TakeAlongAxis` of the indices a stable sort picks, so the gradient goes to the elements picked.
nan sorts as the largest value, as in torch. Among equal values the order is their order in the input (stable);
torch documents `topk` and `kthvalue` without saying which of equal values they pick, and may pick another.
The pairs are torch's named tuples (`values`, `indices`).
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING

from .ops.movement import TakeAlongAxis
from .ops.reduce import Median
from .shapes import normalize_dim, torch_keywords

if TYPE_CHECKING:
    from .tensor import Tensor

sort_pair = namedtuple("sort", ["values", "indices"])
topk_pair = namedtuple("topk", ["values", "indices"])
kthvalue_pair = namedtuple("kthvalue", ["values", "indices"])
median_pair = namedtuple("median", ["values", "indices"])


def sorted_indices(data, axis: int, descending: bool, xp):
    """The indices that sort `data` along `axis`, stably (equal values keep their order) and with nan last (first
    when descending). Descending is the ascending sort of the reversed data, reversed."""
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    reversed_order = xp.argsort(xp.flip(data, axis), axis=axis, kind="stable")
    return data.shape[axis] - 1 - xp.flip(reversed_order, axis)


class SortingMethods:
    __slots__ = ()

    @torch_keywords
    def sort(self, axis: int = -1, descending: bool = False, stable: bool = False) -> tuple[Tensor, Tensor]:
        """The elements in order along `dim` and where each came from; always stable."""
        return sort_pair(*self._ordered(axis, descending, None))

    @torch_keywords
    def argsort(self, axis: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
        x, axis = self._with_axis(axis)
        return self._from_array(sorted_indices(x.data, axis, descending, self.xp).reshape(self.shape), False)

    def msort(self) -> Tensor:
        """The elements sorted along the first axis."""
        return self.sort(0).values

    @torch_keywords
    def topk(self, k: int, axis: int = -1, largest: bool = True, sorted: bool = True) -> tuple[Tensor, Tensor]:
        """The k largest (smallest) elements along `dim`, largest (smallest) first, and where they came from."""
        x, axis = self._with_axis(axis)
        if not 0 <= k <= x.shape[axis]:
            raise RuntimeError(f"topk: k ({k}) is out of range for dimension {axis} of size {x.shape[axis]}")
        return topk_pair(*self._ordered(axis, largest, slice(0, k)))

    @torch_keywords
    def kthvalue(self, k: int, axis: int = -1, keepdims: bool = False) -> tuple[Tensor, Tensor]:
        """The k-th smallest element along `dim` (k from 1) and where it came from."""
        x, axis = self._with_axis(axis)
        if not 1 <= k <= x.shape[axis]:
            raise RuntimeError(
                f"kthvalue(): selected number k ({k}) out of range for dimension of size {x.shape[axis]}"
            )
        values, indices = self._ordered(axis, False, slice(k - 1, k))
        return kthvalue_pair(*_drop_axis(values, indices, axis, keepdims, self.ndim))

    @torch_keywords
    def median(self, axis: int | None = None, keepdims: bool = False) -> Tensor | tuple[Tensor, Tensor]:
        """The lower median (of two middle elements the smaller), nan where there is a nan. Without `dim`, of all
        elements, its gradient shared among the elements equal to it; with `dim`, the pair (values, indices)."""
        if axis is None:
            return Median.apply(self)
        x, axis = self._with_axis(axis)
        n = x.shape[axis]
        if n == 0:
            raise IndexError(f"median(): Expected reduction dim {axis} to have non-zero size.")
        xp = self.xp
        order = sorted_indices(x.data, axis, False, xp)
        nans = xp.isnan(x.data).sum(axis=axis, keepdims=True) if x.dtype.kind == "f" else 0
        position = xp.where(nans > 0, n - nans, (n - 1) // 2)  # the first nan, or the lower middle
        reduced = tuple(1 if d == axis else size for d, size in enumerate(order.shape))
        indices = xp.take_along_axis(order, xp.broadcast_to(position, reduced), axis)
        values = TakeAlongAxis.apply(x, indices=indices, axis=axis)
        return median_pair(*_drop_axis(values, self._from_array(indices, False), axis, keepdims, self.ndim))

    def unique(
        self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
    ) -> Tensor | tuple[Tensor, ...]:
        """The distinct elements in ascending order (each nan its own; sorted even when `sorted` is False, as
        torch on the CPU), with the index of each element's value among them (`return_inverse`, in the input's
        shape) and how often each occurs (`return_counts`). With `dim`, the distinct slices along it. Not
        differentiable."""
        axis = None if dim is None else normalize_dim(dim, self.ndim)
        values, inverse, counts = self.xp.unique(
            self.data, return_inverse=True, return_counts=True, axis=axis, equal_nan=False
        )
        if axis is None:
            inverse = inverse.reshape(self.shape)
        results = [self._from_array(values, False)]
        if return_inverse:
            results.append(self._from_array(inverse.reshape(-1) if axis is not None else inverse, False))
        if return_counts:
            results.append(self._from_array(counts, False))
        return results[0] if len(results) == 1 else tuple(results)

    def _with_axis(self, axis: int) -> tuple[Tensor, int]:
        """This tensor (as 1-D when 0-d, which torch sorts along dim 0 or -1) and the axis normalized."""
        x = self.reshape(1) if self.ndim == 0 else self
        return x, normalize_dim(axis, x.ndim)

    def _ordered(self, axis: int, descending: bool, part: slice | None) -> tuple[Tensor, Tensor]:
        """The elements along `axis` in order (the `part` of that order), and their indices, in the input's rank."""
        x, axis = self._with_axis(axis)
        indices = sorted_indices(x.data, axis, descending, self.xp)
        if part is not None:
            indices = indices[(slice(None),) * axis + (part,)]
        values = TakeAlongAxis.apply(x, indices=indices, axis=axis)
        if self.ndim == 0:
            values, indices = values.reshape(()), indices.reshape(())
        return values, self._from_array(indices, False)


def _drop_axis(values: Tensor, indices: Tensor, axis: int, keepdims: bool, ndim: int) -> tuple[Tensor, Tensor]:
    """A reduction's pair without its size-1 `axis` unless `keepdims`; 0-d for a 0-d input."""
    if ndim == 0:
        return values.reshape(()), indices.reshape(())
    if keepdims:
        return values, indices
    return values.squeeze(axis), indices.squeeze(axis)


def searchsorted(sorted_sequence: Tensor, values, *, right: bool = False, side: str | None = None) -> Tensor:
    """For each value, the index where inserting it keeps `sorted_sequence` (1-D, or one row per row of
    `values`) sorted: before equal elements, or after them with right=True or side="right". int64."""
    if side is not None:
        if side not in ("left", "right") or right and side == "left":
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right' and agree with right, got {side!r}")
        right = side == "right"
    xp, boundaries = sorted_sequence.xp, sorted_sequence.data
    queries = values.data if isinstance(values, SortingMethods) else xp.asarray(values)
    side = "right" if right else "left"
    if boundaries.ndim == 1:
        found = xp.searchsorted(boundaries, queries, side=side)
    elif boundaries.shape[:-1] != queries.shape[:-1]:
        raise RuntimeError(
            f"searchsorted: sorted_sequence {boundaries.shape} and values {queries.shape} differ before the last dim"
        )
    else:
        rows = zip(boundaries.reshape(-1, boundaries.shape[-1]), queries.reshape(-1, queries.shape[-1]))
        found = xp.stack([xp.searchsorted(b, q, side=side) for b, q in rows]).reshape(queries.shape)
    return sorted_sequence._from_array(xp.asarray(found, dtype=xp.int64), False)


def bucketize(input: Tensor, boundaries: Tensor, *, right: bool = False) -> Tensor:
    """The index of each element's bucket among the 1-D sorted `boundaries`: searchsorted with torch's `right`
    meaning the other side (right=False puts a value equal to a boundary in the bucket below it)."""
    if boundaries.ndim != 1:
        raise RuntimeError(f"bucketize: boundaries must be 1-D, got {boundaries.ndim} dimensions")
    return searchsorted(boundaries, input, right=right)


def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0 .. max(input) occurs in the 1-D non-negative integer `input` (int64), or the sum
    of `weights` at each (in the weights' floating dtype), at least `minlength` long."""
    data = input.data
    if input.ndim != 1 or data.dtype.kind not in "iu" or (data.size and data.min() < 0):
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = input.xp
    if weights is None:
        return input._from_array(xp.bincount(data, minlength=minlength).astype(xp.int64), False)
    counts = xp.bincount(data, weights=weights.data, minlength=minlength)
    return input._from_array(counts.astype(weights.dtype if weights.dtype.kind == "f" else xp.float64), False)
