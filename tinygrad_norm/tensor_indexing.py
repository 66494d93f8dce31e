"""Indexing with torch's rules, and the methods that read or write at indices: `x[index]`, `x[index] = value`,
`gather`, `scatter`, `scatter_add`, `scatter_reduce`, `index_select`, `index_add`, `index_copy`, `index_fill`,
`take`, `take_along_dim`, `masked_fill`, `masked_select`, `nonzero`, and the in-place forms of the writes.

torch's indexing differs from numpy's where integers and index arrays meet: torch applies the integers first
(they drop their axes, as basic indexing), then the arrays, so `x[1, :, idx]` of a (2, 3, 4) tensor with idx of
length 5 is (3, 5) in torch and (5, 3) in numpy. Such an index runs as two numpy steps (see ops/scatter.py).
`x[index] = value` writes in place through the in-place machinery (tensor_inplace.py): recorded as `IndexPut`
when something requires grad, and the version counter is bumped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .ops.elementwise import Where
from .ops.movement import GetItem, IndexAdd, TakeAlongAxis
from .ops.scatter import IndexPut, ScatterExtreme, write_at
from .shapes import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor

SCATTER_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


class IndexingMethods:
    __slots__ = ()

    def __getitem__(self, index) -> Tensor:
        if isinstance(index, int | slice):  # the common case, the same in numpy and torch
            return GetItem.apply(self, index=index)
        out = self
        for step in index_steps(index, self.xp):
            out = GetItem.apply(out, index=step)
        return out

    def __setitem__(self, index, value) -> None:
        """Write `value` (broadcast, cast to this tensor's dtype) into the elements `index` selects, in place."""
        steps = index_steps(index, self.xp)
        value = self._wrap_operand(value)
        value = value if value.dtype == self.dtype else value.astype(self.dtype)
        self._in_place(
            lambda array: write_at(array, steps, value.data),
            lambda before: IndexPut.apply(before, value, steps=steps),
            (value,),
        )

    # ---- reading at indices -----------------------------------------------------------------------------

    def gather(self, dim: int, index: Tensor) -> Tensor:
        """out[i][j] = self[index[i][j]][j] (for dim 0; likewise along any `dim`); index has self's rank and no
        larger size than self along the other axes."""
        axis, index = self._index_along(dim, index, "gather")
        x = self[tuple(slice(None) if d == axis else slice(0, n) for d, n in enumerate(index.shape))]
        return TakeAlongAxis.apply(x, indices=index, axis=axis)

    def take_along_dim(self, indices: Tensor, dim: int | None = None) -> Tensor:
        """numpy's take_along_axis: `indices` broadcast against self except along `dim`; the flattened tensor when
        `dim` is None."""
        indices = _integer_array(indices, "take_along_dim", self.xp)
        if dim is None:
            return TakeAlongAxis.apply(self.reshape(-1), indices=indices.reshape(-1), axis=0)
        return TakeAlongAxis.apply(self, indices=indices, axis=normalize_dim(dim, self.ndim))

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        """The slices at `index` (a vector of indices) along `dim`."""
        return self[self._slices_at(dim, index, "index_select")]

    def take(self, index: Tensor) -> Tensor:
        """The elements of the flattened tensor at `index`, in index's shape."""
        return self.reshape(-1)[_integer_array(index, "take", self.xp)]

    def masked_select(self, mask: Tensor) -> Tensor:
        """The elements where `mask` (broadcast with self) is true, as a vector."""
        mask = _bool_mask(mask, "masked_select", self.xp)
        shape = np.broadcast_shapes(self.shape, mask.shape)
        return self.expand(*shape)[self.xp.broadcast_to(mask, shape)]

    def nonzero(self, *, as_tuple: bool = False) -> Tensor | tuple[Tensor, ...]:
        """The indices of the nonzero elements: an (n, ndim) int64 tensor, or one index vector per axis."""
        xp = self.xp
        if as_tuple:
            data = self.data.reshape(1) if self.ndim == 0 else self.data
            return tuple(self._from_array(i.astype(np.int64), False) for i in xp.nonzero(data))
        return self._from_array(xp.argwhere(self.data).astype(np.int64), False)

    argwhere = nonzero

    # ---- writing at indices ---------------------------------------------------------------------------

    def masked_fill(self, mask: Tensor, value) -> Tensor:
        """`value` (a number or 0-d tensor, cast to self's dtype) where `mask` is true, self elsewhere."""
        mask, value = _bool_mask(mask, "masked_fill", self.xp), self._fill_value(value, "masked_fill")
        return Where.apply(self._from_array(mask, False), value, self)

    def masked_fill_(self, mask: Tensor, value) -> Tensor:
        """masked_fill in place; `mask` must broadcast to self's shape."""
        mask, value = _bool_mask(mask, "masked_fill_", self.xp), self._fill_value(value, "masked_fill_")
        self._check_fits(mask.shape)
        return self._in_place(
            lambda array: self.xp.copyto(array, value.data, where=mask),
            lambda before: before.masked_fill(mask, value),
            (value,),
        )

    def _fill_value(self, value, name: str) -> Tensor:
        value = self._wrap_operand(value)
        if value.ndim:
            raise RuntimeError(f"{name} only supports a 0-dimensional value tensor, but got {value.ndim} dimension(s)")
        return value if value.dtype == self.dtype else value.astype(self.dtype)

    def scatter(self, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None) -> Tensor:
        """self with out[index[i][j]][j] = src[i][j] (for dim 0; likewise along any `dim`); `src` may be a number
        (or `value=` one). Where an index repeats, one of the writes wins. reduce="add" or "multiply" combines
        instead (scatter_reduce "sum" and "prod")."""
        src = value if src is None else src
        if reduce is not None:
            modes = {"add": "sum", "multiply": "prod"}
            if reduce not in modes:
                raise RuntimeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
            src = self._wrap_operand(src)
            return self.scatter_reduce(
                dim,
                index,
                src if src.ndim else src.expand(*_integer_array(index, "scatter", self.xp).shape),
                modes[reduce],
            )
        positions, values = self._scatter_operands(dim, index, src, "scatter")
        return IndexPut.apply(self, values, steps=(positions,))

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        """self with src[i][j] added at out[index[i][j]][j] (for dim 0; likewise along any `dim`); repeated
        indices add up."""
        return self.scatter_reduce(dim, index, src, "sum")

    def scatter_reduce(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True) -> Tensor:
        """Every src[i][j] reduced into out[index[i][j]][j] (for dim 0) by "sum", "prod", "mean", "amax" or "amin";
        with include_self=False the positions that receive an element forget self's value. Gradients as torch's:
        amax/amin share among the elements equal to the result; prod is exact at zeros."""
        if reduce not in SCATTER_REDUCTIONS:
            raise RuntimeError(f"scatter_reduce: reduce must be one of {SCATTER_REDUCTIONS}, got {reduce!r}")
        positions, src = self._scatter_operands(dim, index, src, "scatter_reduce")
        if reduce in ("amax", "amin"):
            return ScatterExtreme.apply(self, src, index=positions, reduce=reduce, include_self=include_self)
        written = self.xp.zeros(self.shape, bool)
        written[positions] = True
        base = self if include_self else self.masked_fill(written, 1 if reduce == "prod" else 0)
        if reduce == "prod":
            return base * _product_at(src, positions, self.shape, self.xp)
        total = base + IndexAdd.apply(src, shape=self.shape, index=positions)
        if reduce == "sum":
            return total
        count = self.xp.zeros(self.shape, np.int64)
        self.xp.add.at(count, positions, 1)
        count = self.xp.maximum(count + include_self, 1)
        if self.dtype.kind in "fc":
            return total * (1 / count).astype(self.dtype)
        return total.div(self._from_array(count.astype(self.dtype), False), rounding_mode="floor")

    # ---- whole slices along one dim, at a vector of indices -------------------------------------------------

    def index_add(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        """self with alpha * source's slices added at `index` along `dim`; repeated indices add up."""
        at, source = self._slices_at(dim, index, "index_add"), self._slices_source(dim, index, source, "index_add")
        return self + IndexAdd.apply(source if alpha == 1 else source * alpha, shape=self.shape, index=at)

    def index_copy(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        """self with its slices at `index` along `dim` replaced by source's (one write wins where an index
        repeats)."""
        at, source = self._slices_at(dim, index, "index_copy"), self._slices_source(dim, index, source, "index_copy")
        return IndexPut.apply(self, source, steps=(at,))

    def index_fill(self, dim: int, index: Tensor, value) -> Tensor:
        """self with its slices at `index` along `dim` set to `value` (a number or 0-d tensor)."""
        mask = self.xp.zeros(self.shape, bool)
        mask[self._slices_at(dim, index, "index_fill")] = True
        return self.masked_fill(mask, value)

    def _slices_at(self, dim: int, index, name: str) -> tuple:
        """The numpy index of the slices at `index` (a vector, or a number) along `dim`."""
        axis, index = normalize_dim(dim, self.ndim), _integer_array(index, name, self.xp)
        if index.ndim > 1:
            raise RuntimeError(f"{name}(): Index is supposed to be a vector, got {index.ndim} dimensions")
        size = self.shape[axis] if self.ndim else 1
        if index.size and not (-size <= index.min() and index.max() < size):
            raise IndexError(f"{name}(): index out of range for dimension {dim} with size {size}")
        return (slice(None),) * axis + (index.reshape(-1),)

    def _slices_source(self, dim: int, index, source: Tensor, name: str) -> Tensor:
        """`source` checked: self's dtype, and self's shape but len(index) along `dim`."""
        axis, count = normalize_dim(dim, self.ndim), _integer_array(index, name, self.xp).size
        expected = (*self.shape[:axis], count, *self.shape[axis + 1 :])
        if source.dtype != self.dtype:
            raise RuntimeError(f"{name}(): self ({self.dtype}) and source ({source.dtype}) must have the same dtype")
        if source.shape != expected:
            raise RuntimeError(f"{name}(): source has shape {source.shape}, expected {expected}")
        return source

    # ---- the same, in place ---------------------------------------------------------------------------------

    def scatter_(self, dim: int, index: Tensor, src=None, *, value=None, reduce: str | None = None) -> Tensor:
        return self._in_place_as(lambda t: t.scatter(dim, index, src, value=value, reduce=reduce), src, value)

    def scatter_add_(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return self._in_place_as(lambda t: t.scatter_add(dim, index, src), src)

    def scatter_reduce_(self, dim: int, index: Tensor, src: Tensor, reduce: str, *, include_self: bool = True):
        return self._in_place_as(lambda t: t.scatter_reduce(dim, index, src, reduce, include_self=include_self), src)

    def index_add_(self, dim: int, index: Tensor, source: Tensor, *, alpha: float = 1) -> Tensor:
        return self._in_place_as(lambda t: t.index_add(dim, index, source, alpha=alpha), source)

    def index_copy_(self, dim: int, index: Tensor, source: Tensor) -> Tensor:
        return self._in_place_as(lambda t: t.index_copy(dim, index, source), source)

    def index_fill_(self, dim: int, index: Tensor, value) -> Tensor:
        return self._in_place_as(lambda t: t.index_fill(dim, index, value), value)

    def _index_along(self, dim: int, index, name: str):
        """(axis, index array) for gather and scatter: index of self's rank, no larger than self off `dim`, and
        within bounds along it."""
        axis, index = normalize_dim(dim, self.ndim), _integer_array(index, name, self.xp)
        if index.ndim != self.ndim:
            raise RuntimeError(f"{name}(): Index tensor must have the same number of dimensions as input tensor")
        if any(n > size for d, (n, size) in enumerate(zip(index.shape, self.shape)) if d != axis):
            raise RuntimeError(
                f"{name}(): index {index.shape} is larger than self {self.shape} apart from dimension {dim}"
            )
        if index.size and not (0 <= index.min() and index.max() < self.shape[axis]):
            raise RuntimeError(f"{name}(): index out of bounds for dimension {dim} with size {self.shape[axis]}")
        return axis, index

    def _scatter_operands(self, dim: int, index, src, name: str) -> tuple[tuple, Tensor]:
        """The fancy index of the positions index[i][j] addresses, and the src elements written there (src cut to
        index's shape, or a number, in self's dtype)."""
        axis, index = self._index_along(dim, index, name)
        positions = tuple(
            index if d == axis else self.xp.arange(n).reshape([-1 if e == d else 1 for e in range(index.ndim)])
            for d, n in enumerate(index.shape)
        )
        src = self._wrap_operand(src)
        if src.ndim:
            if src.ndim != index.ndim or any(n > size for n, size in zip(index.shape, src.shape)):
                raise RuntimeError(
                    f"{name}(): src {src.shape} must have index's rank and be no smaller than {index.shape}"
                )
            src = src[tuple(slice(0, n) for n in index.shape)]
        else:
            src = src.expand(*index.shape)
        return positions, src if src.dtype == self.dtype else src.astype(self.dtype)


def _product_at(src: Tensor, positions: tuple, shape: tuple[int, ...], xp) -> Tensor:
    """The product of the src elements each position receives (1 where none), differentiable: the elements are
    laid out one row per receiving position, padded with ones, and each row multiplied out (`prod`, exact at
    zeros). Memory: receiving positions × the most elements one position receives."""
    flat = xp.ravel_multi_index(xp.broadcast_arrays(*positions), shape).reshape(-1)
    order = xp.argsort(flat, kind="stable")
    targets, starts, counts = xp.unique(flat[order], return_index=True, return_counts=True)
    row = xp.repeat(xp.arange(len(targets)), counts)
    column = xp.arange(len(order)) - xp.repeat(starts, counts)
    ones = src._from_array(xp.ones((len(targets), int(counts.max(initial=0))), src.dtype), False)
    rows = IndexPut.apply(ones, src.reshape(-1)[order], steps=((row, column),))
    spread = src._from_array(xp.ones(int(np.prod(shape)), src.dtype), False)
    return IndexPut.apply(spread, rows.prod(1), steps=((targets,),)).reshape(*shape)


def index_steps(index, xp) -> tuple:
    """torch's index as numpy steps: one step, or two where integers meet index arrays (integers first)."""
    parts = tuple(_index_part(p, xp) for p in (index if isinstance(index, tuple) else (index,)))
    integers = any(isinstance(p, int | np.integer) and not isinstance(p, bool) for p in parts)
    arrays = [p for p in parts if isinstance(p, xp.ndarray)]
    if not (integers and arrays):
        return (parts if isinstance(index, tuple) else parts[0],)
    first, second = [], []
    for p in parts:
        if isinstance(p, xp.ndarray):
            first.extend([slice(None)] * (p.ndim if p.dtype == np.bool_ else 1))
            second.append(p)
        elif isinstance(p, int | np.integer) and not isinstance(p, bool):
            first.append(p)
        else:
            first.append(p)
            second.append(p if p is Ellipsis else slice(None))  # None's new axis, and a slice, are there now
    return tuple(first), tuple(second)


def _index_part(part, xp):
    """One entry of an index: a Tensor or list becomes an array, a 0-d integer array an int (as torch); an index
    array in host memory goes to the GPU of a tensor there (as torch)."""
    if isinstance(part, IndexingMethods):  # every Tensor is one
        part = part.data
    elif isinstance(part, list):
        part = xp.asarray([p.data if isinstance(p, IndexingMethods) else p for p in part])
    if xp is not np and isinstance(part, np.ndarray):
        part = xp.asarray(part)
    if isinstance(part, xp.ndarray) and part.ndim == 0 and part.dtype.kind in "iu":
        return int(part)
    return part


def _integer_array(index, name: str, xp):
    array = index.data if isinstance(index, IndexingMethods) else xp.asarray(index)
    if array.dtype.kind not in "iu":
        raise RuntimeError(f"{name}(): Expected dtype int64 for index, got {array.dtype}")
    return array


def _bool_mask(mask, name: str, xp):
    array = mask.data if isinstance(mask, IndexingMethods) else xp.asarray(mask)
    if array.dtype != np.bool_:
        raise RuntimeError(f"{name} only supports boolean masks, but got mask with dtype {array.dtype}")
    return array
