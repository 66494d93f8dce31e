"""Linear, Identity, Flatten and Embedding layers, with their functional forms, and one_hot."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import no_grad
from ..ops.embedding import EmbeddingLookup
from ..ops.linear import AffineMap
from ..tensor import Tensor
from . import init
from ._arguments import check_input_dtype, check_int
from .module import Module, Parameter


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b for x (*, in), W (out, in), b (out,); x must have W's dtype (see _arguments.py)."""
    check_input_dtype("linear", input, weight=weight, bias=bias)
    if weight.ndim != 2:  # torch also takes a 1-D weight, (in,) -> (*,)
        out = input @ weight.T
        return out if bias is None else out + bias
    return AffineMap.apply(input, *([] if bias is None else [bias]), weight)


class Linear(Module):
    """y = x Wᵀ + b, with W (out_features, in_features) and b (out_features,) initialized as torch:
    W ~ kaiming_uniform_(a=√5) = U(±1/√in_features), b ~ U(±1/√in_features)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.in_features = check_int("in_features", in_features, 0)
        self.out_features = check_int("out_features", out_features, 0)
        self.weight = Parameter(np.empty((self.out_features, self.in_features), np.float32))
        self.register_parameter("bias", Parameter(np.empty(self.out_features, np.float32)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init._reset_weight_and_bias_(self.weight, self.bias)

    def forward(self, input: Tensor) -> Tensor:
        return linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """Returns its input; constructor arguments are accepted and ignored (as torch)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Merges dimensions start_dim..end_dim into one: (N, C, H, W) -> (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = check_int("start_dim", start_dim)
        self.end_dim = check_int("end_dim", end_dim)

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


def _padding_index(padding_idx: int | None, num_embeddings: int) -> int | None:
    """A padding index in [-V, V) as a row number in [0, V)."""
    if padding_idx is None:
        return None
    padding_idx = check_int("padding_idx", padding_idx, -num_embeddings)
    if padding_idx >= num_embeddings:
        raise ValueError(f"padding_idx must be within num_embeddings ({num_embeddings}), got {padding_idx}")
    return padding_idx % num_embeddings


def embedding(input: Tensor | Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Rows of `weight` (V, D) picked by the integer indices `input` (any shape): (*input.shape, D).
    The `padding_idx` row gets no gradient."""
    indices = weight.xp.asarray(input.data if isinstance(input, Tensor) else input)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: input must hold integer indices, got dtype {indices.dtype}")
    if indices.size and (indices.min() < 0 or indices.max() >= weight.shape[0]):
        raise IndexError(f"embedding: index out of range [0, {weight.shape[0]})")
    return EmbeddingLookup.apply(weight, indices=indices, padding_idx=_padding_index(padding_idx, weight.shape[0]))


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """(*tensor.shape, num_classes) int64 with a 1 at each index of the int64 `tensor`; num_classes=-1 means one
    more than the largest index."""
    if tensor.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    indices = tensor.data
    if indices.size and indices.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(indices.max()) + 1 if indices.size else 0
    elif indices.size and indices.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    return Tensor._from_array((indices[..., None] == tensor.xp.arange(num_classes)).astype(np.int64), False)


class Embedding(Module):
    """A lookup table: index i -> weight[i], with weight (num_embeddings, embedding_dim) ~ N(0, 1)
    (as torch); the `padding_idx` row starts at zero and is never updated by gradients."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None):
        super().__init__()
        self.num_embeddings = check_int("num_embeddings", num_embeddings, 0)
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 0)
        self.padding_idx = _padding_index(padding_idx, self.num_embeddings)
        self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), np.float32))
        self.reset_parameters()

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True, padding_idx: int | None = None) -> Embedding:
        """An Embedding whose weight shares the array of `embeddings` (V, D), trained only when freeze=False;
        the padding_idx row is kept as given and gets no gradient (as torch)."""
        if embeddings.ndim != 2:
            raise ValueError(f"embeddings must be 2-D (num_embeddings, embedding_dim), got shape {embeddings.shape}")
        embedding = cls(*embeddings.shape, padding_idx)
        embedding.weight = Parameter(embeddings, requires_grad=not freeze)
        return embedding

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor | Any) -> Tensor:
        return embedding(input, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"{self.num_embeddings}, {self.embedding_dim}{padding}"
