"""`interpolate`, Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle and PixelUnshuffle, with torch's
arguments and rules.

`interpolate` resizes the spatial axes of (N, C, *spatial) one axis at a time. Along an axis of n elements resized
to m, output i reads a few input positions (taps) and weighs them, as torch's kernels do:

    nearest          src = floor(i·scale), one tap                    scale = n/m, or 1/scale_factor when given
                     (src = i when m = n, i // 2 when m = 2n: with 2 spatial axes even when a scale_factor
                     says otherwise, as torch's 2-D kernel)
    nearest-exact    src = floor((i + 0.5)·scale), one tap
    linear           x = (i + 0.5)·scale - 0.5 (at least 0), or i·(n-1)/(m-1) with align_corners;
                     taps floor(x) and the next (the same at the end), weights 1 - t and t, t = x - floor(x);
                     when m = n, tap i twice with weights 1 and 0
    bicubic          x as linear but not clamped; taps floor(x) - 1 .. floor(x) + 2 clamped to the axis, with
                     the cubic convolution weights of Keys (A = -0.75)
    area             adaptive average pooling to the output size

The taps are gathered (an index per output position), so the gradient adds back at the positions read, and every
tap is computed even where its weight is 0, as in torch (0·inf is nan there too). Positions are computed in
float32 for nearest, and in the input's dtype for the others, as torch does. `linear`, `bilinear`, `bicubic` and
`trilinear` need 1, 2, 2 and 3 spatial axes; nearest and area any of 1 to 3. antialias is not supported.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

from ..devices import array_module
from ..tensor import Tensor
from ._arguments import check_choice, check_int
from .adaptive_pooling import _adaptive_avg_pool
from .module import Module

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_INTERPOLATING = {"linear": 1, "bilinear": 2, "bicubic": 2, "trilinear": 3}  # mode: its number of spatial axes
CUBIC_A = -0.75


def _cubic_weights(t):
    """The four weights of taps -1, 0, 1, 2 at fraction t (Keys' cubic convolution, A = -0.75), as (m, 4)."""
    A = CUBIC_A
    near = lambda d: ((A + 2) * d - (A + 3)) * d * d + 1  # noqa: E731  (|d| <= 1)
    far = lambda d: ((A * d - 5 * A) * d + 8 * A) * d - 4 * A  # noqa: E731  (1 < |d| < 2)
    return array_module(t).stack([far(t + 1), near(t), near(1 - t), far(2 - t)], axis=-1)


def _taps(mode: str, n: int, m: int, scale: float | None, align_corners: bool, dtype, dims: int, xp) -> tuple:
    """(reads (m, k), weights (m, k) or None) of one axis resized from n to m; scale = 1/scale_factor or None.
    Arrays of `xp`, the input's array module (they meet its array)."""
    i = xp.arange(m)
    if mode == "nearest" and m in (n, 2 * n) and (scale is None or dims == 2):  # torch's exact shortcuts (see above)
        return (i if m == n else i // 2)[:, None], None
    if mode in ("nearest", "nearest-exact"):
        step = xp.float32(scale) if scale else xp.float32(n) / xp.float32(m)
        offset = xp.float32(0.5 if mode == "nearest-exact" else 0.0)
        return xp.minimum(xp.floor((i.astype(xp.float32) + offset) * step).astype(xp.int64), n - 1)[:, None], None
    if mode != "bicubic" and m == n:  # torch's shortcut: each output reads its own position, twice
        return xp.stack([i, i], axis=-1), xp.array([[1, 0]], dtype).repeat(m, axis=0)
    dtype = np.dtype(dtype)
    if align_corners:
        step = dtype.type((n - 1) / (m - 1) if m > 1 else 0)
        x = i.astype(dtype) * step
    else:
        step = dtype.type(scale if scale else n / m)
        x = (i.astype(dtype) + dtype.type(0.5)) * step - dtype.type(0.5)
        x = x if mode == "bicubic" else xp.maximum(x, 0)
    base = xp.floor(x).astype(xp.int64)
    t = x - base.astype(dtype)
    if mode == "bicubic":
        return xp.clip(base[:, None] + xp.arange(-1, 3), 0, n - 1), _cubic_weights(t).astype(dtype)
    return xp.stack([base, base + (base < n - 1)], axis=-1), xp.stack([1 - t, t], axis=-1)


def _resize_axis(x: Tensor, axis: int, reads, weights) -> Tensor:
    """Output i of `axis` = sum_j weights[i, j]·x[reads[i, j]] (x[reads[i, 0]] without weights)."""
    lead = (slice(None),) * axis
    if weights is None:
        return x[(*lead, reads[:, 0])]
    gathered = x[(*lead, reads)]  # (..., m, k, ...)
    w = Tensor._from_array(weights.reshape(weights.shape + (1,) * (x.ndim - axis - 1)), False)
    return (gathered * w).sum(axis + 1)


def _sizes(input: Tensor, size, scale_factor, recompute_scale_factor) -> tuple[tuple[int, ...], tuple]:
    """The output's spatial sizes, and per axis the scale the taps use (1/scale_factor, or None: n/m)."""
    dims = input.ndim - 2
    if (size is None) == (scale_factor is None):
        raise ValueError(
            "only one of size or scale_factor should be defined" if size is not None
            else "either size or scale_factor should be defined"
        )
    if size is not None:
        if recompute_scale_factor:
            raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
        sizes = tuple(size) if isinstance(size, Sequence) else (size,) * dims
        if len(sizes) != dims:
            raise ValueError(
                f"Input and output must have the same number of spatial dimensions, but got input with spatial "
                f"dimensions of {list(input.shape[2:])} and output size of {size}."
            )
        return tuple(check_int("size", n, 0) for n in sizes), (None,) * dims
    factors = tuple(scale_factor) if isinstance(scale_factor, Sequence) else (scale_factor,) * dims
    if len(factors) != dims:
        raise ValueError(
            f"Input and scale_factor must have the same number of spatial dimensions, but got input with spatial "
            f"dimensions of {list(input.shape[2:])} and scale_factor of shape {scale_factor}."
        )
    for factor in factors:
        if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not factor > 0:
            raise ValueError(f"scale_factor must be positive numbers, got {scale_factor!r}")
    sizes = tuple(int(math.floor(n * float(factor))) for n, factor in zip(input.shape[2:], factors))
    scales = (None,) * dims if recompute_scale_factor else tuple(1 / float(f) for f in factors)
    return sizes, scales


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resize the spatial axes of (N, C, *spatial) to `size`, or by `scale_factor`; see the module docstring."""
    check_choice("mode", mode, MODES)
    if antialias:
        raise ValueError("interpolate: antialias=True is not supported")
    if mode in _INTERPOLATING:
        align_corners = bool(align_corners)
    elif align_corners is not None:
        raise ValueError(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    dims = input.ndim - 2
    if dims not in (1, 2, 3) or _INTERPOLATING.get(mode, dims) != dims:
        wanted = f"{_INTERPOLATING[mode] + 2}D" if mode in _INTERPOLATING else "3D, 4D or 5D"
        raise ValueError(f"interpolate: got {input.ndim}D input, but {mode} mode needs {wanted} input")
    sizes, scales = _sizes(input, size, scale_factor, recompute_scale_factor)
    if mode != "area" and min(input.shape[2:] + sizes) < 1:
        raise ValueError(
            f"interpolate: input and output sizes should be greater than 0, got input {input.shape[2:]} and output "
            f"{sizes}"
        )
    if input.dtype.kind not in "fc" and mode != "nearest":
        raise RuntimeError(f"interpolate: {mode} mode needs a floating point input, got {input.dtype}")
    if mode == "area":
        return _adaptive_avg_pool("interpolate", dims, input, sizes)
    x = input
    for axis, (n, m, scale) in enumerate(zip(input.shape[2:], sizes, scales), 2):
        if n != m or scale is not None or mode != "nearest":
            x = _resize_axis(x, axis, *_taps(mode, n, m, scale, align_corners, input.dtype, dims, input.xp))
    return x


class Upsample(Module):
    """Resizes (N, C, *spatial) input; see `interpolate`. scale_factor is kept as a float (or a tuple of floats)."""

    def __init__(
        self,
        size: int | Sequence[int] | None = None,
        scale_factor: float | Sequence[float] | None = None,
        mode: str = "nearest",
        align_corners: bool | None = None,
        recompute_scale_factor: bool | None = None,
    ):
        super().__init__()
        self.name = type(self).__name__
        self.size = size
        if isinstance(scale_factor, Sequence):
            self.scale_factor = tuple(float(factor) for factor in scale_factor)
        else:
            self.scale_factor = float(scale_factor) if scale_factor is not None else None
        self.mode = check_choice("mode", mode, MODES)
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, input: Tensor) -> Tensor:
        return interpolate(
            input, self.size, self.scale_factor, self.mode, self.align_corners, self.recompute_scale_factor
        )

    def extra_repr(self) -> str:
        what = f"scale_factor={self.scale_factor!r}" if self.scale_factor is not None else f"size={self.size!r}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """Nearest-neighbour upsampling of (N, C, H, W) input (`Upsample` with mode='nearest')."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """Bilinear upsampling of (N, C, H, W) input with align_corners=True (`Upsample` with mode='bilinear')."""

    def __init__(self, size: int | Sequence[int] | None = None, scale_factor: float | Sequence[float] | None = None):
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


# ---- pixel shuffle -------------------------------------------------------------------------------------------------


def _check_factor(name: str, input: Tensor, factor: int, what: str) -> int:
    factor = check_int(what, factor, 1)
    if input.ndim < 3:
        raise ValueError(f"{name} expects input to have at least 3 dimensions, but got input with {input.ndim}")
    return factor


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) -> (*, C, H·r, W·r): out[..., c, h r + i, w r + j] = in[..., c r² + i r + j, h, w]
    (Shi et al., arXiv:1609.05158)."""
    r = _check_factor("pixel_shuffle", input, upscale_factor, "upscale_factor")
    *lead, channels, H, W = input.shape
    if channels % (r * r):
        raise ValueError(
            f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={channels} is not divisible by {r * r}"
        )
    k = len(lead)
    x = input.reshape(*lead, channels // (r * r), r, r, H, W)
    x = x.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)  # (*, C, H, r, W, r)
    return x.reshape(*lead, channels // (r * r), H * r, W * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) -> (*, C·r², H, W), the inverse of pixel_shuffle."""
    r = _check_factor("pixel_unshuffle", input, downscale_factor, "downscale_factor")
    *lead, channels, H, W = input.shape
    if H % r or W % r:
        raise ValueError(
            f"pixel_unshuffle expects height and width to be divisible by downscale_factor, but input.size(-2)={H} "
            f"and input.size(-1)={W} are not divisible by {r}"
        )
    k = len(lead)
    x = input.reshape(*lead, channels, H // r, r, W // r, r)
    x = x.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)  # (*, C, r, r, H, W)
    return x.reshape(*lead, channels * r * r, H // r, W // r)


class PixelShuffle(Module):
    """Rearranges (*, C·r², H, W) into (*, C, H·r, W·r); see `pixel_shuffle`."""

    def __init__(self, upscale_factor: int):
        super().__init__()
        self.upscale_factor = check_int("upscale_factor", upscale_factor, 1)

    def forward(self, input: Tensor) -> Tensor:
        return pixel_shuffle(input, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """Rearranges (*, C, H·r, W·r) into (*, C·r², H, W); see `pixel_unshuffle`."""

    def __init__(self, downscale_factor: int):
        super().__init__()
        self.downscale_factor = check_int("downscale_factor", downscale_factor, 1)

    def forward(self, input: Tensor) -> Tensor:
        return pixel_unshuffle(input, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"
