"""`scaled_dot_product_attention` and MultiheadAttention (Vaswani et al., arXiv:1706.03762), with torch's
arguments, shapes and mask conventions.

For queries (..., L, E), keys (..., S, E) and values (..., S, Ev):

    weights = softmax(q kᵀ · scale + mask)        (..., L, S), scale = 1/√E unless given
    output  = dropout(weights) v                  (..., L, Ev)

The mask is additive: a float mask is added as it is; a boolean one (and is_causal's lower triangle) becomes 0
where attention is allowed and -inf where it is not. The two functions read a boolean mask in opposite senses, as
torch does: for `scaled_dot_product_attention` True means "may attend", for MultiheadAttention's attn_mask and
key_padding_mask True means "masked out".

A query row whose every key is masked has no softmax. `scaled_dot_product_attention` gives that row zeros (as
torch's safe softmax); MultiheadAttention gives nan when it returns its weights and zeros otherwise, which is what
torch's two paths give.
"""

from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, where
from .dropout import dropout


def _additive(mask: Tensor | np.ndarray | None, allowed: bool, like: Tensor) -> Tensor | None:
    """A boolean mask (True meaning `allowed`) as 0 / -inf in like's dtype; a float mask as a Tensor."""
    if mask is None:
        return None
    data = mask.data if isinstance(mask, Tensor) else like.xp.asarray(mask)
    if data.dtype == bool:
        keep = data if allowed else ~data
        return Tensor._from_array(like.xp.where(keep, 0, -np.inf).astype(like.dtype), False)
    if data.dtype.kind != "f":
        raise TypeError(f"attention masks must be bool or floating point, got {data.dtype}")
    return mask if isinstance(mask, Tensor) else Tensor._from_array(data.astype(like.dtype), False)


def _attend(q, k, v, mask: Tensor | None, dropout_p: float, scale: float, safe: bool) -> tuple[Tensor, Tensor]:
    """(output, weights) of the module docstring's formula; with `safe`, rows masked everywhere give zeros."""
    scores = (q @ k.transpose(-2, -1)) * scale
    dead = None
    if mask is not None:
        if safe:
            rows = mask.xp.broadcast_to(mask.data, np.broadcast_shapes(mask.shape, scores.shape))
            dead = (rows == -np.inf).all(-1, keepdims=True)
            if dead.any():  # a finite row instead, whose weights are replaced by zeros below
                mask = where(dead, 0, mask)
            else:
                dead = None
        scores = scores + mask
    weights = scores.softmax(-1)
    if dead is not None:
        weights = where(dead, 0, weights)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ v, weights


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """Attention of query (..., L, E) over key (..., S, E) and value (..., S, Ev): output (..., L, Ev). attn_mask
    broadcasts to (..., L, S): boolean (True: may attend) or float (added to the scores). is_causal lets query i
    attend to keys 0..i (the top-left lower triangle, also when L != S). enable_gqa lets key and value have fewer
    heads (axis -3) than the query, each shared by a group of query heads. dropout_p drops attention weights
    (always: the function has no training flag, as torch)."""
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise TypeError(f"scaled_dot_product_attention: {name} must be a Tensor of at least 2 dims, got {t!r}")
    if not query.dtype == key.dtype == value.dtype:
        raise TypeError(
            f"scaled_dot_product_attention: query, key and value must have one dtype, got {query.dtype}, "
            f"{key.dtype} and {value.dtype}"
        )
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query (..., L, E), key (..., S, E) and value (..., S, Ev) do not fit: "
            f"got {query.shape}, {key.shape} and {value.shape}"
        )
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"dropout_p must be in [0, 1], got {dropout_p}")
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: attn_mask should not be set when is_causal=True")
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        key, value = _share_heads(query.shape[-3], key), _share_heads(query.shape[-3], value)
    L, S = query.shape[-2], key.shape[-2]
    if is_causal:
        attn_mask = query.xp.tril(query.xp.ones((L, S), bool))
    mask = _additive(attn_mask, True, query)
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, mask, dropout_p, scale, safe=True)[0]


def _share_heads(heads: int, t: Tensor) -> Tensor:
    """(..., Hk, S, E) as (..., heads, S, E), each of the Hk heads repeated heads/Hk times in a row."""
    *lead, Hk, S, E = t.shape
    if heads % Hk:
        raise ValueError(f"enable_gqa: the query's {heads} heads must be a multiple of the key's and value's {Hk}")
    return t.unsqueeze(-3).expand(*lead, Hk, heads // Hk, S, E).reshape(*lead, heads, S, E)
