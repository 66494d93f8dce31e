"""Activation layers with torch.nn's names, arguments and reprs; each calls its function in activation.py.

`inplace=True` is accepted for compatibility and shown in the repr (where torch shows it), but the result is
always a new tensor: the input is never overwritten (the tape may still need it).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..tensor import Tensor
from . import activation as F
from ._arguments import check_choice, check_int
from .module import Module, Parameter


class _Stateless(Module):
    """An activation with no settings: its forward is `function(input)`."""

    function: Callable[[Tensor], Tensor]

    def forward(self, input: Tensor) -> Tensor:
        return self.function(input)


class _InplaceActivation(_Stateless):
    """An activation whose only setting is torch's `inplace` flag (see the module docstring)."""

    def __init__(self, inplace: bool = False):
        super().__init__()
        self.inplace = inplace

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class ReLU(_InplaceActivation):
    function = staticmethod(F.relu)


class SiLU(_InplaceActivation):
    function = staticmethod(F.silu)


class SELU(_InplaceActivation):
    function = staticmethod(F.selu)


class Mish(_InplaceActivation):
    function = staticmethod(F.mish)


class Hardsigmoid(_InplaceActivation):
    function = staticmethod(F.hardsigmoid)

    def extra_repr(self) -> str:  # torch leaves inplace out of this repr
        return ""


class Hardswish(Hardsigmoid):
    function = staticmethod(F.hardswish)


class Tanh(_Stateless):
    function = staticmethod(F.tanh)


class Sigmoid(_Stateless):
    function = staticmethod(F.sigmoid)


class LogSigmoid(_Stateless):
    function = staticmethod(F.logsigmoid)


class Softsign(_Stateless):
    function = staticmethod(F.softsign)


class LeakyReLU(Module):
    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace else "")


class GELU(Module):
    def __init__(self, approximate: str = "none"):
        super().__init__()
        self.approximate = check_choice("approximate", approximate, ("none", "tanh"))

    def forward(self, input: Tensor) -> Tensor:
        return F.gelu(input, self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Softplus(Module):
    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, input: Tensor) -> Tensor:
        return F.softplus(input, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class ELU(Module):
    function: Callable[[Tensor, float], Tensor] = staticmethod(F.elu)

    def __init__(self, alpha: float = 1.0, inplace: bool = False):
        super().__init__()
        self.alpha, self.inplace = alpha, inplace

    def forward(self, input: Tensor) -> Tensor:
        return self.function(input, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}" + (", inplace=True" if self.inplace else "")


class CELU(ELU):
    function = staticmethod(F.celu)


class Hardtanh(Module):
    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
        super().__init__()
        if min_val > max_val:
            raise ValueError(f"Hardtanh: min_val ({min_val}) cannot be greater than max_val ({max_val})")
        self.min_val, self.max_val, self.inplace = min_val, max_val, inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.hardtanh(input, self.min_val, self.max_val)

    def extra_repr(self) -> str:
        return f"min_val={self.min_val}, max_val={self.max_val}" + (", inplace=True" if self.inplace else "")


class ReLU6(Hardtanh):
    def __init__(self, inplace: bool = False):
        super().__init__(0.0, 6.0, inplace)

    def extra_repr(self) -> str:
        return "inplace=True" if self.inplace else ""


class PReLU(Module):
    """x for x > 0, else a·x, with a learned slope `a`: one, or one per channel (num_parameters = C, dim 1)."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype=None):
        super().__init__()
        self.num_parameters = check_int("num_parameters", num_parameters, 1)
        self.weight = Parameter(np.full(self.num_parameters, init, dtype=np.dtype(dtype or np.float32)))

    def forward(self, input: Tensor) -> Tensor:
        return F.prelu(input, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


class _AlongDim(Module):
    """An activation along one dimension; dim=None picks torch's legacy default (0 for 0-, 1- and
    3-D inputs, else 1) with its deprecation warning."""

    function = staticmethod(F.softmax)

    def __init__(self, dim: int | None = None):
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return self.function(input, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    function = staticmethod(F.softmax)


class LogSoftmax(_AlongDim):
    function = staticmethod(F.log_softmax)


class Softmin(_AlongDim):
    function = staticmethod(F.softmin)


class GLU(_AlongDim):
    function = staticmethod(F.glu)

    def __init__(self, dim: int = -1):
        super().__init__(dim)
