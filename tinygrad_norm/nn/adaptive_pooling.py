"""Adaptive average and max pooling over 1, 2 or 3 spatial axes (AdaptiveAvgPool1d..3d, AdaptiveMaxPool1d..3d)
with their functional forms: the output size is given, the windows follow from it.

Along an axis of n elements pooled to m, output i reads torch's bin [floor(i·n/m), ceil((i+1)·n/m)) (bins may
overlap and differ in size by one).

The bins of an axis are gathered into windows of the largest bin's size k, a short bin repeating its last element.

- Average: one axis at a time, the sum over each window without its repeats, over the bin's size; the gradient adds
  back at the positions read. (Only a bin's own elements take part, so an inf or nan stays in its bins.)
- Max: the windows of every axis at once; max pooling with kernel = stride = k picks a position in each (a repeat
  changes neither the maximum nor which position the max pooling kernels pick, since it comes right after the
  element it repeats), which maps back to the input, and the output is the input gathered at those positions.
"""

from __future__ import annotations

from ..ops.pool import gather_positions
from ..tensor import Tensor, where
from ._arguments import check_batch, check_int
from .module import Module
from .pooling import max_pool1d, max_pool2d, max_pool3d

Size = int | None | tuple[int | None, ...]


def _adaptive_size(output_size: Size, dims: int) -> tuple[int | None, ...]:
    """An int, or a tuple of `dims` entries whose None entries keep the input's size."""
    if isinstance(output_size, tuple | list):
        if len(output_size) != dims:
            raise ValueError(f"output_size must be an int or a tuple of {dims}, got {output_size!r}")
        return tuple(None if n is None else check_int("output_size", n, 1) for n in output_size)
    return (check_int("output_size", output_size, 1),) * dims


def _bins(n: int, m: int, xp):
    """The start and (exclusive) end of each of the m bins over n elements, as (m, 1) arrays."""
    i = xp.arange(m)[:, None]
    return (i * n) // m, -((-(i + 1) * n) // m)


def _window_reads(n: int, m: int, xp):
    """(m, k): the input position that element j of window i reads, k the largest bin; a short bin repeats its
    last position."""
    start, end = _bins(n, m, xp)
    return xp.minimum(start + xp.arange(int((end - start).max()))[None, :], end - 1)


def _out_sizes(x: Tensor, output_size: Size, dims: int) -> tuple[int, ...]:
    sizes = _adaptive_size(output_size, dims)
    return tuple(n if m is None else m for n, m in zip(x.shape[2:], sizes))


def _adaptive_avg_pool(name: str, dims: int, input: Tensor, output_size: Size) -> Tensor:
    x, unbatched = check_batch(name, input, dims)
    xp = x.xp
    for axis, (n, m) in enumerate(zip(x.shape[2:], _out_sizes(x, output_size, dims)), 2):
        if n != m:
            start, end = _bins(n, m, xp)
            reads = _window_reads(n, m, xp)  # (m, k)
            trailing = (1,) * (x.ndim - axis - 1)
            own = (start + xp.arange(reads.shape[1]) < end).reshape(reads.shape + trailing)  # not a repeat
            windows = x[(slice(None),) * axis + (reads,)]  # (..., m, k, ...)
            size = Tensor._from_array((1 / (end - start)).astype(x.dtype).reshape((m,) + trailing), False)
            x = where(own, windows, 0).sum(axis + 1) * size
    return x.squeeze(0) if unbatched else x


_MAX_POOLS = {1: max_pool1d, 2: max_pool2d, 3: max_pool3d}


def _adaptive_max_pool(name: str, dims: int, input: Tensor, output_size: Size, return_indices: bool):
    x, unbatched = check_batch(name, input, dims)
    xp, sizes = x.xp, x.shape[2:]
    if 0 in x.shape[:2] + sizes:
        raise ValueError(f"{name}: expected an input with non-empty axes, got shape {input.shape}")
    reads = [_window_reads(n, m, xp) for n, m in zip(sizes, _out_sizes(x, output_size, dims))]
    # windows[n, c, i1, j1, i2, j2, ...] = x[n, c, reads[0][i1, j1], reads[1][i2, j2], ...]
    grid = [(1,) * (2 * a) + r.shape + (1,) * (2 * (dims - a - 1)) for a, r in enumerate(reads)]
    windows = x.data[(slice(None), slice(None), *(r.reshape(shape) for r, shape in zip(reads, grid)))]
    windows = windows.reshape(*x.shape[:2], *(m * k for m, k in (r.shape for r in reads)))
    kernel = tuple(r.shape[1] for r in reads)
    _, picked = _MAX_POOLS[dims](Tensor._from_array(windows, False), kernel, return_indices=True)
    per_axis = xp.unravel_index(picked.data, windows.shape[2:])  # the picked window element, per axis
    positions = xp.ravel_multi_index(tuple(r.reshape(-1)[p] for r, p in zip(reads, per_axis)), sizes)
    y = gather_positions(x, positions)
    if unbatched:
        y, positions = y.squeeze(0), positions[0]
    return (y, Tensor(positions)) if return_indices else y


def adaptive_avg_pool1d(input: Tensor, output_size: Size) -> Tensor:
    """Average over torch's adaptive bins of (N, C, L) or (C, L): output (N, C, output_size)."""
    return _adaptive_avg_pool("adaptive_avg_pool1d", 1, input, output_size)


def adaptive_avg_pool2d(input: Tensor, output_size: Size) -> Tensor:
    """Average over torch's adaptive bins of (N, C, H, W) or (C, H, W): output (N, C, OH, OW); None keeps a size."""
    return _adaptive_avg_pool("adaptive_avg_pool2d", 2, input, output_size)


def adaptive_avg_pool3d(input: Tensor, output_size: Size) -> Tensor:
    """Average over torch's adaptive bins of (N, C, D, H, W) or (C, D, H, W); None keeps a size."""
    return _adaptive_avg_pool("adaptive_avg_pool3d", 3, input, output_size)


def adaptive_max_pool1d(input: Tensor, output_size: Size, return_indices: bool = False):
    """Maximum over torch's adaptive bins of (N, C, L) or (C, L), with the positions it came from when asked."""
    return _adaptive_max_pool("adaptive_max_pool1d", 1, input, output_size, return_indices)


def adaptive_max_pool2d(input: Tensor, output_size: Size, return_indices: bool = False):
    """Maximum over torch's adaptive bins of (N, C, H, W) or (C, H, W), with the positions h·W + w when asked."""
    return _adaptive_max_pool("adaptive_max_pool2d", 2, input, output_size, return_indices)


def adaptive_max_pool3d(input: Tensor, output_size: Size, return_indices: bool = False):
    """Maximum over torch's adaptive bins of (N, C, D, H, W) or (C, D, H, W), with the positions when asked."""
    return _adaptive_max_pool("adaptive_max_pool3d", 3, input, output_size, return_indices)


class _AdaptivePoolNd(Module):
    """Keeps output_size as given (an int, or a tuple whose None entries keep the input's size)."""

    _dims: int

    def __init__(self, output_size: Size):
        super().__init__()
        _adaptive_size(output_size, self._dims)
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveAvgPoolNd(_AdaptivePoolNd):
    def forward(self, input: Tensor) -> Tensor:
        return _adaptive_avg_pool(f"adaptive_avg_pool{self._dims}d", self._dims, input, self.output_size)


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    def __init__(self, output_size: Size, return_indices: bool = False):
        super().__init__(output_size)
        self.return_indices = return_indices

    def forward(self, input: Tensor) -> Tensor | tuple[Tensor, Tensor]:
        name = f"adaptive_max_pool{self._dims}d"
        return _adaptive_max_pool(name, self._dims, input, self.output_size, self.return_indices)


class AdaptiveAvgPool1d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, L) or (C, L) to a fixed length. See `adaptive_avg_pool1d`."""

    _dims = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPoolNd):
    """Average pooling to a fixed output size. See `adaptive_avg_pool2d`."""

    _dims = 2


class AdaptiveAvgPool3d(_AdaptiveAvgPoolNd):
    """Average pooling of (N, C, D, H, W) to a fixed output size. See `adaptive_avg_pool3d`."""

    _dims = 3


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, L) or (C, L) to a fixed length. See `adaptive_max_pool1d`."""

    _dims = 1


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    """Max pooling to a fixed output size. See `adaptive_max_pool2d`."""

    _dims = 2


class AdaptiveMaxPool3d(_AdaptiveMaxPoolNd):
    """Max pooling of (N, C, D, H, W) to a fixed output size. See `adaptive_max_pool3d`."""

    _dims = 3
