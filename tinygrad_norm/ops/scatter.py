"""Ops that write at indices: `IndexPut` (assignment: `x[index] = values`, torch.scatter) and `ScatterExtreme`
(torch.scatter_reduce's "amax" and "amin"; its "sum", "mean" and "prod" are compositions, see tensor_indexing.py).

`IndexPut` takes its index as a tuple of steps applied one after the other, each a numpy index; all but the
last are basic (they give views), so writing through the last step writes into the array. torch's indexing
rules need two steps where numpy's one index would order the axes differently (see tensor_indexing.py).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..shapes import unbroadcast
from .movement import GetItem


def write_at(array, steps: tuple, values) -> None:
    """array[steps] = values, in place (see the module docstring)."""
    for index in steps[:-1]:
        array = array[index]
    array[steps[-1]] = values


class IndexPut(Function):
    """y = x with y[steps] = values (broadcast); where an index repeats, one of the writes wins (torch leaves which
    undefined). dx = dy where nothing was written, else 0; dvalues = dy[steps], summed over broadcast axes."""

    saved_inputs, linear = (), True

    def forward(self, x, values, steps: tuple):
        self.steps, self.values_shape = steps, values.shape
        self.written = self.xp.zeros(x.shape, bool)
        write_at(self.written, steps, True)
        y = x.copy()
        write_at(y, steps, values)
        return y

    def backward(self, grad):
        dx = self.xp.where(self.written, 0, grad) if self.needs_input_grad[0] else None
        dvalues = None
        if self.needs_input_grad[1]:
            dvalues = grad
            for index in self.steps:
                dvalues = self.call(GetItem, dvalues, index=index)
            dvalues = unbroadcast(dvalues, self.values_shape)
        return dx, dvalues


def reduction_identity(reduce: str, dtype: np.dtype):
    """Where "amax" ("amin") starts: the lowest (highest) value of the dtype."""
    if dtype.kind == "f":
        return -np.inf if reduce == "amax" else np.inf
    if dtype.kind == "b":
        return reduce == "amin"
    return np.iinfo(dtype).min if reduce == "amax" else np.iinfo(dtype).max


class ScatterExtreme(Function):
    """y = x with y[index[k]] = max(y[index[k]], src[k]) for every k ("amax"; "amin" likewise), `index` a numpy fancy
    index into x shaped like src. With include_self=False a position that receives a src element starts from
    `reduction_identity` instead of x.

    As in torch, the gradient of a position is shared equally among the elements (of x and src) equal to its
    result: masks and shares are computed here, so the backward reads constants only."""

    saved_inputs, linear = (), True

    def forward(self, x, src, index: tuple, reduce: str, include_self: bool):
        xp = self.xp
        self.index = index
        from_x = xp.ones(x.shape, bool)
        if not include_self:
            from_x[index] = False
        y = xp.where(from_x, x, xp.asarray(reduction_identity(reduce, x.dtype), x.dtype))
        (xp.maximum if reduce == "amax" else xp.minimum).at(y, index, src)
        x_wins, src_wins = from_x & _same(x, y), _same(src, y[index])
        winners = x_wins.astype(np.float64)
        xp.add.at(winners, index, src_wins)
        share = 1 / xp.where(winners == 0, 1, winners)
        self.x_share, self.src_share = (x_wins * share).astype(x.dtype), (src_wins * share[index]).astype(x.dtype)
        return y

    def backward(self, grad):
        dx = grad * self.x_share if self.needs_input_grad[0] else None
        dsrc = self.call(GetItem, grad, index=self.index) * self.src_share if self.needs_input_grad[1] else None
        return dx, dsrc


def _same(a, b):
    """a == b, nan matching nan (a nan result came from a nan element)."""
    return (a == b) | (a != a) & (b != b)
