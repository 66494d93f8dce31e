"""Tensors made after this one (torch's `new_*` methods): its dtype unless `dtype` is given, on its array module,
and `type_as`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dtypes import as_dtype
from .shapes import size_args

if TYPE_CHECKING:
    from .tensor import Tensor


class NewTensorMethods:
    __slots__ = ()

    def new_zeros(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return self._new(self.xp.zeros, size, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return self._new(self.xp.ones, size, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, requires_grad: bool = False) -> Tensor:
        return self._new(self.xp.empty, size, dtype, requires_grad)

    def new_full(self, size, fill_value, *, dtype=None, requires_grad: bool = False) -> Tensor:
        """`fill_value` everywhere, in self's dtype (or `dtype`): new_full of an int64 tensor with 2.7 holds 2."""
        data = self.xp.full(size_args((size,)), fill_value, dtype=as_dtype(dtype) or self.dtype)
        return self._from_array(data, requires_grad)

    def new_tensor(self, data, *, dtype=None, requires_grad: bool = False) -> Tensor:
        """A copy of `data` (a nested list, an array or a tensor), in self's dtype unless `dtype` is given."""
        data = data.data if isinstance(data, NewTensorMethods) else data
        return self._from_array(self.xp.array(data, dtype=as_dtype(dtype) or self.dtype), requires_grad)

    def type_as(self, other: Tensor) -> Tensor:
        """self cast to other's dtype."""
        return self.astype(other.dtype)

    def _new(self, fill, size: tuple, dtype, requires_grad: bool) -> Tensor:
        return self._from_array(fill(size_args(size), dtype=as_dtype(dtype) or self.dtype), requires_grad)
