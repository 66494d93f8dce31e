"""`detect_anomaly()`: stop at the first backward node whose gradient holds NaN or Inf, and say where its forward ran.

    with autograd.detect_anomaly():
        loss = model(x).sum()
        loss.backward()   # RuntimeError: Function 'Sqrt' at tape position 41 returned nan values in ...

Inside the block every recorded op keeps the Python stack of its forward, and after each node's backward its
input gradients are checked. Both happen only inside the block: a normal run pays nothing. The error names the
op, its tape position, the shapes of its inputs and of its output's gradient, and the source line of the forward
(the innermost one outside the tensor and op code, so in a layer or in the caller's program), then lists the
forward's stack, as torch's anomaly mode does. The block watches ops in every thread.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from contextlib import contextmanager

from .autograd import Function, Watcher, watching

_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_ENGINE_FOLDERS = (_PACKAGE, os.path.join(_PACKAGE, "ops"))  # tensor methods, the tape and the ops


class _AnomalyWatcher(Watcher):
    def __init__(self, check_nan: bool):
        self.check_nan = check_nan

    def forward(self, fn: Function, inputs: tuple, out, seconds: float) -> None:
        if hasattr(fn, "position"):  # recorded on the tape
            stack = traceback.extract_stack()
            fn.forward_stack = [frame for frame in stack if os.path.dirname(frame.filename) not in _ENGINE_FOLDERS]

    def backward(self, fn: Function, grad, input_grads: tuple, seconds: float) -> None:
        if not self.check_nan:
            return
        for index, input_grad in enumerate(input_grads):
            if input_grad is not None and input_grad.dtype.kind in "fc" and not fn.xp.isfinite(input_grad).all():
                kind = "nan" if fn.xp.isnan(input_grad).any() else "inf"
                raise RuntimeError(_message(fn, grad, index, kind))


def _message(fn: Function, grad, index: int, kind: str) -> str:
    shapes = ", ".join(str(t.shape) for t in fn.inputs)
    text = (
        f"Function '{type(fn).__name__}' at tape position {fn.position} returned {kind} values in the gradient of "
        f"its input {index} (inputs of shapes {shapes}; output gradient of shape {grad.shape})."
    )
    stack = getattr(fn, "forward_stack", None)
    if not stack:
        return text + " Its forward ran before detect_anomaly() was entered, so where is unknown."
    line = stack[-1]
    text += f" Its forward ran at {line.filename}:{line.lineno} in {line.name}: {line.line}"
    return text + "\n\nForward call stack (most recent call last):\n" + "".join(traceback.format_list(stack))


@contextmanager
def detect_anomaly(check_nan: bool = True) -> Iterator[None]:
    """Inside the block, the first backward node that returns a NaN or Inf gradient raises a RuntimeError that
    says where its forward ran (see the module docstring); `check_nan=False` keeps the stacks without checking."""
    with watching(_AnomalyWatcher(check_nan)):
        yield
