"""The backward pass: tape positions, version counters, `run_backward` (which sends gradients back through the
nodes, `autograd.Function`, an output depends on: as arrays, or as Tensors recorded on the tape with
create_graph, see `tensor_namespace.graph_backward`), gradient hooks and watchers.

Version checks: an in-place op bumps its tensor's version counter (see tensor_inplace.py). A node notes
the versions of the inputs (and output) whose values its backward reads, and its backward refuses to run
once one of them has changed, since it would compute with the new values. A graph backward that recomputes a
node from its inputs refuses any input changed since the node ran.

Hooks (`Tensor.register_hook`) change a gradient before it is used: a non-leaf's hooks live on the node that
made it and run on the node's full gradient before its backward; a leaf's run once on the sum of its gradients,
after its last consumer, before the sum is added into `.grad` (as torch). Watchers (`trace()`,
`detect_anomaly()`) are told about each op and each backward node while they are on; a run without them pays one
check per op.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
from time import perf_counter
from typing import TYPE_CHECKING, Any

from .devices import current

if TYPE_CHECKING:
    from .autograd import Function

_tape_position = itertools.count()
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


def graph_nodes(roots: list[Function], since: int = -1) -> list[Function]:
    """Every node the roots depend on, newest tape position first: the order backward runs them in. Nodes older
    than position `since` are left out (the graph then ends at the tensors they made)."""
    seen: dict[int, Function] = {}
    stack = list(roots)
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        if fn.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or to read it after backward): its saved "
                "values were freed by the first backward. Pass retain_graph=True to the first backward() to keep them."
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
    shares = type(input_grad) is type(grad) and xp.may_share_memory(input_grad, grad)  # not across devices
    return not shares and sum(g is input_grad for g in input_grads) == 1


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
    (`tensor_namespace.graph_backward`; the caller turns grad mode on). Without `retain_graph` every node visited
    is released afterwards, also one that received no gradient.
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
                hooked = _run_hooks(root._grad_hooks, grad) if root._grad_hooks else grad
                _accumulate_grad(root, hooked, False, create_graph)
            continue
        key = id(root._ctx)
        grads[key] = grads[key] + grad if key in grads else grad
        if root._retains_grad and targets is None:
            retained[key] = root
    nodes = graph_nodes([root._ctx for root in roots if root._ctx is not None], since)
    leads = None if targets is None else _leading_to(nodes, targets)
    for fn in nodes:  # before any gradient lands anywhere, so a refused backward changes nothing
        if fn.position < _last_change_position:
            if fn.saved_versions or fn.saves_output:
                fn.check_versions()
            if create_graph and not fn.linear:
                _check_replayable(fn)
    held: _HeldLeafGrads | None = None  # made at the first leaf gradient that a hook must see
    watchers = _watchers
    for fn in nodes:
        grad = grads.pop(id(fn), None)
        if grad is not None and (leads is None or id(fn) in leads):  # else no gradient, or not on a wanted path
            if fn.grad_hooks:
                grad = _run_hooks(fn.grad_hooks, grad)
            if id(fn) in retained:
                _accumulate_grad(retained.pop(id(fn)), grad, False, create_graph)
            if create_graph:
                input_grads = _graph_backward(fn, grad, targets, leads, watchers)
            else:
                with current(grad):  # CuPy's current GPU the gradient's, as in Function.apply
                    input_grads = _watched_backward(fn, grad, watchers) if watchers else fn.backward(grad)
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
                    if tensor._grad_hooks:
                        held = held or _HeldLeafGrads(nodes[nodes.index(fn) :], create_graph)
                        held.add(tensor, input_grad)
                    else:
                        owned = not create_graph and _owned_by_one_leaf(input_grad, input_grads, grad, fn.xp)
                        _accumulate_grad(tensor, input_grad, owned, create_graph)
                    continue
                key = id(parent)
                grads[key] = grads[key] + input_grad if key in grads else input_grad
                if tensor._retains_grad and tensor._ctx is parent and targets is None:
                    retained[key] = tensor
        if held is not None:
            held.accumulate_after(fn)
        if not retain_graph:
            fn.release()
    return None if targets is None else [captured.get(id(t)) for t in inputs]


def _graph_backward(fn: Function, grad, targets: dict | None, leads: set | None, watchers: list) -> tuple:
    """`fn`'s backward recorded on the tape (create_graph), for the inputs on a path to a target."""
    needs = fn.needs_input_grad
    if leads is not None:
        needs = tuple(
            needed and (_is_target(t, parent, targets) or id(parent) in leads)
            for t, parent, needed in zip(fn.inputs, fn.parents, needs)
        )
    start = perf_counter()
    input_grads = _tensor_namespace().graph_backward(fn, grad, needs)
    input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
    if watchers:  # they look at arrays
        seconds = perf_counter() - start
        arrays = tuple(None if g is None else g._data for g in input_grads)
        for watcher in watchers:
            watcher.backward(fn, grad._data, arrays, seconds)
    return input_grads


@functools.cache
def _tensor_namespace():  # the array module of a graph backward
    from . import tensor_namespace  # on first use: the namespace is built on Tensor, which is built on this module

    return tensor_namespace


# ---- hooks and watchers ------------------------------------------------------------------------


def grad_hooks_of(tensor) -> dict:
    """The dict of hooks `hook(grad) -> grad` (arrays, or Tensors in a graph backward) that see `tensor`'s
    gradient, made on first use. A leaf keeps its own; a non-leaf's live on the node that made it, so a later
    in-place op (which gives the tensor a new node) leaves them with the old value's gradient, as in torch."""
    if tensor._ctx is None:
        if tensor._grad_hooks is None:
            tensor._grad_hooks = {}
        return tensor._grad_hooks
    if tensor._ctx.grad_hooks is None:
        tensor._ctx.grad_hooks = {}
    return tensor._ctx.grad_hooks


def _run_hooks(hooks: dict, grad):
    for hook in list(hooks.values()):  # a hook may remove itself
        grad = hook(grad)
    return grad


class _HeldLeafGrads:
    """Gradients of leaves with hooks, summed until the leaf's last consumer (lowest tape position) has passed,
    then given to its hooks once and added into `.grad` (torch's AccumulateGrad runs as soon as it is ready)."""

    def __init__(self, nodes: list[Function], create_graph: bool):
        """`nodes`: those still to run, in the order they run."""
        last_use: dict[int, tuple[int, Any]] = {}  # id(leaf) -> (position of its last consumer, leaf)
        for fn in nodes:  # newest first, so the last write per leaf is its oldest consumer
            for tensor, parent, needed in zip(fn.inputs, fn.parents, fn.needs_input_grad):
                if needed and parent is None and tensor._grad_hooks:
                    last_use[id(tensor)] = (fn.position, tensor)
        self.ready_after: dict[int, list] = {}
        for position, tensor in last_use.values():
            self.ready_after.setdefault(position, []).append(tensor)
        self.sums: dict[int, Any] = {}
        self.create_graph = create_graph

    def add(self, tensor, grad) -> None:
        key = id(tensor)
        self.sums[key] = self.sums[key] + grad if key in self.sums else grad

    def accumulate_after(self, fn: Function) -> None:
        for tensor in self.ready_after.pop(fn.position, ()):
            grad = self.sums.pop(id(tensor), None)
            if grad is not None:
                _accumulate_grad(tensor, _run_hooks(tensor._grad_hooks, grad), False, self.create_graph)


class Watcher:
    """Something told about the tape as it runs, while it is in `_watchers` (see `watching`): `trace()` times
    ops, `detect_anomaly()` keeps each node's forward stack and checks its gradients."""

    def forward(self, fn: Function, inputs: tuple, out, seconds: float) -> None:
        """`fn` ran forward on `inputs` and made `out` in `seconds` (recorded on the tape when `fn` has a
        position)."""

    def backward(self, fn: Function, grad, input_grads: tuple, seconds: float) -> None:
        """`fn.backward(grad)` returned `input_grads` (arrays or None) in `seconds`."""


_watchers: list[Watcher] = []  # those on now, in every thread


def _watched_backward(fn: Function, grad, watchers: list[Watcher]) -> tuple:
    start = perf_counter()
    input_grads = fn.backward(grad)
    seconds = perf_counter() - start
    input_grads = input_grads if isinstance(input_grads, tuple) else (input_grads,)
    for watcher in watchers:
        watcher.backward(fn, grad, input_grads, seconds)
    return input_grads


@contextlib.contextmanager
def watching(watcher: Watcher):
    """Tell `watcher` about every op and backward node, in every thread, inside the block."""
    _watchers.append(watcher)
    try:
        yield watcher
    finally:
        _watchers.remove(watcher)
