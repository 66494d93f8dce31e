"""Shapes and axes, each rule written once: how arguments give them (`f(2, 3)` or `f((2, 3))`, torch's
`dim=`/`keepdim=` for numpy's `axis=`/`keepdims=`), axis normalization, and the two rules that give a gradient
back its input's shape after a broadcast (`unbroadcast`) or a reduction (`expand_reduced`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

# ---- argument forms ----------------------------------------------------------------------------


def torch_keywords(method):
    """Also accept torch's `dim=` and `keepdim=` for `axis=` and `keepdims=`."""

    @functools.wraps(method)
    def accepting_torch_keywords(*args, **kwargs):
        for torch_name, name in (("dim", "axis"), ("keepdim", "keepdims")):
            if torch_name in kwargs:
                if name in kwargs:
                    raise TypeError(f"{method.__name__}() got both {name}= and its alias {torch_name}=")
                kwargs[name] = kwargs.pop(torch_name)
        return method(*args, **kwargs)

    return accepting_torch_keywords


def shape_args(shape: tuple) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3)); every entry must be an integer (not a bool or a float, as torch)."""
    if len(shape) == 1 and isinstance(shape[0], Sequence | np.ndarray) and not isinstance(shape[0], str):
        shape = shape[0]
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, int | np.integer):
            raise TypeError(f"size must be a tuple of ints, got {type(n).__name__} {n!r} in {tuple(shape)!r}")
    return tuple(int(n) for n in shape)


def size_args(shape: tuple) -> tuple[int, ...]:
    """A new tensor's shape: `shape_args`, with no negative size."""
    shape = shape_args(shape)
    if any(n < 0 for n in shape):
        raise ValueError(f"size must not be negative, got {shape}")
    return shape


class Size(int):
    """Element count that is also callable like torch's `Tensor.size()`: `t.size == t.numel()`,
    `t.size() == t.shape`, `t.size(d) == t.shape[d]`."""

    def __new__(cls, shape: tuple[int, ...]):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = shape
        return self

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


# ---- axes --------------------------------------------------------------------------------------


def normalize_dim(dim: int, ndim: int) -> int:
    """One axis, negative counting from the end, checked to be in range (a 0-d tensor takes -1 and 0)."""
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise ValueError(f"axis {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def normalize_axis(axis, ndim: int) -> tuple[int, ...]:
    """None, an int or a tuple of ints -> a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = {normalize_dim(a, ndim) for a in ((axis,) if isinstance(axis, int) else axis)}
    return tuple(sorted(axes)) if ndim else ()


# ---- gradients back to an input's shape ----------------------------------------------------------


def unbroadcast(grad, shape: tuple[int, ...]):
    """Sum `grad` down to `shape`, undoing numpy broadcasting (leading axes, then size-1 axes)."""
    if grad.shape == shape:
        return grad
    grad = grad.sum(axis=tuple(range(grad.ndim - len(shape)))) if grad.ndim > len(shape) else grad
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=axes, keepdims=True) if axes else grad


def expand_reduced(grad, axes: tuple[int, ...], keepdims: bool):
    """Give a reduced gradient back its size-1 axes so it broadcasts against the input."""
    if keepdims:
        return grad
    shape = list(grad.shape)
    for a in axes:
        shape.insert(a, 1)
    return grad.reshape(shape)
