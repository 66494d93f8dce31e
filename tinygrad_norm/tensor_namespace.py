"""numpy's names over Tensors, the array module of a graph backward, and the graph backward itself.

With create_graph a node's backward is recorded on the tape (`graph_backward`): the op runs its own `backward`
(after its own `forward`, unless it is `linear`) with `self.xp` set to this module, so every value it computes
is a Tensor made by differentiable ops. Each function takes numpy's arguments; those that give masks or other
values without a gradient (comparisons, `sign`, `isfinite`) give Tensors that do not require grad. An op that
needs another numpy name adds it here, in one line where it can.
"""

from __future__ import annotations

import sys
from copy import copy as shallow_copy

from . import autograd, engine
from .ops.movement import Flip, Roll
from .ops.special import Erf, Erfc
from .tensor import Tensor, where  # noqa: F401  (numpy's where(condition, a, b))
from .tensor_linalg import einsum as tensor_einsum
from .tensor_shape import cat, stack  # noqa: F401

RECORDS_GRAPH = True  # an op whose backward needs another formula when it is recorded asks `getattr(xp, ...)`

# ---- element-wise ----------------------------------------------------------------------------------------


def exp(x: Tensor) -> Tensor:
    return x.exp()


def log(x: Tensor) -> Tensor:
    return x.log()


def sqrt(x: Tensor) -> Tensor:
    return x.sqrt()


def tanh(x: Tensor) -> Tensor:
    return x.tanh()


def abs(x: Tensor) -> Tensor:  # noqa: A001  (numpy's name)
    return x.abs()


def erf(x: Tensor) -> Tensor:
    return Erf.apply(x)


def einsum(subscripts: str, *operands: Tensor, optimize: bool = False) -> Tensor:
    return tensor_einsum(subscripts, *operands)  # the order of contraction is the array module's concern


def erfc(x: Tensor) -> Tensor:
    return Erfc.apply(x)


def log1p(x: Tensor) -> Tensor:
    return x.log1p()


def expm1(x: Tensor) -> Tensor:
    return x.expm1()


def sin(x: Tensor) -> Tensor:
    return x.sin()


def cos(x: Tensor) -> Tensor:
    return x.cos()


def sinh(x: Tensor) -> Tensor:
    return x.sinh()


def cosh(x: Tensor) -> Tensor:
    return x.cosh()


def tan(x: Tensor) -> Tensor:
    return x.tan()


def arcsin(x: Tensor) -> Tensor:
    return x.asin()


def arccos(x: Tensor) -> Tensor:
    return x.acos()


def arctan(x: Tensor) -> Tensor:
    return x.atan()


def arcsinh(x: Tensor) -> Tensor:
    return x.asinh()


def arccosh(x: Tensor) -> Tensor:
    return x.acosh()


def arctanh(x: Tensor) -> Tensor:
    return x.atanh()


def log2(x: Tensor) -> Tensor:
    return x.log2()


def log10(x: Tensor) -> Tensor:
    return x.log10()


def exp2(x: Tensor) -> Tensor:
    return x.exp2()


def reciprocal(x: Tensor) -> Tensor:
    return x.reciprocal()


def maximum(a: Tensor, b) -> Tensor:
    return a.maximum(a._wrap_operand(b))


def minimum(a: Tensor, b) -> Tensor:
    return a.minimum(a._wrap_operand(b))


def logaddexp(a: Tensor, b) -> Tensor:
    return a.logaddexp(b)


def arctan2(a: Tensor, b) -> Tensor:
    return a.atan2(b)


def hypot(a: Tensor, b) -> Tensor:
    return a.hypot(b)


def ones_like(x: Tensor) -> Tensor:
    return _constant(x.xp.ones_like(x.data))


def zeros_like(x: Tensor) -> Tensor:
    return _constant(x.xp.zeros_like(x.data))


def _constant(array) -> Tensor:
    return Tensor._from_array(array, False)


def sign(x: Tensor) -> Tensor:
    return _constant(x.xp.sign(x.data))


def isfinite(x: Tensor) -> Tensor:
    return _constant(x.xp.isfinite(x.data))


def isnan(x: Tensor) -> Tensor:
    return _constant(x.xp.isnan(x.data))


def logical_and(a: Tensor, b: Tensor) -> Tensor:
    return _constant(a.xp.logical_and(a.data, b.data))


# ---- reductions ------------------------------------------------------------------------------------------


def max(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return x.amax(axis, keepdims=keepdims)


def min(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return x.amin(axis, keepdims=keepdims)


def prod(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    return x.prod(axis, keepdims=keepdims)


# ---- cumulative -------------------------------------------------------------------------------------------


def cumsum(x: Tensor, axis: int) -> Tensor:
    return x.cumsum(axis)


def cumprod(x: Tensor, axis: int) -> Tensor:
    return x.cumprod(axis)


def logcumsumexp(x: Tensor, axis: int) -> Tensor:  # no numpy name: ops/cumulative.py's `logcumsumexp` asks for it
    return x.logcumsumexp(axis)


# ---- shapes ----------------------------------------------------------------------------------------------


def broadcast_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    return x.expand(*shape)


def squeeze(x: Tensor, axis=None) -> Tensor:
    return x.squeeze(axis)


def transpose(x: Tensor, axes=None) -> Tensor:
    return x.permute(*(reversed(range(x.ndim)) if axes is None else axes))


def swapaxes(x: Tensor, axis1: int, axis2: int) -> Tensor:
    return x.transpose(axis1, axis2)


def moveaxis(x: Tensor, source: int, destination: int) -> Tensor:
    axes = list(range(x.ndim))
    axes.insert(destination % x.ndim, axes.pop(source % x.ndim))
    return x.permute(*axes)


def split(x: Tensor, indices: list[int], axis: int = 0) -> list[Tensor]:
    """numpy's split at the given indices (not into equal sections)."""
    bounds = [0, *indices, x.shape[axis]]
    lead = (slice(None),) * (axis % x.ndim)
    return [x[(*lead, slice(start, stop))] for start, stop in zip(bounds, bounds[1:])]


def flip(x: Tensor, axis=None) -> Tensor:
    axes = tuple(range(x.ndim)) if axis is None else (axis,) if isinstance(axis, int) else tuple(axis)
    return Flip.apply(x, axes=tuple(a % x.ndim for a in axes))


def roll(x: Tensor, shift, axis=None) -> Tensor:
    shifts = (shift,) if isinstance(shift, int) else tuple(shift)
    return Roll.apply(x, shifts=shifts, axes=(axis,) if isinstance(axis, int) else axis)


concatenate = cat


# ---- the graph backward ----------------------------------------------------------------------------------


def graph_backward(fn: autograd.Function, grad: Tensor, needs: tuple[bool, ...]) -> tuple:
    """`fn`'s backward for the gradients `needs` asks for, as Tensor ops recorded on the tape.

    A kernel op gives the gradient of its `composed` formula, taken with create_graph; a `linear` op runs its
    backward on this node's own saved constants; any other op is replayed: a fresh instance runs `forward` on
    the node's input tensors, so what it saves is on the tape, then `backward`."""
    composed = getattr(fn, "composed", None)
    if composed is not None:
        since = next(engine._tape_position)
        out = composed(*fn.inputs, **fn.kwargs)
        wanted = [t for t, needed in zip(fn.inputs, needs) if needed]
        found = dict(zip(map(id, wanted), engine.run_backward([out], [grad], True, True, wanted, since)))
        return tuple(found.pop(id(t), None) if needed else None for t, needed in zip(fn.inputs, needs))
    if fn.linear:
        replay = shallow_copy(fn)
        replay.xp = _this_module
    else:
        replay = type(fn)()
        replay.xp = _this_module
        replay.forward(*fn.inputs, **fn.kwargs)
    replay.needs_input_grad = needs
    return replay.backward(grad)


_this_module = sys.modules[__name__]
