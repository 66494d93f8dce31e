"""Checks for layer arguments and inputs, with errors that name the argument and what was expected.

The dtype rule, one for every layer (torch's): a layer computes in its parameters' and buffers' dtype, and an
input of another dtype is an error, never a silent cast. Cast one side first: `x.to(tn.float32)` or
`layer.to(tn.float64)` (or `layer.double()`). Layers without floating state (dropout, pooling, activations,
a norm without affine parameters or running statistics) take any floating input.
"""

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


def check_input_dtype(name: str, input: Tensor, **state: Tensor | None) -> None:
    """Raise unless `input` is floating and has the dtype of every given parameter or buffer (torch raises
    RuntimeError here too: "expected ... same dtype")."""
    if input.dtype.kind not in "fc":
        raise RuntimeError(f"{name}: expected a floating point input, got dtype {input.dtype}")
    for state_name, tensor in state.items():
        if tensor is not None and tensor.dtype != input.dtype:
            raise RuntimeError(
                f"{name}: expected the input to have the same dtype as {state_name} ({tensor.dtype}), but got "
                f"input of dtype {input.dtype}; cast the input with .to({tensor.dtype}) or the layer with "
                f".to({input.dtype})"
            )


def check_tuple(name: str, value: Any, length: int, minimum: int) -> tuple[int, ...]:
    """An int or a tuple of `length` ints (each at least `minimum`) as a tuple, as torch's `_single`, `_pair` and
    `_triple`."""
    if isinstance(value, tuple | list):
        if len(value) != length:
            what = {1: "a 1-tuple", 2: "a pair", 3: "a triple"}.get(length, f"a tuple of {length}")
            raise ValueError(f"{name} must be an int or {what} of ints, got {value!r}")
        return tuple(check_int(name, v, minimum) for v in value)
    return (check_int(name, value, minimum),) * length


def check_pair(name: str, value: Any, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints (each at least `minimum`) as a pair, as torch's `_pair`."""
    return check_tuple(name, value, 2, minimum)


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


_SPATIAL = {1: "L", 2: "H, W", 3: "D, H, W"}


def check_batch(name: str, input: Tensor, dims: int) -> tuple[Tensor, bool]:
    """A (C, *spatial) or (N, C, *spatial) input with `dims` spatial axes as (N, C, *spatial), and whether it was
    unbatched (as torch)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}")
    if input.ndim not in (dims + 1, dims + 2):
        spatial = _SPATIAL[dims]
        raise ValueError(
            f"{name}: expected a {dims + 1}-D (C, {spatial}) or {dims + 2}-D (N, C, {spatial}) input, got shape "
            f"{input.shape}"
        )
    return (input.unsqueeze(0), True) if input.ndim == dims + 1 else (input, False)


def check_image_batch(name: str, input: Tensor) -> tuple[Tensor, bool]:
    """A (C, H, W) or (N, C, H, W) input as (N, C, H, W), and whether it was unbatched (as torch)."""
    return check_batch(name, input, 2)


def check_window_fits(name: str, hw: tuple[int, ...], padding, kernel, dilation) -> None:
    """Raise unless the (dilated) kernel fits in the padded input on every axis (at least one output)."""
    for size, (before, after), k, d in zip(hw, padding, kernel, dilation):
        if size + before + after < d * (k - 1) + 1:
            raise ValueError(
                f"{name}: input of spatial size {hw} padded by {padding} is smaller than the "
                f"kernel {kernel} with dilation {dilation}"
            )
