"""Compare the tape's gradients with float64 central differences."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .autograd import no_grad
from .devices import CPU, copy_to
from .tensor import Tensor


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
        excess = np.abs(analytic - numerical) - (atol + rtol * np.abs(numerical))
        excess[np.isnan(excess)] = np.inf  # a NaN on either side is a mismatch, never a pass
        if excess.size and excess.max() > 0:
            worst = tuple(int(i) for i in np.unravel_index(int(excess.argmax()), t.shape))
            raise GradcheckError(
                f"gradcheck: input {position} (shape {t.shape}) at index {worst}: "
                f"backward gave {analytic[worst]:.8g}, central differences give {numerical[worst]:.8g}"
            )
    return True
