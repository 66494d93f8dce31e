"""Compare our layers with torch's: copy weights across, run both on the same input, and check the
output, the input gradients, every named parameter gradient and every buffer.

Import with `from .torch_helpers import ...` from a test module that has already done
`torch = pytest.importorskip("torch")`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import tinygrad_norm
import tinygrad_norm.nn
from tinygrad_norm import Tensor
from tinygrad_norm.nn import Module

# Default (rtol, atol) by input dtype, for a layer or two of float arithmetic. A test whose op sums
# over many terms passes its own, larger float32 tolerances and says why.
TOLERANCES = {np.dtype(np.float32): (1e-5, 1e-6), np.dtype(np.float64): (1e-10, 1e-12)}


def to_numpy(value: Any) -> np.ndarray:
    """An array from our Tensor, a torch tensor or anything array-like."""
    if isinstance(value, Tensor):
        return value.numpy()
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def assert_close(actual: Any, expected: Any, rtol: float, atol: float, name: str = "value") -> None:
    """Same shape, and |actual - expected| <= atol + rtol·|expected| everywhere; `name` heads the message."""
    actual, expected = to_numpy(actual), to_numpy(expected)
    assert actual.shape == expected.shape, f"{name}: shape {actual.shape}, expected {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


def copy_params_from_torch(ours: Module, theirs: torch.nn.Module) -> None:
    """Load torch's parameters and persistent buffers into ours by name (strict: the names must match)."""
    ours.load_state_dict(theirs.state_dict())


def copy_params_to_torch(ours: Module, theirs: torch.nn.Module) -> None:
    """Load our parameters and persistent buffers into torch's module by name (strict)."""
    theirs.load_state_dict({key: torch.from_numpy(value) for key, value in ours.state_dict().items()})


def build_pair(builder: Callable, dtype) -> tuple[Module, torch.nn.Module]:
    """`builder(namespace, tensor)` run with (tinygrad_norm.nn, tinygrad_norm.tensor) and (torch.nn, torch.tensor),
    in float64 when `dtype` is, torch's parameters copied into ours."""
    ours, theirs = builder(tinygrad_norm.nn, tinygrad_norm.tensor), builder(torch.nn, torch.tensor)
    if dtype == np.float64:
        ours.double(), theirs.double()
    copy_params_from_torch(ours, theirs)
    return ours, theirs


def check_layer_matches_torch(builder: Callable, shape: tuple[int, ...], dtype, rtol: float, atol: float) -> None:
    """`build_pair(builder, dtype)` run forward and backward on a seeded standard normal input of `shape`."""
    ours, theirs = build_pair(builder, dtype)
    x = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    compare_forward_backward(ours, theirs, x, rtol=rtol, atol=atol)


def _torch_input(array: np.ndarray) -> torch.Tensor:
    return torch.tensor(array, requires_grad=array.dtype.kind == "f")


def _our_input(array: np.ndarray) -> Tensor:
    return Tensor(array.copy(), requires_grad=array.dtype.kind == "f")


def compare_forward_backward(
    ours: Module | Callable[..., Tensor],
    theirs: torch.nn.Module | Callable[..., torch.Tensor],
    x: np.ndarray | tuple[np.ndarray, ...],
    upstream: np.ndarray | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> tuple[Tensor, torch.Tensor]:
    """Run `ours(*x)` and `theirs(*x)`, send `upstream` (default: a seeded standard normal of the
    output's shape) back through both, and assert that the outputs, the gradients of every floating
    input, the gradients of every named parameter and the buffers afterwards agree.

    `x` is an array or a tuple of arrays (integer arrays, e.g. class targets, get no gradient).
    Modules must hold the same weights (see `copy_params_from_torch`), be in the same train/eval
    mode and have the same dtype. Tolerances default to `TOLERANCES` for the output's dtype.
    Returns both outputs.
    """
    arrays = x if isinstance(x, tuple) else (x,)
    if isinstance(ours, Module):
        assert ours.training == theirs.training, "the two modules are in different train/eval modes"
        ours.zero_grad()
        theirs.zero_grad()

    our_inputs = [_our_input(a) for a in arrays]
    their_inputs = [_torch_input(a) for a in arrays]
    our_out, their_out = ours(*our_inputs), theirs(*their_inputs)
    out_dtype = to_numpy(their_out).dtype
    rtol = TOLERANCES[out_dtype][0] if rtol is None else rtol
    atol = TOLERANCES[out_dtype][1] if atol is None else atol
    assert_close(our_out, their_out, rtol, atol, "output")

    if upstream is None:
        upstream = np.random.default_rng(seed).standard_normal(their_out.shape).astype(out_dtype)
    our_out.backward(Tensor(upstream))
    their_out.backward(torch.tensor(upstream))

    for i, (our_in, their_in) in enumerate(zip(our_inputs, their_inputs)):
        if their_in.requires_grad:
            assert_close(_grad(our_in), _grad(their_in), rtol, atol, f"gradient of input {i}")
    if isinstance(ours, Module):
        compare_named_tensors(ours.named_parameters(), theirs.named_parameters(), rtol, atol, grads=True)
        compare_named_tensors(ours.named_buffers(), theirs.named_buffers(), rtol, atol)
    return our_out, their_out


def _grad(t: Tensor | torch.Tensor) -> np.ndarray:
    """The gradient, zeros where backward left none."""
    return np.zeros(t.shape, to_numpy(t).dtype) if t.grad is None else to_numpy(t.grad)


def compare_named_tensors(ours, theirs, rtol: float, atol: float, grads: bool = False) -> None:
    """Assert two (name, tensor) iterables have the same names in the same order and close values
    (or close gradients, with `grads=True`)."""
    ours, theirs = dict(ours), dict(theirs)
    assert list(ours) == list(theirs), f"names differ: ours {list(ours)}, torch {list(theirs)}"
    for name in ours:
        if grads:
            assert_close(_grad(ours[name]), _grad(theirs[name]), rtol, atol, f"gradient of {name}")
        else:
            assert_close(ours[name], theirs[name], rtol, atol, name)
