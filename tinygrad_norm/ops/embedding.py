"""Embedding lookup: rows of a weight matrix picked by integer indices."""

from __future__ import annotations

from ..autograd import Function
from .movement import IndexAdd


class EmbeddingLookup(Function):
    """y[..., :] = weight[indices[...], :] for weight (V, D) and integer indices of any shape.

    dweight[k] = Σ of g over the positions whose index is k; the row `padding_idx` (when given)
    gets no gradient, as in torch.
    """

    saved_inputs, linear = (), True  # the backward reads the indices (a keyword), not the weight

    def forward(self, weight, indices, padding_idx=None):
        self.weight_shape, self.indices, self.padding_idx = weight.shape, indices, padding_idx
        return weight[indices]  # (*indices.shape, D)

    def backward(self, grad):
        if self.padding_idx is not None:
            grad = self.xp.where((self.indices != self.padding_idx)[..., None], grad, 0)
        return self.call(IndexAdd, grad, shape=self.weight_shape, index=self.indices)
