"""The tape's nodes and torch.autograd's entry points: differentiable ops as `Function` nodes, `backward` and
`grad`.

Every op that runs with grad mode on (grad_mode.py) and an input that requires grad becomes a node: it keeps its
inputs, the nodes that produced them (its edges, fixed when it runs), what its backward needs, and its
position on the tape (a counter that grows as ops run). The output tensor owns its node, so dropping the
output frees the graph; nothing global grows. The backward pass (engine.py) gathers the nodes the output depends
on and runs them from the newest position down, each exactly once, so a node sees the full gradient of its
output before passing it on.

Higher-order gradients: with `create_graph=True` every node's backward is itself recorded, as Tensor ops, so the
gradients it gives can be differentiated again. Each gradient rule is still written once: the node is replayed
on Tensors (see `Function` and tensor_namespace.py), or for a kernel op its `composed` formula is differentiated.
"""

from __future__ import annotations

import functools
from time import perf_counter
from typing import Any

import numpy as np

from .devices import array_module, check_same
from .engine import (
    Watcher,
    _accumulate_grad,
    _tape_position,
    _tensor_namespace,
    _version_of,
    _watchers,
    grad_hooks_of,
    graph_nodes,
    run_backward,
    watching,
)
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled, thread_grad_mode

__all__ = [
    "Function",
    "Watcher",
    "backward",
    "detect_anomaly",
    "enable_grad",
    "grad",
    "grad_hooks_of",
    "graph_nodes",
    "is_grad_enabled",
    "no_grad",
    "run_backward",
    "set_grad_enabled",
    "tape",
    "trace",
    "watching",
]


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

    Higher-order gradients: a graph backward (create_graph) replays the node: a fresh instance runs the same
    `forward` and `backward` on Tensors, with `self.xp` the Tensor namespace (tensor_namespace.py: numpy's names
    made of differentiable Tensor ops), so what forward saves is on the tape and what backward returns can be
    differentiated again. Op code therefore uses only operators, indexing, `.shape`, `.ndim`, `.dtype`,
    `.reshape`, `.astype`, `.sum(axis=, keepdims=)` and `self.xp.<numpy name>(...)`: no array method whose Tensor
    meaning differs (`.max(axis)`, `.transpose(axes)`, `.copy()`), no writes into arrays. Math without a numpy
    name (erf, a scatter-add) is an op of its own, run with `self.call(Op, ...)`. Masks and integer indices may
    stay constants. A `linear` op (its backward reads only constants that forward saved: shapes, indices,
    masks) is not replayed: its backward runs on Tensors with the node's own saved values. An op whose forward is
    a kernel call defines `composed(*inputs, **kwargs) -> Tensor` instead: the same function written with Tensor
    ops, reading what the node saved (never drawing or updating anything); its graph backward is the gradient
    of `composed`.
    """

    saved_inputs: tuple[int, ...] | None = None
    saves_output = False
    is_view = False
    linear = False
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
            fn.inputs, fn.kwargs, fn.needs_input_grad = inputs, kwargs, needs_input_grad
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

    def call(self, op: type[Function], *args: Any, **kwargs: Any) -> Any:
        """Run `op` inside this op's forward or backward: its forward on arrays, or, in a replay on Tensors,
        recorded on the tape like any op."""
        if self.xp is _tensor_namespace():
            return op.apply(*args, **kwargs)
        inner = op()
        inner.xp = self.xp
        return inner.forward(*args, **kwargs)

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


# ---- torch.autograd's functions -----------------------------------------------------------------------------


def _as_tuple(tensors) -> tuple:
    return tuple(tensors) if isinstance(tensors, list | tuple) else (tensors,)


@functools.cache
@functools.cache  # an import statement costs a microsecond, which every backward() would pay
def _tensor_class():
    from .tensor import Tensor  # on first use: Tensor is built on this module

    return Tensor


def _root_gradients(outputs: tuple, grad_outputs, create_graph: bool) -> list:
    """One starting gradient per output: an array, or a Tensor with create_graph (it may require grad itself)."""
    grad_outputs = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"got {len(grad_outputs)} gradients for {len(outputs)} outputs")
    tensor = _tensor_class()
    grads = [seed_gradient(output, grad, i) for i, (output, grad) in enumerate(zip(outputs, grad_outputs))]
    if create_graph:
        return [grad if isinstance(grad, tensor) else tensor._from_array(data, False)
                for grad, data in zip(grad_outputs, grads)]
    return grads


def seed_gradient(output, grad, i: int = 0):
    """The array that starts a backward from `output` (its `i`-th root): `grad` checked, or ones for an output
    with one element (as torch)."""
    tensor = _tensor_class()
    if not isinstance(output, tensor):
        raise TypeError(f"outputs must be Tensors, got {type(output).__name__} at position {i}")
    if not output.requires_grad:
        raise RuntimeError(f"element {i} of tensors does not require grad and does not have a grad_fn")
    if grad is None:
        if output._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs; output {i} has shape {output.shape}. "
                "Pass a gradient of the output's shape."
            )
        return output.xp.ones_like(output._data)
    if isinstance(grad, tensor):
        check_same((output, grad))
    data = grad._data if isinstance(grad, tensor) else output.xp.asarray(grad, dtype=output.dtype)
    if data.shape != output.shape:
        raise ValueError(f"gradient {i} has shape {data.shape}, expected the output's shape {output.shape}")
    return data


def _run(outputs: tuple, grad_outputs, retain_graph: bool | None, create_graph: bool, inputs=None):
    """run_backward from `outputs`, with torch's defaults; a graph backward records even under no_grad."""
    grads = _root_gradients(outputs, grad_outputs, create_graph)
    retain_graph = create_graph if retain_graph is None else retain_graph
    if not create_graph:
        return run_backward(outputs, grads, retain_graph, False, inputs)
    with enable_grad():
        return run_backward(outputs, grads, retain_graph, True, inputs)


def backward(tensors, grad_tensors=None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None):
    """Accumulate the gradients of `tensors` (weighted by `grad_tensors`) into the `.grad` of the leaves, or of
    `inputs` only when given, as `torch.autograd.backward`. With `create_graph` the backward is recorded on the
    tape, so `.grad` can be differentiated again; `retain_graph` defaults to `create_graph`."""
    if inputs is None:
        _run(_as_tuple(tensors), grad_tensors, retain_graph, create_graph)
        return
    inputs = _as_tuple(inputs)
    for tensor, grad in zip(inputs, _run(_as_tuple(tensors), grad_tensors, retain_graph, create_graph, inputs)):
        if grad is not None:
            _accumulate_grad(tensor, grad, create_graph=create_graph)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple:
    """The gradients of `outputs` (weighted by `grad_outputs`) with respect to `inputs`, returned, not
    accumulated into `.grad` (as `torch.autograd.grad`). With `create_graph` they are recorded on the tape and
    can be differentiated again; `retain_graph` defaults to `create_graph`. An input the outputs do not depend
    on raises, unless `allow_unused`, which gives None for it."""
    inputs = _as_tuple(inputs)
    for tensor in inputs:
        if not getattr(tensor, "requires_grad", False):
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    results = _run(_as_tuple(outputs), grad_outputs, retain_graph, create_graph, inputs)
    if not allow_unused and any(g is None for g in results):
        raise RuntimeError(
            "One of the differentiated Tensors appears to not have been used in the graph. "
            "Set allow_unused=True if this is the desired behavior."
        )
    if create_graph:
        return tuple(None if g is None else g.astype(t.dtype) for t, g in zip(inputs, results))
    # copied: a backward may return the caller's gradient, or one array for two inputs
    return tuple(None if g is None else t._from_array(t.xp.array(g, t.dtype), False) for t, g in zip(inputs, results))


# The tools that read the tape import this module, so they are imported once it is complete.
from .anomaly import detect_anomaly  # noqa: E402
from .trace import trace  # noqa: E402
from .viz import tape  # noqa: E402
