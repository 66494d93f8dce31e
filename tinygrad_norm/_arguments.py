"""Argument forms that tensor methods and constructors share: torch's keyword names, and shapes given as
`f(2, 3)` or `f((2, 3))`."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np


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
