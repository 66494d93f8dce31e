"""The backward pass: tape positions, version counters, and `run_backward`, which sends gradients back through
the nodes (`autograd.Function`) an output depends on, as arrays, or as Tensors recorded on the tape
(create_graph: see `tensor_namespace.graph_backward`).

Version checks: an in-place op bumps its tensor's version counter (see tensor_inplace.py). A node notes
the versions of the inputs (and output) whose values its backward reads, and its backward refuses to run
once one of them has changed, since it would compute with the new values. A graph backward that recomputes a
node from its inputs refuses any input changed since the node ran.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from typing import TYPE_CHECKING, Any

from .grad_mode import _GradMode

if TYPE_CHECKING:
    from .autograd import Function

_tape_position = itertools.count()
_NOTHING = contextlib.nullcontext()


_last_change_position = -1  # the tape position of the newest in-place change: older nodes need a version check


class VersionCounter:
    """How many in-place ops changed an array; tensors that share the array (views, `detach()`) share one."""

    __slots__ = ("value", "changed_at")

    def __init__(self) -> None:
        self.value = 0
        self.changed_at = -1  # the tape position of the last change

    def bump(self) -> None:
        """Count one in-place change, and mark its place on the tape."""
        global _last_change_position
        self.value += 1
        # a racing thread may store an older position: that only makes backward check more nodes
        _last_change_position = self.changed_at = next(_tape_position)


def _version_of(tensor) -> int:
    counter = tensor._version_counter
    return 0 if counter is None else counter.value


def _graph_nodes(roots: list[Function], since: int = -1) -> list[Function]:
    """Every node the roots depend on, newest tape position first; nodes older than position `since` are
    left out (the graph then ends at the tensors they made)."""
    seen: dict[int, Function] = {}
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        if fn.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time: its saved values were freed by the first "
                "backward. Pass retain_graph=True to the first backward() to keep them."
            )
        if fn.position < since:
            continue
        seen[id(fn)] = fn
        stack.extend(parent for parent in fn.parents if parent is not None)
    return sorted(seen.values(), key=lambda fn: fn.position, reverse=True)


def _leading_to(nodes: list[Function], targets: dict) -> set[int]:
    """The ids of the nodes with a path to a target tensor: the only ones `grad` runs."""
    leads: set[int] = set()
    for fn in reversed(nodes):  # oldest first: a node's parents are decided before it
        if any(_is_target(t, parent, targets) or id(parent) in leads for t, parent in zip(fn.inputs, fn.parents)):
            leads.add(id(fn))
    return leads


def _is_target(tensor, parent, targets: dict) -> bool:
    """Whether the edge (tensor, the node that made it) delivers the gradient of a target; a tensor changed in
    place since has another node, and the gradient of the old value is not its gradient."""
    return id(tensor) in targets and tensor._ctx is parent


def _accumulate_grad(tensor, grad, owned: bool = False, create_graph: bool = False) -> None:
    """Add into `tensor.grad` in place. The first gradient becomes `.grad` as it is when `owned` (see
    `_owned_by_one_leaf`), else a copy is stored. With `create_graph` the gradient is a Tensor and the sum is
    taken out of place, so `.grad` stays on the tape and can be differentiated (as torch); the first one is
    cloned, since a backward may return one tensor for two inputs."""
    if create_graph:
        grad = grad.astype(tensor.dtype)
        tensor.grad = grad.clone() if tensor.grad is None else tensor.grad + grad
    elif tensor.grad is None:
        owned = owned and grad.dtype == tensor.dtype and getattr(grad.flags, "writeable", True)
        tensor.grad = tensor._from_array(grad if owned else tensor.xp.array(grad, dtype=tensor.dtype), False)
    else:
        tensor.grad._data += grad


def _owned_by_one_leaf(input_grad, input_grads: tuple, grad, xp) -> bool:
    """Whether a leaf may keep `input_grad` as its `.grad` without a copy (as torch's AccumulateGrad steals a
    fresh gradient). Saving the copy matters: for a large weight it is a pass over memory in every backward.

    A backward returns fresh arrays or views of its incoming `grad` (see `Function`). A view of `grad` shows
    memory that others hold (the caller's array, a retained `.grad`, another input's gradient), and an array
    returned for two inputs would be one `.grad` for two leaves; accumulating into either in place would change
    the other. So only a fresh array, returned once, is owned."""
    return not xp.may_share_memory(input_grad, grad) and sum(g is input_grad for g in input_grads) == 1


def _check_replayable(fn: Function) -> None:
    """A graph backward recomputes the node from its inputs, so none may have changed in place since it ran."""
    for i, tensor in enumerate(fn.inputs):
        counter = tensor._version_counter
        if counter is not None and counter.changed_at > fn.position:
            raise RuntimeError(
                f"create_graph: input {i} [{tensor.dtype} tensor of shape {tensor.shape}] of {fn.name()} was "
                "modified by an inplace operation after the op ran; a graph backward recomputes the op from its "
                "inputs. Use an out-of-place op, or clone() the value before changing it."
            )


def run_backward(
    roots: list, root_grads: list, retain_graph: bool, create_graph: bool = False, inputs=None, since: int = -1
):
    """Send each root's gradient back through the tape.

    Without `inputs` the gradients land in the leaves' `.grad` (and in retained non-leaf ones): `backward`.
    With `inputs`, a sequence of tensors, their gradients are returned instead (None where no path leads to one),
    no `.grad` changes, and only the nodes on a path to them run: `grad`. Nodes older than tape position `since`
    are outside the graph (the inputs of a composed formula, see `tensor_namespace.graph_backward`).

    Gradients are arrays; with `create_graph` they are Tensors and every node's backward is recorded on the tape
    (`tensor_namespace.graph_backward`). Without `retain_graph` every node visited is released afterwards, also one that
    received no gradient.
    """
    targets = None if inputs is None else {id(t): t for t in inputs}
    captured: dict[int, Any] = {}
    grads: dict[int, Any] = {}
    retained: dict[int, Any] = {}
    for root, grad in zip(roots, root_grads):
        if targets is not None and id(root) in targets:
            captured[id(root)] = captured[id(root)] + grad if id(root) in captured else grad
        if root._ctx is None:
            if targets is None:
                _accumulate_grad(root, grad, create_graph=create_graph)
            continue
        key = id(root._ctx)
        grads[key] = grads[key] + grad if key in grads else grad
        if root._retains_grad and targets is None:
            retained[key] = root
    nodes = _graph_nodes([root._ctx for root in roots if root._ctx is not None], since)
    leads = None if targets is None else _leading_to(nodes, targets)
    for fn in nodes:  # before any gradient lands anywhere, so a refused backward changes nothing
        if fn.position < _last_change_position:
            if fn.saved_versions or fn.saves_output:
                fn.check_versions()
            if create_graph and not fn.linear:
                _check_replayable(fn)
    with _GradMode(True) if create_graph else _NOTHING:  # a graph backward records, even under no_grad (as torch)
        for fn in nodes:
            grad = grads.pop(id(fn), None)
            if grad is None or leads is not None and id(fn) not in leads:  # no gradient, or not on a wanted path
                if not retain_graph:
                    fn.release()
                continue
            if id(fn) in retained:
                tensor = retained.pop(id(fn))
                _accumulate_grad(tensor, grad, create_graph=create_graph)
            if create_graph:
                needs = fn.needs_input_grad
                if leads is not None:
                    needs = tuple(
                        needed and (_is_target(t, parent, targets) or id(parent) in leads)
                        for t, parent, needed in zip(fn.inputs, fn.parents, needs)
                    )
                input_grads = _tensor_namespace().graph_backward(fn, grad, needs)
            else:
                input_grads = fn.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for tensor, parent, input_grad, needed in zip(fn.inputs, fn.parents, input_grads, fn.needs_input_grad):
                if not needed or input_grad is None:
                    continue
                if targets is not None:
                    if _is_target(tensor, parent, targets):
                        key = id(tensor)
                        captured[key] = captured[key] + input_grad if key in captured else input_grad
                    if parent is None or id(parent) not in leads:
                        continue
                elif parent is None:
                    owned = not create_graph and _owned_by_one_leaf(input_grad, input_grads, grad, fn.xp)
                    _accumulate_grad(tensor, input_grad, owned, create_graph)
                    continue
                key = id(parent)
                grads[key] = grads[key] + input_grad if key in grads else input_grad
                if tensor._retains_grad and tensor._ctx is parent and targets is None:
                    retained[key] = tensor
            if not retain_graph:
                fn.release()
    return None if targets is None else [captured.get(id(t)) for t in inputs]


@functools.cache
def _tensor_namespace():  # the array module of a graph backward
    from . import tensor_namespace  # on first use: the namespace is built on Tensor, which is built on this module

    return tensor_namespace
