"""Compare the tape's gradients with float64 central differences: first derivatives (`gradcheck`) and second
derivatives, through a backward recorded with create_graph (`gradgradcheck`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from . import autograd
from .autograd import enable_grad, no_grad
from .devices import CPU, copy_to
from .tensor import Tensor
from .tensor_shape import cat


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


def gradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check d<v, fn(*inputs)>/d(input) from `backward` against central differences, for a random
    projection `v` of the output (so tensor outputs work), and every input that requires grad.

    Inputs that require grad must be float64 (on any one device). Raises `GradcheckError` naming the input, the
    worst element and both values; returns True when every gradient matches within atol + rtol·|numerical|.
    """
    wrt = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    for t in wrt:
        if t.dtype != np.float64:
            raise TypeError(f"gradcheck: inputs that require grad must be float64, got {t.dtype}")

    out = fn(*inputs)
    projection = np.random.default_rng(seed).standard_normal(out.shape)

    def objective() -> float:
        with no_grad():
            return float((copy_to(fn(*inputs).data, CPU, copy=False) * projection).sum())

    for t in wrt:
        t.grad = None
    (out * Tensor(projection, device=out.device)).sum().backward()

    for position, t in enumerate(inputs):
        if not (isinstance(t, Tensor) and t.requires_grad):
            continue
        analytic = np.zeros(t.shape) if t.grad is None else copy_to(t.grad.data, CPU, copy=False)
        numerical = np.empty(t.shape)
        for index in np.ndindex(t.shape):
            original = t.data[index]
            t.data[index] = original + eps
            plus = objective()
            t.data[index] = original - eps
            minus = objective()
            t.data[index] = original
            numerical[index] = (plus - minus) / (2 * eps)
        excess = np.asarray(np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical)))  # 0-d stays an array
        excess[np.isnan(excess)] = np.inf  # a NaN on either side is a mismatch, never a pass
        if excess.size and excess.max() > 0:
            worst = tuple(int(i) for i in np.unravel_index(int(excess.argmax()), t.shape))
            raise GradcheckError(
                f"gradcheck: input {position} (shape {t.shape}) at index {worst}: "
                f"backward gave {analytic[worst]:.8g}, central differences give {numerical[worst]:.8g}"
            )
    return True


def gradgradcheck(
    fn: Callable[..., Tensor],
    *inputs: Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives, as torch.autograd.gradgradcheck: `gradcheck` of the first derivatives
    grad(<v, fn(*inputs)>, inputs) taken with create_graph, as a function of the inputs and of the output's
    weights `v` (random, seeded by `seed`), so both the graph backward's own gradient and its dependence on `v`
    are checked. First, the graph backward's first derivatives must equal the plain backward's (a kernel op's
    composed formula against its kernels). Arguments, requirements and errors as `gradcheck`; in a message,
    input number len(inputs) is `v`."""
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradgradcheck: no input requires grad")
    with no_grad():
        out_shape = fn(*inputs).shape
    weights = Tensor(np.random.default_rng(seed).standard_normal(out_shape), requires_grad=True)

    def first_derivatives(*args: Tensor, create_graph: bool = True) -> list[Tensor]:
        *xs, v = args
        with enable_grad():
            grads = autograd.grad(fn(*xs), [xs[i] for i in wrt], v, create_graph=create_graph, allow_unused=True)
        return [Tensor(np.zeros(xs[i].shape)) if g is None else g for i, g in zip(wrt, grads)]

    plain = first_derivatives(*inputs, weights, create_graph=False)
    for i, expected, got in zip(wrt, plain, first_derivatives(*inputs, weights)):
        expected, got = expected.numpy(), got.numpy()
        mismatch = np.asarray(~np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))
        if mismatch.any():
            first = tuple(int(k) for k in np.unravel_index(int(mismatch.argmax()), got.shape))
            raise GradcheckError(
                f"gradgradcheck: input {i} at index {first}: the graph backward (create_graph) gave "
                f"{got[first]:.8g}, the backward {expected[first]:.8g}"
            )
    try:
        return gradcheck(
            lambda *args: cat([g.reshape(-1) for g in first_derivatives(*args)]),
            *inputs,
            weights,
            eps=eps,
            atol=atol,
            rtol=rtol,
            seed=seed + 1,
        )
    except GradcheckError as error:
        raise GradcheckError(f"gradgradcheck (second derivatives), {error}") from None
