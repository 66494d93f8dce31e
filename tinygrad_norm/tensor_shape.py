"""Tensor methods that change shape or select elements (reshape, permute, transposes, indexing, pad), and
`cat`/`stack`. Each is a thin call into ops/movement.py. Reshape, permute, transposes, expand and basic
indexing give views: the result shares the tensor's array (and its version counter), as in torch."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .devices import copy_to
from .dtypes import promote
from .ops.movement import Cat, Expand, GetItem, Pad, Permute, Reshape, Stack
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

    def __getitem__(self, index) -> Tensor:
        return GetItem.apply(self, index=_index_arrays(index, None if self.xp is np else self.device))


def _index_arrays(index, device):
    """Tensors inside an index become their arrays (every Tensor is a ShapeMethods); for a tensor on a GPU
    (`device`, None for the CPU), index arrays from host memory are copied there (as torch)."""
    if isinstance(index, tuple):
        return tuple(_index_array(i, device) for i in index)
    return _index_array(index, device)


def _index_array(item, device):
    item = item.data if isinstance(item, ShapeMethods) else item
    if device is None or not isinstance(item, np.ndarray):
        return item
    return copy_to(item, device, copy=False)


@torch_keywords
def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Cat.apply(*promote(*tensors), axis=axis)


@torch_keywords
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return Stack.apply(*promote(*tensors), axis=axis)
