"""Matrix product with numpy's semantics: batched over leading axes, 1-D operands promoted."""

from __future__ import annotations

from ..autograd import Function
from ..shapes import unbroadcast


class MatMul(Function):
    """y = a @ b.  For (..., n, k) @ (..., k, m): da = g @ bᵀ, db = aᵀ @ g, summed over broadcast
    batch axes. A 1-D `a` acts as (1, k) and a 1-D `b` as (k, 1), and those axes are dropped from y."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, grad):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g @ self.xp.swapaxes(b2, -1, -2), a2.shape).reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(self.xp.swapaxes(a2, -1, -2) @ g, b2.shape).reshape(b.shape)
        return da, db
