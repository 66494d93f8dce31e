"""Tensor methods that change shape or select elements (reshape, permute, transposes, indexing, pad, flip, roll,
split, diagonals, triangles), and `cat`/`stack`/`meshgrid`. Each is a thin call into ops/movement.py or a
composition of those ops. Reshape, permute, transposes, expand and basic indexing give views: the result shares the
tensor's array (and its version counter), as in torch."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .dtypes import promote
from .ops.elementwise import Where
from .ops.movement import Cat, Expand, Flip, IndexAdd, Pad, Permute, Reshape, Roll, Stack
from .shapes import normalize_axis, normalize_dim, shape_args, torch_keywords

if TYPE_CHECKING:
    from .tensor import Tensor


class ShapeMethods:
    __slots__ = ()

    def reshape(self, *shape) -> Tensor:
        shape = shape_args(shape)
        return self if shape == self.shape else Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = normalize_dim(start_dim, self.ndim), normalize_dim(end_dim, self.ndim)
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def ravel(self) -> Tensor:
        return self.reshape(-1)

    def contiguous(self, memory_format=None) -> Tensor:
        """self, or a C-ordered copy of it (differentiable) when it is a strided view."""
        return self if self.is_contiguous() else self.clone()

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self.data.flags.c_contiguous)

    def permute(self, *axes) -> Tensor:
        axes = tuple(normalize_dim(a, self.ndim) for a in shape_args(axes))
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: axes {axes} are not a permutation of {self.ndim} dimensions")
        return Permute.apply(self, axes=axes)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def t(self) -> Tensor:
        """The transpose of a matrix; a 0-d or 1-D tensor as it is (as torch)."""
        if self.ndim > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.ndim}D")
        return self.transpose(0, 1) if self.ndim == 2 else self

    @property
    def T(self) -> Tensor:
        """All axes reversed. Torch deprecates this for other than 2 dimensions (use `mT` or `permute`) and
        warns; so do we."""
        if self.ndim > 2:
            warnings.warn(
                "The use of `x.T` on tensors of dimension other than 2 to reverse their shape is deprecated in "
                "torch; consider `x.mT` to transpose batches of matrices or `x.permute(...)`.",
                UserWarning,
                stacklevel=2,
            )
        return self.permute(*reversed(range(self.ndim)))

    @property
    def mT(self) -> Tensor:  # noqa: N802  (torch's name)
        """The last two axes swapped: a batch of matrices, each transposed."""
        if self.ndim < 2:
            raise RuntimeError(
                f"tensor.mT is only supported on matrices or batches of matrices. Got {self.ndim}-D tensor."
            )
        return self.transpose(-2, -1)

    def unsqueeze(self, dim: int) -> Tensor:
        dim = normalize_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim=None) -> Tensor:
        """Drop the size-1 axes among `dim` (all axes when None); axes of another size stay (as torch)."""
        axes = normalize_axis(dim, self.ndim)
        return self.reshape(*(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def expand(self, *shape) -> Tensor:
        shape = shape_args(shape)
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        return Expand.apply(self, shape=shape)

    def pad(self, pad_width, value: float = 0.0) -> Tensor:
        """Constant padding with numpy's `pad_width`: ((before, after), ...) per axis."""
        pad_width = tuple(tuple(p) for p in np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (self.ndim, 2)))
        return Pad.apply(self, pad_width=pad_width, value=value)

    # ---- torch's reorderings and selections ------------------------------------------------------------

    def flip(self, *dims, **kwargs) -> Tensor:
        """The elements in reverse order along `dims`, in a new array (as torch: not a view)."""
        axes = _dims(self, dims, kwargs, "flip")
        return Flip.apply(self, axes=axes)

    def fliplr(self) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError("fliplr: input tensor must be at least 2-D")
        return self.flip(1)

    def flipud(self) -> Tensor:
        if self.ndim < 1:
            raise RuntimeError("flipud: input tensor must be at least 1-D")
        return self.flip(0)

    def roll(self, shifts: int | Sequence[int], dims: int | Sequence[int] | None = None) -> Tensor:
        """Elements shifted cyclically by `shifts` along `dims`; without `dims`, along the flattened tensor."""
        shifts = (shifts,) if isinstance(shifts, int) else tuple(shifts)
        if dims is None:
            if len(shifts) != 1:
                raise RuntimeError(f"roll: without dims, shifts must be one int, got {shifts}")
            return Roll.apply(self, shifts=shifts, axes=None)
        axes = tuple(normalize_dim(d, self.ndim) for d in ((dims,) if isinstance(dims, int) else dims))
        if len(axes) != len(shifts):
            raise RuntimeError(f"roll: shifts and dims must have the same length, got {len(shifts)} and {len(axes)}")
        return Roll.apply(self, shifts=shifts, axes=axes)

    def repeat(self, *sizes) -> Tensor:
        """The tensor tiled `sizes[d]` times along each axis d (as numpy.tile); extra leading sizes add axes."""
        sizes = shape_args(sizes)
        if len(sizes) < self.ndim:
            raise RuntimeError(
                "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor"
            )
        if any(n < 0 for n in sizes):
            raise RuntimeError(f"repeat: sizes must not be negative, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        tiled = self.reshape(*(n for size in shape for n in (1, size)))
        tiled = tiled.expand(*(n for pair in zip(sizes, shape) for n in pair))
        return tiled.reshape(*(s * n for s, n in zip(sizes, shape)))

    def tile(self, *dims) -> Tensor:
        """`repeat` with `dims` padded with leading ones to the tensor's rank."""
        dims = shape_args(dims)
        return self.repeat(*(1,) * (self.ndim - len(dims)), *dims)

    def repeat_interleave(self, repeats=None, dim: int | None = None, *, output_size: int | None = None) -> Tensor:
        """Each element repeated `repeats` times (an int, or one count per element) along `dim`, or along the
        flattened tensor when `dim` is None. Without `repeats`, self holds the counts: index i repeated self[i]
        times."""
        if repeats is None:
            return self._from_array(self.xp.arange(self.numel(), dtype=np.int64), False).repeat_interleave(self)
        x, axis = (self.reshape(-1), 0) if dim is None else (self, normalize_dim(dim, self.ndim))
        counts = repeats.data if isinstance(repeats, ShapeMethods) else repeats
        counts = self.xp.asarray(counts)
        if counts.dtype.kind not in "iu" or counts.ndim > 1 or counts.ndim == 1 and len(counts) != x.shape[axis]:
            raise RuntimeError(f"repeat_interleave: repeats must be an int or {x.shape[axis]} integer counts")
        if (counts < 0).any():
            raise RuntimeError("repeat_interleave: repeats can not be negative")
        index = self.xp.repeat(self.xp.arange(x.shape[axis]), counts)
        if output_size is not None and output_size != len(index):
            raise RuntimeError(f"repeat_interleave: output_size is {output_size}, the repeats give {len(index)}")
        return x[(slice(None),) * axis + (index,)]

    def diff(self, n: int = 1, dim: int = -1, prepend: Tensor | None = None, append: Tensor | None = None) -> Tensor:
        """The n-th forward difference along `dim` (out[i] = x[i+1] - x[i], n times), after `prepend` and
        `append` are joined on along it."""
        axis = normalize_dim(dim, self.ndim)
        x = cat([t for t in (prepend, self, append) if t is not None], axis)
        for _ in range(min(n, x.shape[axis])):
            x = x.narrow(axis, 1, x.shape[axis] - 1) - x.narrow(axis, 0, x.shape[axis] - 1)
        return x

    def rot90(self, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
        """Rotated k quarter turns in the plane `dims`, from the first axis toward the second."""
        if len(dims) != 2 or normalize_dim(dims[0], self.ndim) == normalize_dim(dims[1], self.ndim):
            raise RuntimeError(f"rot90: expected two distinct dims, got {list(dims)}")
        first, second = dims
        k %= 4
        if k == 1:
            return self.flip(second).transpose(first, second)
        if k == 2:
            return self.flip(first, second)
        return self.flip(first).transpose(first, second) if k == 3 else self

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """The `length` elements from `start` along `dim` (a view)."""
        axis = normalize_dim(dim, self.ndim)
        size = self.shape[axis]
        start = int(start.item() if isinstance(start, ShapeMethods) else start)
        if not -size <= start <= size:
            raise IndexError(f"narrow: start out of range (expected to be in range of [{-size}, {size}], got {start})")
        start = start + size if start < 0 else start
        if not 0 <= length <= size - start:
            raise RuntimeError(f"narrow: start ({start}) + length ({length}) exceeds dimension size ({size})")
        return self[(slice(None),) * axis + (slice(start, start + length),)]

    def select(self, dim: int, index: int) -> Tensor:
        """The slice at `index` along `dim`, that axis removed (a view)."""
        axis = normalize_dim(dim, self.ndim)
        if not -self.shape[axis] <= index < self.shape[axis]:
            raise IndexError(f"select: index {index} out of range for dimension {dim} of size {self.shape[axis]}")
        return self[(slice(None),) * axis + (index,)]

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        """Pieces of `split_size` along `dim` (the last one smaller when it does not divide), or of the listed
        sizes, which must add up to the axis (views)."""
        axis = normalize_dim(dim, self.ndim)
        size = self.shape[axis]
        if isinstance(split_size_or_sections, int):
            step = split_size_or_sections
            if step < 0 or step == 0 and size:
                raise RuntimeError(f"split: split_size must be positive (0 only for an empty axis), got {step}")
            sections = [min(step, size - start) for start in range(0, size, step)] if size else [0]
        else:
            sections = list(split_size_or_sections)
            if sum(sections) != size or any(n < 0 for n in sections):
                raise RuntimeError(f"split: sections {sections} do not add up to {size}, the size of dimension {dim}")
        starts = [sum(sections[:i]) for i in range(len(sections))]
        return tuple(self.narrow(axis, start, n) for start, n in zip(starts, sections))

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        """At most `chunks` pieces of equal size ceil(n / chunks) along `dim`, the last one smaller (views)."""
        if chunks <= 0:
            raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
        size = self.shape[normalize_dim(dim, self.ndim)]
        return self.split(max(-(-size // chunks), 1) if size else 0, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        """The slices along `dim`, that axis removed (views)."""
        axis = normalize_dim(dim, self.ndim)
        return tuple(self.select(axis, i) for i in range(self.shape[axis]))

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Axis `dim` viewed as several axes of the given sizes (one of them may be -1)."""
        axis, sizes = normalize_dim(dim, self.ndim), shape_args((sizes,))
        size, product = self.shape[axis], math.prod(sizes)  # with one -1, minus the product of the others
        fits = product == size if -1 not in sizes else sizes.count(-1) == 1 and product != 0 and size % product == 0
        if not fits:
            raise RuntimeError(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} "
                f"({self.shape[axis]}) in the input tensor"
            )
        return self.reshape(*self.shape[:axis], *sizes, *self.shape[axis + 1 :])

    def unfold(self, dimension: int, size: int, step: int) -> Tensor:
        """Every window of `size` elements along `dimension`, `step` apart: that axis becomes the number of
        windows and a last axis of `size` is added."""
        axis = normalize_dim(dimension, self.ndim)
        length = self.shape[axis] if self.ndim else 1
        if step <= 0 or not 0 <= size <= length:
            raise RuntimeError(
                f"unfold: size {size} must be at most {length} (dimension {dimension}) and step {step} positive"
            )
        x = self.reshape(1) if self.ndim == 0 else self
        windows = self.xp.arange((length - size) // step + 1)[:, None] * step + self.xp.arange(size)
        return x[(slice(None),) * axis + (windows,)].movedim(axis + 1, -1)

    def movedim(self, source: int | Sequence[int], destination: int | Sequence[int]) -> Tensor:
        """Axes `source` moved to the positions `destination`, the others keeping their order."""
        source = [normalize_dim(d, self.ndim) for d in ((source,) if isinstance(source, int) else source)]
        destination = [
            normalize_dim(d, self.ndim) for d in ((destination,) if isinstance(destination, int) else destination)
        ]
        if (
            len(source) != len(destination)
            or len(set(source)) != len(source)
            or len(set(destination)) != len(destination)
        ):
            raise RuntimeError(f"movedim: invalid source {source} or destination {destination}")
        rest = iter(d for d in range(self.ndim) if d not in source)
        placed = dict(zip(destination, source))
        return self.permute(*(placed[d] if d in placed else next(rest) for d in range(self.ndim)))

    moveaxis = movedim

    def swapaxes(self, axis0: int, axis1: int) -> Tensor:
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def expand_as(self, other: Tensor) -> Tensor:
        return self.expand(*other.shape)

    def view_as(self, other: Tensor) -> Tensor:
        return self.reshape(*other.shape)

    reshape_as = view_as

    # ---- diagonals and triangles -------------------------------------------------------------------------

    def diagonal(self, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
        """The elements x[..., i, i + offset, ...] of axes `dim1` and `dim2`, as a last axis (the others kept)."""
        d1, d2 = normalize_dim(dim1, self.ndim), normalize_dim(dim2, self.ndim)
        if d1 == d2:
            raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
        x = self.movedim((d1, d2), (-2, -1))
        rows, cols = _diagonal_positions(x.shape[-2], x.shape[-1], offset, self.xp)
        return x[..., rows, cols]

    def diag(self, diagonal: int = 0) -> Tensor:
        """A vector: the square matrix with it on diagonal `diagonal`, zero elsewhere; a matrix: that diagonal."""
        if self.ndim == 2:
            return self.diagonal(diagonal)
        if self.ndim != 1:
            raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {self.ndim}D")
        n = self.shape[0] + abs(diagonal)
        return IndexAdd.apply(self, shape=(n, n), index=_diagonal_positions(n, n, diagonal, self.xp))

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two axes: elements on and below diagonal `diagonal`; zero above."""
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two axes: elements on and above diagonal `diagonal`; zero below."""
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal: int, lower: bool) -> Tensor:
        if self.ndim < 2:
            raise RuntimeError(f"{'tril' if lower else 'triu'}: input tensor must have at least 2 dimensions")
        rows, cols = self.shape[-2:]
        below = self.xp.tri(rows, cols, diagonal if lower else diagonal - 1, dtype=bool)
        keep = self._from_array(below if lower else ~below, False)
        return Where.apply(keep, self, self._from_array(self.xp.zeros((), self.dtype), False))


def _dims(t: Tensor, args: tuple, kwargs: dict, name: str) -> tuple[int, ...]:
    """torch's `dims` argument, as ints (`f(0, 1)`), one sequence (`f((0, 1))`) or `dims=`, normalized."""
    if kwargs:
        if args or set(kwargs) != {"dims"}:
            raise TypeError(f"{name}() takes the dims, as ints, one sequence or dims=, got {args} and {kwargs}")
        args = (kwargs["dims"],)
    axes = tuple(normalize_dim(d, t.ndim) for d in shape_args(args))
    if len(set(axes)) != len(axes):
        raise RuntimeError(f"{name}: dims has duplicates, got {axes}")
    return axes


def _diagonal_positions(rows: int, cols: int, offset: int, xp) -> tuple:
    """The (row, column) index arrays of diagonal `offset` of a (rows, cols) matrix."""
    n = max(0, min(rows, cols - offset) if offset >= 0 else min(rows + offset, cols))
    start_row, start_col = max(-offset, 0), max(offset, 0)
    return xp.arange(start_row, start_row + n), xp.arange(start_col, start_col + n)


@torch_keywords
def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Cat.apply(*promote(*tensors), axis=axis)


@torch_keywords
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Stack.apply(*promote(*tensors), axis=axis)


def meshgrid(*tensors: Tensor, indexing: str | None = None) -> tuple[Tensor, ...]:
    """Coordinate grids of 1-D tensors: the i-th output varies along axis i ('ij', the default) or, with 'xy', the
    first two axes swapped (views made by expand). Without `indexing` torch warns that it will be required."""
    if len(tensors) == 1 and isinstance(tensors[0], list | tuple):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn(
            "torch.meshgrid: in an upcoming release, it will be required to pass the indexing argument.",
            UserWarning,
            stacklevel=2,
        )
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise ValueError(f"meshgrid: indexing must be 'ij' or 'xy', got {indexing!r}")
    if any(t.ndim > 1 for t in tensors):
        raise RuntimeError("meshgrid: expects 0D or 1D tensors")
    vectors = [t.reshape(-1) for t in tensors]
    swap = indexing == "xy" and len(vectors) >= 2  # 'xy' is 'ij' with the first two inputs and outputs swapped
    if swap:
        vectors[0], vectors[1] = vectors[1], vectors[0]
    shape = tuple(len(v) for v in vectors)
    grids = [
        v.reshape(*(-1 if i == d else 1 for i in range(len(vectors)))).expand(*shape) for d, v in enumerate(vectors)
    ]
    if swap:
        grids[0], grids[1] = grids[1], grids[0]
    return tuple(grids)
