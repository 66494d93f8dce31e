"""Checks for layer constructor arguments, with errors that name the argument and what was expected."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..tensor import Tensor


def check_int(name: str, value: Any, minimum: int | None = None) -> int:
    """`value` as an int, which must be an integer (not a bool) of at least `minimum` when given."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def check_pair(name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each at least `minimum`) as a pair, as torch's `_pair`."""
    if isinstance(value, tuple | list):
        if len(value) != 2:
            raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
        return check_int(name, value[0], minimum), check_int(name, value[1], minimum)
    value = check_int(name, value, minimum)
    return value, value


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_image_batch(name: str, input: Tensor) -> tuple[Tensor, bool]:
    """A (C, H, W) or (N, C, H, W) input as (N, C, H, W), and whether it was unbatched (as torch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (3, 4):
        raise ValueError(f"{name}: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {input.shape}")
    return (input.unsqueeze(0), True) if input.ndim == 3 else (input, False)


def check_window_fits(name: str, hw: tuple[int, int], padding, kernel, dilation) -> None:
    """Raise unless the (dilated) kernel fits in the padded input on both axes (at least one output)."""
    for size, (before, after), k, d in zip(hw, padding, kernel, dilation):
        if size + before + after < d * (k - 1) + 1:
            raise ValueError(
                f"{name}: input of spatial size {hw} padded by {padding} is smaller than the "
                f"kernel {kernel} with dilation {dilation}"
            )
