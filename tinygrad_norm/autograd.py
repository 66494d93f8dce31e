"""The tape: differentiable ops as `Function` nodes, version checks, reverse-mode `backward`, hooks and watchers.

Every op that runs with grad mode on and an input that requires grad becomes a node: it keeps its
inputs, the nodes that produced them (its edges, fixed when it runs), what its backward needs, and its
position on the tape (a counter that grows as ops run). The output tensor owns its node, so dropping the
output frees the graph; nothing global grows. `backward` gathers the nodes the output depends on and runs
them from the newest position down, each exactly once, so a node sees the full gradient of its output
before passing it on.

Grad mode (grad_mode.py) is per thread, as in torch: `no_grad` in one thread leaves every other thread
recording.

Version checks: an in-place op bumps its tensor's version counter (see tensor_inplace.py). A node notes
the versions of the inputs (and output) whose values its backward reads, and its backward refuses to run
once one of them has changed, since it would compute with the new values.

Hooks (`Tensor.register_hook`) change a gradient before it is used: a non-leaf's hooks live on the node that
made it and run on the node's full gradient before its backward; a leaf's run once on the sum of its gradients,
after its last consumer, before the sum is added into `.grad` (as torch). Watchers (`trace()`,
`detect_anomaly()`) are told about each op and each backward node while they are on; a run without them pays one
check per op.
"""

from __future__ import annotations

import contextlib
import itertools
from time import perf_counter
from typing import Any

import numpy as np

from .devices import array_module, check_same, current
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, thread_grad_mode

__all__ = [
    "Function",
    "detect_anomaly",
    "enable_grad",
    "is_grad_enabled",
    "no_grad",
    "run_backward",
    "set_grad_enabled",
    "tape",
    "trace",
]

_tape_position = itertools.count()
_last_change_position = -1  # the tape position of the newest in-place change: older nodes need a version check


class VersionCounter:
    """How many in-place ops changed an array; tensors that share the array (views, `detach()`) share one."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def bump(self) -> None:
        """Count one in-place change, and mark its place on the tape."""
        global _last_change_position
        self.value += 1
        # a racing thread may store an older position: that only makes backward check more nodes
        _last_change_position = next(_tape_position)


def _version_of(tensor) -> int:
    counter = tensor._version_counter
    return 0 if counter is None else counter.value


class Function:
    """One differentiable op: `forward` maps input arrays to an output array and saves on `self`
    what `backward` needs; `backward` maps the output's gradient to one gradient per input
    (None where an input needs none): fresh arrays, or views of `grad`, never an array kept elsewhere.
    `self.xp` is the array module of the inputs (numpy or CuPy),
    `self.needs_input_grad` says which inputs want a gradient.

    `saved_inputs` lists the inputs whose arrays the node depends on after forward (None: all of them):
    those `backward` reads, and for a view op the input whose array its output shows. `saves_output` says
    whether `backward` reads the output. Their versions are noted when the op runs and checked before
    `backward` runs. `is_view` marks ops whose output may share the input's array (and then its version
    counter).
    """

    saved_inputs: tuple[int, ...] | None = None
    saves_output = False
    is_view = False
    saved_versions: tuple[int, ...] = ()  # per input, its version when the op ran (unless saved_inputs is ())

    position: int
    inputs: tuple
    parents: tuple
    needs_input_grad: tuple[bool, ...]
    released = False
    grad_hooks: dict | None = None  # by handle id: the hooks of the tensor this node made (see add_grad_hook)

    def forward(self, *arrays: Any, **kwargs: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **kwargs):
        """Run the op on tensors and, when grad mode is on and an input requires grad, record it."""
        arrays = [t._data for t in inputs]
        if len(arrays) > 1 and (type(arrays[0]) is not np.ndarray or type(arrays[1]) is not np.ndarray or arrays[2:]):
            check_same(inputs)
        fn = cls()
        fn.xp = np if type(arrays[0]) is np.ndarray else array_module(arrays[0])
        start = perf_counter() if _watchers else 0.0
        if fn.xp is np:
            data = fn.forward(*arrays, **kwargs)
        else:
            with arrays[0].device:  # CuPy allocates on its current GPU: make it the inputs' one
                data = fn.forward(*arrays, **kwargs)
        if isinstance(data, np.generic):  # numpy turns 0-d results into scalars; a tensor's data stays an array
            data = np.asarray(data)
        needs_input_grad = tuple([t.requires_grad for t in inputs]) if thread_grad_mode.enabled else ()
        requires_grad = True in needs_input_grad
        out = inputs[0]._from_array(data, requires_grad)  # a plain Tensor, also for a subclass input
        if cls.is_view:
            out._share_versions(inputs[0])
        if requires_grad:
            fn.inputs, fn.needs_input_grad = inputs, needs_input_grad
            fn.parents = tuple([t._ctx for t in inputs])  # fixed now: a later in-place op gives a tensor a new node
            if cls.saved_inputs != ():
                fn.saved_versions = tuple([_version_of(t) for t in inputs])
            if cls.saves_output:
                fn.output_counter = out._shared_counter()
                fn.output_version = fn.output_counter.value
            fn.position = next(_tape_position)
            out._ctx = fn
        if _watchers:
            seconds = perf_counter() - start
            for watcher in _watchers:
                watcher.forward(fn, inputs, out, seconds)
        return out

    def check_versions(self) -> None:
        """Raise torch's error when a value that `backward` reads was changed in place after this op ran."""
        for i in range(len(self.inputs)) if self.saved_inputs is None else self.saved_inputs:
            tensor, expected = self.inputs[i], self.saved_versions[i]
            if _version_of(tensor) != expected:
                which = f" [{tensor.dtype} tensor of shape {tensor.shape}], which is input {i % len(self.inputs)} of"
                self._version_error(which, tensor._version, expected)
        if self.saves_output and self.output_counter.value != self.output_version:
            self._version_error(" its output, output 0 of", self.output_counter.value, self.output_version)

    def _version_error(self, which: str, version: int, expected: int) -> None:
        raise RuntimeError(
            "one of the variables needed for gradient computation has been modified by an inplace operation:"
            f"{which} {self.name()}, is at version {version}; expected version {expected} instead. "
            "Use an out-of-place op, or clone() the value before changing it, where it is still needed."
        )

    def name(self) -> str:
        return type(self).__name__

    @property
    def next_functions(self) -> tuple[tuple[Any, int], ...]:
        """The nodes this one sends gradients to, as torch: per input `(its node, 0)`, `(AccumulateGrad, 0)`
        for a leaf that requires grad, `(None, 0)` otherwise. Empty once backward has freed the node."""
        if self.released:
            return ()
        return tuple(
            (parent if parent is not None else AccumulateGrad(t) if needed else None, 0)
            for t, parent, needed in zip(self.inputs, self.parents, self.needs_input_grad)
        )

    def release(self) -> None:
        """Drop saved arrays and inputs once backward has used them."""
        self.__dict__.clear()
        self.released = True

    def __repr__(self) -> str:
        return f"<{self.name()} at tape position {getattr(self, 'position', '?')}>"


class AccumulateGrad:
    """The end of a path in `next_functions`: the leaf tensor whose `.grad` receives the gradient."""

    def __init__(self, variable):
        self.variable = variable
        self.next_functions = ()

    def name(self) -> str:
        return "AccumulateGrad"

    def __repr__(self) -> str:
        return f"<AccumulateGrad of a leaf of shape {self.variable.shape}>"


def graph_nodes(root: Function) -> list[Function]:
    """Every node the root depends on, newest tape position first: the order backward runs them in."""
    seen: dict[int, Function] = {}
    stack = [root]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        if fn.released:
            raise RuntimeError(
                "Trying to backward through the graph a second time (or to read it after backward): its saved "
                "values were freed by the first backward. Pass retain_graph=True to the first backward() to keep them."
            )
        seen[id(fn)] = fn
        stack.extend(parent for parent in fn.parents if parent is not None)
    return sorted(seen.values(), key=lambda fn: fn.position, reverse=True)


def _accumulate_grad(tensor, grad, owned: bool = False) -> None:
    """Add into `tensor.grad` in place. The first gradient becomes `.grad` as it is when `owned` (see
    `_owned_by_one_leaf`), else a copy is stored."""
    if tensor.grad is None:
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


def run_backward(root, grad, retain_graph: bool = False) -> None:
    """Send `grad` (an array shaped like `root`) back through the tape into leaf `.grad`s. Without
    `retain_graph` every node the root depends on is released afterwards, also one that received no gradient."""
    if root._ctx is None:
        _accumulate_grad(root, _run_hooks(root._grad_hooks, grad) if root._grad_hooks else grad)
        return
    grads = {id(root._ctx): grad}
    retained = {id(root._ctx): root} if root._retains_grad else {}
    held: _HeldLeafGrads | None = None  # made at the first leaf gradient that a hook must see
    watchers = _watchers
    nodes = graph_nodes(root._ctx)
    for fn in nodes:  # before any gradient lands anywhere, so a refused backward changes nothing
        if fn.position < _last_change_position and (fn.saved_versions or fn.saves_output):
            fn.check_versions()
    for fn in nodes:
        grad = grads.pop(id(fn), None)
        if grad is not None:  # else no path from root carries a gradient here (e.g. an input without grad)
            if fn.grad_hooks:
                grad = _run_hooks(fn.grad_hooks, grad)
            if id(fn) in retained:
                _accumulate_grad(retained.pop(id(fn)), grad)
            with current(grad):  # CuPy's current GPU the gradient's, as in Function.apply
                input_grads = _watched_backward(fn, grad, watchers) if watchers else fn.backward(grad)
            if not isinstance(input_grads, tuple):
                input_grads = (input_grads,)
            for tensor, parent, input_grad, needed in zip(fn.inputs, fn.parents, input_grads, fn.needs_input_grad):
                if not needed or input_grad is None:
                    continue
                if parent is None:
                    if tensor._grad_hooks:
                        held = held or _HeldLeafGrads(nodes[nodes.index(fn) :])
                        held.add(tensor, input_grad)
                    else:
                        _accumulate_grad(tensor, input_grad, _owned_by_one_leaf(input_grad, input_grads, grad, fn.xp))
                    continue
                key = id(parent)
                grads[key] = grads[key] + input_grad if key in grads else input_grad
                if tensor._retains_grad and tensor._ctx is parent:
                    retained[key] = tensor
        if held is not None:
            held.accumulate_after(fn)
        if not retain_graph:
            fn.release()


# ---- hooks and watchers ------------------------------------------------------------------------


def grad_hooks_of(tensor) -> dict:
    """The dict of hooks `hook(grad) -> grad` (arrays) that see `tensor`'s gradient, made on first use. A leaf
    keeps its own; a non-leaf's live on the node that made it, so a later in-place op (which gives the tensor a
    new node) leaves them with the old value's gradient, as in torch."""
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

    def __init__(self, nodes: list[Function]):
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

    def add(self, tensor, grad) -> None:
        key = id(tensor)
        self.sums[key] = self.sums[key] + grad if key in self.sums else grad

    def accumulate_after(self, fn: Function) -> None:
        for tensor in self.ready_after.pop(fn.position, ()):
            grad = self.sums.pop(id(tensor), None)
            if grad is not None:
                _accumulate_grad(tensor, _run_hooks(tensor._grad_hooks, grad))


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


# The tools that read the tape import this module, so they are imported once it is complete.
from .anomaly import detect_anomaly  # noqa: E402
from .trace import trace  # noqa: E402
from .viz import tape  # noqa: E402
