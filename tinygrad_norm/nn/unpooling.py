"""MaxUnpool1d, MaxUnpool2d, MaxUnpool3d and their functional forms: max pooling's partial inverse.

Each input value goes to the position `indices` names (what max pooling with return_indices gives) in an output of
zeros of size (n - 1)·stride - 2·padding + kernel per axis, or of the given `output_size` (torch's rule: within a
stride of that size). The gradient of an input value is the output's gradient at its position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..ops.pool import MaxUnpool
from ..tensor import Tensor
from ._arguments import check_tuple
from .module import Module


def _output_size(name, sizes, kernel, stride, padding, output_size) -> tuple[int, ...]:
    default = tuple((n - 1) * s + k - 2 * p for n, k, s, p in zip(sizes, kernel, stride, padding))
    if output_size is None:
        return default
    dims = len(kernel)
    output_size = tuple(output_size)
    output_size = output_size[2:] if len(output_size) == dims + 2 else output_size
    if len(output_size) != dims:
        raise ValueError(
            f"{name}: output_size should be a sequence containing {dims} or {dims + 2} elements, but it has a length "
            f"of '{len(output_size)}'"
        )
    for d, (size, n, s) in enumerate(zip(output_size, default, stride)):
        if not n - s < size < n + s:
            raise ValueError(
                f'{name}: invalid output_size "{output_size}" (dim {d} must be between {n - s} and {n + s})'
            )
    return output_size


def _max_unpool(name, dims, input, indices, kernel_size, stride, padding, output_size) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        raise ValueError(f"{name}: expected a {dims + 1}-D or {dims + 2}-D input, got shape {input.shape}")
    kernel = check_tuple("kernel_size", kernel_size, dims, 1)
    stride = kernel if stride is None else check_tuple("stride", stride, dims, 1)
    padding = check_tuple("padding", padding, dims, 0)
    index = indices.data if isinstance(indices, Tensor) else indices
    if getattr(index, "shape", None) != input.shape or index.dtype.kind not in "iu":
        raise ValueError(
            f"{name}: indices must be an integer tensor of the input's shape {input.shape}, got "
            f"{getattr(index, 'dtype', type(index).__name__)} {getattr(index, 'shape', '')}"
        )
    out = _output_size(name, input.shape[-dims:], kernel, stride, padding, output_size)
    size = math.prod(out)
    if index.size and (index.min() < 0 or index.max() >= size):
        raise ValueError(f"{name}: Found an invalid max index: indices must lie in [0, {size}), the output's size")
    unbatched = input.ndim == dims + 1
    x = input.unsqueeze(0) if unbatched else input
    y = MaxUnpool.apply(x, indices=index.reshape(x.shape), size=size).reshape(*x.shape[:2], *out)
    return y.squeeze(0) if unbatched else y


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Input (N, C, L) or (C, L) values placed at `indices` of an output of zeros; see the module docstring."""
    return _max_unpool("max_unpool1d", 1, input, indices, kernel_size, stride, padding, output_size)


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Input (N, C, H, W) or (C, H, W) values placed at `indices` (h·W + w) of an output of zeros."""
    return _max_unpool("max_unpool2d", 2, input, indices, kernel_size, stride, padding, output_size)


def max_unpool3d(input, indices, kernel_size, stride=None, padding=0, output_size=None) -> Tensor:
    """Input (N, C, D, H, W) or (C, D, H, W) values placed at `indices` of an output of zeros."""
    return _max_unpool("max_unpool3d", 3, input, indices, kernel_size, stride, padding, output_size)


_FUNCTIONAL = {1: max_unpool1d, 2: max_unpool2d, 3: max_unpool3d}


class _MaxUnpoolNd(Module):
    """Keeps kernel_size, stride (default: kernel_size) and padding as tuples, as torch."""

    _dims: int

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = check_tuple("kernel_size", kernel_size, self._dims, 1)
        self.stride = check_tuple("stride", kernel_size if stride is None else stride, self._dims, 1)
        self.padding = check_tuple("padding", padding, self._dims, 0)

    def forward(self, input: Tensor, indices: Tensor, output_size: Sequence[int] | None = None) -> Tensor:
        return _FUNCTIONAL[self._dims](input, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of MaxPool1d; see `max_unpool1d`."""

    _dims = 1


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of MaxPool2d; see `max_unpool2d`."""

    _dims = 2


class MaxUnpool3d(_MaxUnpoolNd):
    """Partial inverse of MaxPool3d; see `max_unpool3d`."""

    _dims = 3
