"""What `register_hook` and a Module's `register_*_hook` methods return: a handle that takes the hook out again
(as torch.utils.hooks.RemovableHandle), and the wrapping that lets a tensor's hook see Tensors where the engine
passes arrays."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any


class RemovableHandle:
    """`handle.remove()` deletes the hook registered under `handle.id` in `hooks` (and the id from the `extra`
    collections that note how to call it); also a context manager that removes the hook on exit."""

    _next_id = itertools.count()

    def __init__(self, hooks: dict, extra: tuple = ()):
        self.id = next(RemovableHandle._next_id)
        self.hooks, self.extra = hooks, extra

    def remove(self) -> None:
        self.hooks.pop(self.id, None)
        for collection in self.extra:
            collection.discard(self.id)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    def __repr__(self) -> str:
        return f"<RemovableHandle {self.id}>"


def add_hook(hooks: dict, hook: Callable, prepend: bool = False, extra: tuple = ()) -> RemovableHandle:
    """Register `hook` in `hooks`, last (first with `prepend`), and return its handle."""
    handle = RemovableHandle(hooks, extra)
    if prepend:
        rest = list(hooks.items())
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(rest)
    else:
        hooks[handle.id] = hook
    return handle


def tensor_grad_hook(hook: Callable, tensor_type: type) -> Callable:
    """`hook(grad: Tensor) -> Tensor | None` as the engine calls it, array to array (Tensor to Tensor in a
    backward with create_graph): the gradient goes in as a Tensor, and a returned tensor, which must keep the
    gradient's shape and dtype, replaces it (torch's rules and errors)."""
    name = getattr(hook, "__name__", type(hook).__name__)

    def on_grad(grad):
        recorded = isinstance(grad, tensor_type)
        result = hook(grad if recorded else tensor_type._from_array(grad, False))
        if result is None:
            return grad
        if not isinstance(result, tensor_type):
            raise TypeError(f"expected Tensor, but hook returned '{type(result).__name__}'")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook '{name}' has changed the size of value")
        if result.dtype != grad.dtype:
            raise RuntimeError(f"hook '{name}' has changed the type of value (was {grad.dtype} got {result.dtype})")
        return result if recorded else result.data

    return on_grad
