"""`pad` (torch.nn.functional.pad) in its four modes, and the padding layers (ZeroPad2d, ReflectionPad1d, ...).

`pad` is given torch's flat list (left, right) for the last axis, then (top, bottom) for the one before, and so on.
A negative width removes elements. Per mode, output position o of an axis of size n, padded by (before, after),
reads input position i = o - before:

    constant    x[i] inside the input, `value` outside                                  any number of axes
    reflect     x[i] mirrored at the ends, without repeating them: -1 -> 1, n -> n-2    widths < n
    replicate   x[i] clamped to [0, n-1]
    circular    x[i] wrapped around what remains after negative widths are cut off      widths <= what remains

The last three pad the last 1, 2 or 3 axes of a batched or unbatched input ((N, C, *) or (C, *)) and gather
their elements by index, so the gradient of an element read several times is the sum of the gradients of its
copies (as torch).
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

from ..ops.windows import pad_or_cut
from ..tensor import Tensor
from ._arguments import check_choice, check_int
from .module import Module

MODES = ("constant", "reflect", "replicate", "circular")


def _pad_widths(pad: Sequence[int], ndim: int) -> list[tuple[int, int]]:
    """torch's flat list as (before, after) per axis, for the last len(pad) // 2 axes, first axis first."""
    if isinstance(pad, (str, bytes)) or not isinstance(pad, Sequence):
        raise TypeError(f"pad must be a sequence of ints, got {type(pad).__name__} {pad!r}")
    widths = [check_int("pad", n) for n in pad]
    if len(widths) % 2:
        raise ValueError(f"Padding length must be divisible by 2, got pad={tuple(pad)}")
    if len(widths) > 2 * ndim:
        raise ValueError(
            f"Padding length should be less than or equal to two times the input dimension but got padding length "
            f"{len(widths)} and input of dimension {ndim}"
        )
    return [(widths[i], widths[i + 1]) for i in range(len(widths) - 2, -1, -2)]


def _source_index(mode: str, size: int, before: int, after: int, axis: int, xp):
    """The input position each output position of one axis reads (see the module docstring), an array of `xp`
    (the input's array module: the index meets its array)."""
    out = size + before + after
    if mode == "circular":
        start, stop = max(0, -before), size - max(0, -after)
        kept = stop - start
        if kept < 0 or max(before, after) > kept:
            raise ValueError(
                f"pad: circular padding of ({before}, {after}) on axis {axis} needs at least {max(before, after, 0)} "
                f"elements after the negative widths are cut off; the axis of size {size} keeps {max(kept, 0)}"
            )
        return start + (xp.arange(out) - max(before, 0)) % max(kept, 1)
    if out < 0:
        raise ValueError(
            f"pad: the input's axis {axis} of size {size} padded by ({before}, {after}) would have a negative size"
        )
    i = xp.arange(out) - before
    if mode == "replicate":
        return xp.clip(i, 0, size - 1)
    if max(before, after) >= size:
        raise ValueError(
            f"pad: reflect padding must be less than the size of the axis it pads, got ({before}, {after}) on axis "
            f"{axis} of size {size}"
        )
    period = 2 * (size - 1)
    i = xp.abs(i) % max(period, 1)
    return xp.where(i < size, i, period - i)


def _check_non_constant(mode: str, input: Tensor, axes: int) -> None:
    if axes not in (1, 2, 3) or input.ndim not in (axes + 1, axes + 2):
        raise ValueError(
            f"pad: {mode} padding of {axes} axes takes a {axes + 1}-D or {axes + 2}-D input (unbatched or batched), "
            f"got a {input.ndim}-D input; only constant padding pads any axes"
        )
    if 0 in input.shape[input.ndim - axes - 1 :]:
        raise ValueError(
            f"pad: {mode} padding needs non-empty channel and padded axes (the batch may be empty), got shape "
            f"{input.shape}"
        )


def _constant_pad(input: Tensor, widths: list[tuple[int, int]], value) -> Tensor:
    """Negative widths cut, positive ones grow."""
    if not isinstance(value, numbers.Number):
        raise TypeError(f"pad: value must be a number, got {type(value).__name__} {value!r}")
    first = input.ndim - len(widths)
    for axis, (before, after) in enumerate(widths, first):
        if input.shape[axis] + before + after < 0:
            raise ValueError(
                f"pad: the input's axis {axis} of size {input.shape[axis]} padded by ({before}, {after}) would have a "
                "negative size"
            )
    return pad_or_cut(input, [(0, 0)] * first + widths, value)


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = None) -> Tensor:
    """Pad (or, with negative widths, crop) the last len(pad) // 2 axes; see the module docstring."""
    check_choice("mode", mode, MODES)
    widths = _pad_widths(pad, input.ndim)
    first = input.ndim - len(widths)
    if mode == "constant":
        return _constant_pad(input, widths, 0 if value is None else value)
    if value is not None:
        raise ValueError(f'Padding mode "{mode}" doesn\'t take in value argument')
    _check_non_constant(mode, input, len(widths))
    out = input
    for axis, (before, after) in enumerate(widths, first):
        index = _source_index(mode, input.shape[axis], before, after, axis, input.xp)
        out = out[(slice(None),) * axis + (index,)]
    return out


# ---- layers ------------------------------------------------------------------------------------------------------


class _PadNd(Module):
    """A padding layer: `padding` (an int for every side, or torch's flat tuple of 2·dims widths) kept as a tuple
    of 2·dims ints, as torch."""

    _dims: int
    _mode: str

    def __init__(self, padding: int | Sequence[int]):
        super().__init__()
        sides = 2 * self._dims
        if isinstance(padding, Sequence) and not isinstance(padding, str):
            if len(padding) != sides:
                raise ValueError(f"padding must be an int or a tuple of {sides} ints, got {padding!r}")
            self.padding = tuple(check_int("padding", n) for n in padding)
        else:
            self.padding = (check_int("padding", padding),) * sides

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _ConstantPadNd(_PadNd):
    _mode = "constant"

    def __init__(self, padding: int | Sequence[int], value: float):
        super().__init__(padding)
        self.value = value

    def forward(self, input: Tensor) -> Tensor:
        return pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: int | Sequence[int]):
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


def _layer(name: str, base: type, dims: int, mode: str) -> type:
    what = {"constant": "a constant", "reflect": "the reflection of the input", "replicate": "the input's edge",
            "circular": "the input wrapped around"}[mode]
    doc = f"Pads the last {dims} axes with {what}; see `pad`."
    return type(name, (base,), {"_dims": dims, "_mode": mode, "__doc__": doc, "__module__": __name__})


ConstantPad1d = _layer("ConstantPad1d", _ConstantPadNd, 1, "constant")
ConstantPad2d = _layer("ConstantPad2d", _ConstantPadNd, 2, "constant")
ConstantPad3d = _layer("ConstantPad3d", _ConstantPadNd, 3, "constant")
ZeroPad1d = _layer("ZeroPad1d", _ZeroPadNd, 1, "constant")
ZeroPad2d = _layer("ZeroPad2d", _ZeroPadNd, 2, "constant")
ZeroPad3d = _layer("ZeroPad3d", _ZeroPadNd, 3, "constant")
ReflectionPad1d = _layer("ReflectionPad1d", _PadNd, 1, "reflect")
ReflectionPad2d = _layer("ReflectionPad2d", _PadNd, 2, "reflect")
ReflectionPad3d = _layer("ReflectionPad3d", _PadNd, 3, "reflect")
ReplicationPad1d = _layer("ReplicationPad1d", _PadNd, 1, "replicate")
ReplicationPad2d = _layer("ReplicationPad2d", _PadNd, 2, "replicate")
ReplicationPad3d = _layer("ReplicationPad3d", _PadNd, 3, "replicate")
CircularPad1d = _layer("CircularPad1d", _PadNd, 1, "circular")
CircularPad2d = _layer("CircularPad2d", _PadNd, 2, "circular")
CircularPad3d = _layer("CircularPad3d", _PadNd, 3, "circular")
