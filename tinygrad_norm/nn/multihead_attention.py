"""MultiheadAttention with torch's parameters (names, shapes, initialization), arguments and shapes.

    q, k, v = query Wqᵀ + bq, key Wkᵀ + bk, value Wvᵀ + bv     split into num_heads heads of embed_dim/num_heads
    head_h  = attention of q_h over k_h, v_h                   (see attention.py; scale 1/√head_dim)
    output  = concat(head_1, ..., head_H) Woᵀ + bo

Wq, Wk, Wv are the rows of one `in_proj_weight` (3E, E) when keys and values have embed_dim features, else three
matrices q_proj_weight, k_proj_weight, v_proj_weight; their biases are `in_proj_bias` (3E,). add_bias_kv appends
a learned key and value (bias_k, bias_v) to the sequence; add_zero_attn appends a zero key and value per head,
after the projection. Masks are the key_padding_mask (N, S) and the attn_mask (L, S) or (N·num_heads, L, S):
boolean (True: masked out) or float (added to the scores).
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from ..tensor_shape import cat
from . import init
from ._arguments import check_int
from .attention import _additive, _attend
from .linear import Linear, linear
from .module import Module, Parameter


class NonDynamicallyQuantizableLinear(Linear):
    """Linear under the name torch gives MultiheadAttention's output projection (so reprs and type checks agree)."""


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al., arXiv:1706.03762); see the module docstring. Inputs are (L, N, E)
    (sequence first), or (N, L, E) with batch_first, or unbatched (L, E)."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
    ):
        super().__init__()
        self.embed_dim = check_int("embed_dim", embed_dim, 1)
        self.num_heads = check_int("num_heads", num_heads, 1)
        if embed_dim % num_heads:
            raise ValueError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        self.kdim = embed_dim if kdim is None else check_int("kdim", kdim, 1)
        self.vdim = embed_dim if vdim is None else check_int("vdim", vdim, 1)
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        if not 0 <= dropout <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout}")
        self.dropout, self.batch_first, self.head_dim = dropout, batch_first, embed_dim // num_heads
        E = embed_dim
        same = self._qkv_same_embed_dim
        self.register_parameter("in_proj_weight", Parameter(np.empty((3 * E, E), np.float32)) if same else None)
        for name, features in (("q", E), ("k", self.kdim), ("v", self.vdim)):
            weight = None if same else Parameter(np.empty((E, features), np.float32))
            self.register_parameter(f"{name}_proj_weight", weight)
        self.register_parameter("in_proj_bias", Parameter(np.empty(3 * E, np.float32)) if bias else None)
        self.out_proj = NonDynamicallyQuantizableLinear(E, E, bias=bias)
        kv_bias = (lambda: Parameter(np.empty((1, 1, E), np.float32))) if add_bias_kv else (lambda: None)
        self.register_parameter("bias_k", kv_bias())
        self.register_parameter("bias_v", kv_bias())
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """torch's: xavier_uniform_ projections, zero biases, xavier_normal_ bias_k and bias_v."""
        for weight in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if weight is not None:
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        for extra in (self.bias_k, self.bias_v):
            if extra is not None:
                init.xavier_normal_(extra)

    def _projections(self) -> list[tuple[Tensor, Tensor | None]]:
        """(weight, bias) of the query, key and value projections."""
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            weights = [self.in_proj_weight[i * E : (i + 1) * E] for i in range(3)]
        else:
            weights = [self.q_proj_weight, self.k_proj_weight, self.v_proj_weight]
        biases = [None] * 3 if self.in_proj_bias is None else [self.in_proj_bias[i * E : (i + 1) * E] for i in range(3)]
        return list(zip(weights, biases))

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """(output, weights): output shaped as query; weights (N, L, S) averaged over the heads, or
        (N, num_heads, L, S) unless average_attn_weights (without N when unbatched), or None unless need_weights.
        is_causal only says that attn_mask is the causal mask (as torch), so attn_mask is required with it."""
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal=True says that attn_mask is causal; pass attn_mask too")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"MultiheadAttention: query, key and value must all be 3-D (batched) or 2-D (unbatched), got shapes "
                f"{query.shape}, {key.shape} and {value.shape}"
            )
        if not batched:  # as a batch of one, in the batch_first layout
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            key_padding_mask = None if key_padding_mask is None else key_padding_mask.reshape(1, -1)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        if query.shape[-1] != self.embed_dim:
            raise ValueError(f"MultiheadAttention: expected query of {self.embed_dim} features, got {query.shape}")
        output, weights = self._attention(query, key, value, key_padding_mask, need_weights, attn_mask)
        if not batched:
            output = output.squeeze(0)
            weights = None if weights is None else weights.squeeze(0)
        elif not self.batch_first:
            output = output.transpose(0, 1)
        if weights is not None and average_attn_weights:
            weights = weights.mean(-3)
        return output, weights

    def _attention(self, query, key, value, key_padding_mask, need_weights, attn_mask):
        """Batch-first (N, L, E) inputs: (output (N, L, E), weights (N, H, L, S) or None)."""
        N, L, E = query.shape
        H, D = self.num_heads, self.head_dim
        q, k, v = (linear(x, w, b) for x, (w, b) in zip((query, key, value), self._projections()))
        masks = [_additive(attn_mask, False, q), _additive(key_padding_mask, False, q)]
        _check_masks(*masks, N, H, L, key.shape[1])
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(N, 1, E)], axis=1)
            v = cat([v, self.bias_v.expand(N, 1, E)], axis=1)
            masks = [_extended(mask) for mask in masks]
        q, k, v = (x.reshape(N, -1, H, D).transpose(1, 2) for x in (q, k, v))  # (N, H, length, D)
        if self.add_zero_attn:
            zeros = Tensor._from_array(q.xp.zeros((N, H, 1, D), q.dtype), False)
            k, v = cat([k, zeros], axis=2), cat([v, zeros], axis=2)
            masks = [_extended(mask) for mask in masks]
        attn, padding = masks
        if attn is not None:
            attn = attn.reshape(-1, H, *attn.shape[1:]) if attn.ndim == 3 else attn
        if padding is not None:
            padding = padding.reshape(N, 1, 1, -1)
            attn = padding if attn is None else attn + padding
        dropout_p = self.dropout if self.training else 0.0
        out, weights = _attend(q, k, v, attn, dropout_p, D**-0.5, safe=not need_weights)
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, E))
        return out, weights if need_weights else None


def _extended(mask: Tensor | None) -> Tensor | None:
    """A mask with a column of zeros for one more key (the appended bias or zero key)."""
    return None if mask is None else mask.pad(((0, 0),) * (mask.ndim - 1) + ((0, 1),))


def _check_masks(attn: Tensor | None, padding: Tensor | None, N: int, H: int, L: int, S: int) -> None:
    if attn is not None and attn.shape not in ((L, S), (N * H, L, S)):
        raise ValueError(f"MultiheadAttention: attn_mask must have shape {(L, S)} or {(N * H, L, S)}, got {attn.shape}")
    if padding is not None and padding.shape != (N, S):
        raise ValueError(f"MultiheadAttention: key_padding_mask must have shape {(N, S)}, got {padding.shape}")
