"""Activation functions with torch.nn.functional's names and arguments (the layers are in activation_layers.py).

`inplace=True` is accepted for compatibility, but the result is always a new tensor: the input is never
overwritten (the tape may still need it). Softplus, log-sigmoid, the ELU family and hardtanh are ops of their
own (ops/activation.py, torch's gradients at the thresholds); the others are compositions.
"""

from __future__ import annotations

import warnings

from ..ops.activation import ELU, Hardtanh, LogSigmoid, Softplus
from ..tensor import Tensor
from ..tensor_math import floating
from ._arguments import check_choice

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0)."""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """max(x, 0) + negative_slope · min(x, 0)."""
    return input.leaky_relu(negative_slope)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """x·Φ(x) (exact, with erf) or its tanh approximation (approximate='tanh')."""
    return input.gelu(check_choice("approximate", approximate, ("none", "tanh")))


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return input.sigmoid()


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x · σ(x) (the swish of Ramachandran et al., 2017), composed so the tape differentiates it."""
    return input * input.sigmoid()


def _softmax_dim(dim: int | None, ndim: int, name: str) -> int:
    """torch's legacy choice when dim is None (with the same warning): 0 for 0-, 1- and 3-D inputs, else 1."""
    if dim is not None:
        return dim
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to include dim=X as an argument.",
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along `dim` (nan along a row of -inf only, as torch)."""
    return input.softmax(axis=_softmax_dim(dim, input.ndim, "softmax"), dtype=dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """x_i - log Σ_j exp(x_j) along `dim`."""
    return input.log_softmax(axis=_softmax_dim(dim, input.ndim, "log_softmax"), dtype=dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(-x) along `dim`."""
    return (-input).softmax(axis=_softmax_dim(dim, input.ndim, "softmin"), dtype=dtype)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(βx)) / β, and x where βx > threshold."""
    return Softplus.apply(floating(input), beta=beta, threshold=threshold)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(x) = -softplus(-x), without overflow."""
    return LogSigmoid.apply(floating(input))


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha·(exp(x) - 1) (Clevert et al., arXiv:1511.07289)."""
    return ELU.apply(floating(input), alpha=alpha, scale=1.0, input_scale=1.0)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha·(exp(x/alpha) - 1)) (Barron, arXiv:1704.07483)."""
    if alpha == 0:
        raise ValueError("celu: alpha must not be 0")
    return ELU.apply(floating(input), alpha=alpha, scale=1.0, input_scale=1 / alpha)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale·elu(x, alpha) with the self-normalizing constants (Klambauer et al., arXiv:1706.02515)."""
    return ELU.apply(floating(input), alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """x clamped to [min_val, max_val]; the gradient passes strictly inside."""
    if min_val > max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
    return Hardtanh.apply(input, min_val=min_val, max_val=max_val)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6)."""
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """relu6(x + 3) / 6, a piecewise linear sigmoid."""
    return hardtanh(floating(input) + 3, 0.0, 6.0) / 6


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · hardsigmoid(x) (Howard et al., arXiv:1905.02244)."""
    return input * hardsigmoid(input)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x · tanh(softplus(x)) (Misra, arXiv:1908.08681)."""
    return input * softplus(input).tanh()


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    return input / (input.abs() + 1)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a · σ(b) for the halves a, b of `dim` (Dauphin et al., arXiv:1612.08083)."""
    size = input.shape[dim] if input.ndim else 0
    if size % 2 or not input.ndim:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    a, b = input.chunk(2, dim)
    return a * b.sigmoid()


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x for x > 0, else weight·x, with one weight, or one per channel (dim 1)."""
    if weight.numel() != 1:
        channels = input.shape[1] if input.ndim >= 2 else input.shape[0] if input.ndim else 1
        if weight.ndim != 1 or weight.numel() != channels:
            raise RuntimeError(
                f"prelu: weight must have 1 element or one per channel ({channels}), got shape {tuple(weight.shape)}"
            )
        if input.ndim >= 2:
            weight = weight.reshape(-1, *(1,) * (input.ndim - 2))
    return input.where(input > 0, weight * input)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(‖x‖_p, eps) along `dim`."""
    return input / input.norm(p, dim, keepdim=True).clamp_min(eps)
