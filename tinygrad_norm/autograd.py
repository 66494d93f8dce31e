"""The tape: differentiable ops as `Function` nodes, grad mode, and reverse-mode `backward`.

Every op that runs with grad mode on and an input that requires grad becomes a node: it keeps its
inputs, what its backward needs, and its position on the tape (a counter that grows as ops run).
The output tensor owns its node, so dropping the output frees the graph; nothing global grows.
`backward` gathers the nodes the output depends on and runs them from the newest position down,
each exactly once, so a node sees the full gradient of its output before passing it on.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any

_tape_position = itertools.count()
_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode(contextlib.ContextDecorator):
    """Sets grad mode inside a `with` block or a decorated function, and restores it after."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.previous: list[bool] = []  # a stack: a decorated function may recurse into itself

    def __enter__(self):
        global _grad_enabled
        self.previous.append(_grad_enabled)
        _grad_enabled = self.enabled

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self.previous.pop()


def _grad_mode(enabled: bool, func):
    """A `_GradMode`, or `func` decorated with one when used bare as `@no_grad` (as torch allows)."""
    mode = _GradMode(enabled)
    return mode if func is None else mode(func)


def no_grad(func=None):
    """Ops inside record nothing on the tape (as `torch.no_grad`)."""
    return _grad_mode(False, func)


def enable_grad(func=None):
    """Ops inside are recorded again, even within `no_grad` (as `torch.enable_grad`)."""
    return _grad_mode(True, func)


class Function:
    """One differentiable op: `forward` maps input arrays to an output array and saves on `self`
    what `backward` needs; `backward` maps the output's gradient to one gradient per input
    (None where an input needs none): fresh arrays, or views of `grad`, never an array kept elsewhere.
    `self.xp` is the array module of the inputs (numpy or CuPy),
    `self.needs_input_grad` says which inputs want a gradient."""

    position: int
    inputs: tuple
    needs_input_grad: tuple[bool, ...]
    released = False

    def forward(self, *arrays: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op on tensors and, when grad mode is on and an input requires grad, record it."""
        fn = cls()
        fn.xp = inputs[0].xp
        data = fn.forward(*[t.data for t in inputs], **kwargs)
        if not data.ndim:  # numpy turns 0-d results into scalars; a tensor's data stays an array
            data = fn.xp.asarray(data)
        requires_grad = _grad_enabled and any(t.requires_grad for t in inputs)
        out = inputs[0]._from_array(data, requires_grad)  # a plain Tensor, also for a subclass input
        if requires_grad:
            fn.inputs = inputs
            fn.needs_input_grad = tuple(t.requires_grad for t in inputs)
            fn.position = next(_tape_position)
            out._ctx = fn
        return out

    def release(self) -> None:
        """Drop saved arrays and inputs once backward has used them."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{type(self).__name__} at tape position {getattr(self, 'position', '?')}>"


def _graph_nodes(root: Function) -> list[Function]:
    """Every node the root depends on, newest tape position first."""
    seen: dict[int, Function] = {}
    stack = [root]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        if fn.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time: its saved values were freed by the first "
                "backward. Pass retain_graph=True to the first backward() to keep them."
            )
        seen[id(fn)] = fn
        stack.extend(t._ctx for t in fn.inputs if t._ctx is not None)
    return sorted(seen.values(), key=lambda fn: fn.position, reverse=True)


def _accumulate_grad(tensor, grad, owned: bool = False) -> None:
    """Add into `tensor.grad` in place. The first gradient becomes `.grad` as it is when `owned` (a fresh
    array nothing else refers to, as torch's AccumulateGrad steals it), else a copy is stored."""
    if tensor.grad is None:
        owned = owned and grad.dtype == tensor.dtype and getattr(grad.flags, "writeable", True)
        tensor.grad = tensor._from_array(grad if owned else tensor.xp.array(grad, dtype=tensor.dtype), False)
    else:
        tensor.grad.data += grad


def run_backward(root, grad, retain_graph: bool = False) -> None:
    """Send `grad` (an array shaped like `root`) back through the tape into leaf `.grad`s."""
    if root._ctx is None:
        _accumulate_grad(root, grad)
        return
    grads = {id(root._ctx): grad}
    retained = {id(root._ctx): root} if root._retains_grad else {}
    for fn in _graph_nodes(root._ctx):
        grad = grads.pop(id(fn), None)
        if grad is None:  # no path from root carries a gradient here (e.g. an input without grad)
            continue
        if id(fn) in retained:
            _accumulate_grad(retained.pop(id(fn)), grad)
        input_grads = fn.backward(grad)
        if not isinstance(input_grads, tuple):
            input_grads = (input_grads,)
        for tensor, input_grad, needed in zip(fn.inputs, input_grads, fn.needs_input_grad):
            if not needed or input_grad is None:
                continue
            if tensor._ctx is None:
                # a backward returns fresh arrays or views of `grad`: only a fresh one, given once, is owned
                owned = not fn.xp.may_share_memory(input_grad, grad) and sum(g is input_grad for g in input_grads) == 1
                _accumulate_grad(tensor, input_grad, owned)
                continue
            key = id(tensor._ctx)
            grads[key] = grads[key] + input_grad if key in grads else input_grad
            if tensor._retains_grad:
                retained[key] = tensor
        if not retain_graph:
            fn.release()
