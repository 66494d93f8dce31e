"""Element-wise math of one input: trigonometric and hyperbolic functions and their inverses, logarithms and
exponentials in other bases, the reciprocal, and the rounding functions (whose gradient is zero).

Each op names its numpy function and its derivative, written with `self.xp`, so the same rule is the graph
backward (see `autograd.Function`). Out of its domain a function gives nan (or ±inf) without a warning, as torch.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function


class _OfInput(Function):
    """y = f(x) for the numpy function `function`; dx = dy · derivative(x)."""

    saved_inputs = (0,)
    function: str

    @np.errstate(all="ignore")
    def forward(self, x):
        self.x = x
        return getattr(self.xp, self.function)(x)

    @np.errstate(all="ignore")
    def backward(self, grad):
        return grad * self.derivative(self.x)

    def derivative(self, x):
        raise NotImplementedError


class _OfOutput(Function):
    """y = f(x) for the numpy function `function`; dx = dy · derivative(y), f' written with the output."""

    saved_inputs, saves_output = (), True
    function: str

    @np.errstate(all="ignore")
    def forward(self, x):
        self.y = getattr(self.xp, self.function)(x)
        return self.y

    def backward(self, grad):
        return grad * self.derivative(self.y)

    def derivative(self, y):
        raise NotImplementedError


# ---- trigonometric and hyperbolic ------------------------------------------------------------------------


class Sin(_OfInput):
    function = "sin"

    def derivative(self, x):
        return self.xp.cos(x)


class Cos(_OfInput):
    function = "cos"

    def derivative(self, x):
        return -self.xp.sin(x)


class Tan(_OfOutput):
    function = "tan"

    def derivative(self, y):
        return 1 + y * y


class Asin(_OfInput):
    function = "arcsin"

    def derivative(self, x):
        return 1 / self.xp.sqrt(1 - x * x)


class Acos(_OfInput):
    function = "arccos"

    def derivative(self, x):
        return -1 / self.xp.sqrt(1 - x * x)


class Atan(_OfInput):
    function = "arctan"

    def derivative(self, x):
        return 1 / (1 + x * x)


class Sinh(_OfInput):
    function = "sinh"

    def derivative(self, x):
        return self.xp.cosh(x)


class Cosh(_OfInput):
    function = "cosh"

    def derivative(self, x):
        return self.xp.sinh(x)


class Asinh(_OfInput):
    function = "arcsinh"

    def derivative(self, x):
        return 1 / self.xp.sqrt(x * x + 1)


class Acosh(_OfInput):
    function = "arccosh"

    def derivative(self, x):
        return 1 / self.xp.sqrt(x * x - 1)


class Atanh(_OfInput):
    function = "arctanh"

    def derivative(self, x):
        return 1 / (1 - x * x)


# ---- logarithms, exponentials, reciprocal ----------------------------------------------------------------


class Log2(_OfInput):
    function = "log2"

    def derivative(self, x):
        return 1 / (x * math.log(2))


class Log10(_OfInput):
    function = "log10"

    def derivative(self, x):
        return 1 / (x * math.log(10))


class Log1p(_OfInput):
    function = "log1p"

    def derivative(self, x):
        return 1 / (1 + x)


class Expm1(_OfOutput):
    function = "expm1"

    def derivative(self, y):
        return y + 1


class Exp2(_OfOutput):
    function = "exp2"

    def derivative(self, y):
        return y * math.log(2)


class Reciprocal(_OfOutput):
    function = "reciprocal"

    def derivative(self, y):
        return -(y * y)


# ---- piecewise constant ----------------------------------------------------------------------------------


def sign(x, xp):
    """-1, 0 or 1 by the sign of x, and 0 for nan (as torch.sign)."""
    return xp.where(x != x, 0, xp.sign(x))


class Rounding(Function):
    """floor, ceil, trunc, rint (halves to even, as torch.round), round to `decimals`, sign: piecewise constant,
    so the gradient is zero (zeros, as torch, not None)."""

    saved_inputs, linear = (), True

    def forward(self, x, function: str, decimals: int = 0):
        if function == "round":
            return self.xp.round(x, decimals)
        if function == "sign":
            return sign(x, self.xp)
        return getattr(self.xp, function)(x)

    def backward(self, grad):
        return self.xp.zeros_like(grad)
