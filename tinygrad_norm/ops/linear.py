"""The affine map of a Linear layer, y = x Wᵀ + b, as one op."""

from __future__ import annotations

from .. import backend
from ..autograd import Function


class AffineMap(Function):
    """Inputs (x, [bias,] weight): y = x Wᵀ + b for x (*, in), W (out, in), b (out,); y (*, out). The inputs come in
    the order of torch's addmm(b, x, Wᵀ) after x, so leaf hooks run in torch's order: the bias's before the weight's.

    With g = dL/dy and x, g flattened to (M, in) and (M, out) over the leading axes:
    dx = g W, dW = gᵀ x, db = Σ_m g[m]. One op instead of a transpose, a product and a broadcast add: the bias is
    added into the product's fresh array, and BLAS reads W and gᵀ through its transpose flags, so dW comes out
    (out, in) as W is laid out, a fresh array the weight's `.grad` takes without a copy. The products are the
    backend's `matmul` (on the CPU, on Numba's threads). `composed` is the same map in Tensor ops (the graph
    backward).
    """

    saved_inputs = (0, -1)  # x and the weight; the bias is not read by the backward

    def forward(self, x, *affine):
        *bias, weight = affine
        self.kernels = backend.kernels(x)
        self.x, self.weight, self.has_bias = x, weight, bool(bias)
        y = self.product(x.reshape(-1, x.shape[-1]), weight.T).reshape(*x.shape[:-1], weight.shape[0])
        if bias:
            y += bias[0]
        return y

    def backward(self, grad):
        wanted = self.needs_input_grad
        x, weight = self.x, self.weight
        g = grad.astype(x.dtype, copy=False).reshape(-1, grad.shape[-1])  # (M, out)
        dx = self.product(g, weight).reshape(x.shape) if wanted[0] else None
        dweight = self.product(g.T, x.reshape(-1, x.shape[-1])) if wanted[-1] else None
        if not self.has_bias:
            return dx, dweight
        return dx, g.sum(axis=0) if wanted[1] else None, dweight

    def product(self, a, b):
        """a @ b for 2-D a and b, in a fresh array."""
        out = self.xp.empty((a.shape[0], b.shape[1]), a.dtype)
        self.kernels.matmul(a, b, out)
        return out

    def composed(self, x, *affine):
        *bias, weight = affine
        y = x @ weight.T
        return y + bias[0] if bias else y
