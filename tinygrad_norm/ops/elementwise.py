"""Element-wise ops: broadcasting binary ops and unary ops with their gradient rules.

`linear` marks the ops whose backward multiplies by constants only (masks, slopes), so a graph backward needs no
replay of their forward (see `autograd.Function`)."""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import Function
from ..shapes import unbroadcast
from .special import erf
from .unary import sign

# ---- binary ----------------------------------------------------------------------------------


class Add(Function):
    saved_inputs, linear = (), True

    def forward(self, a, b):
        self.a_shape, self.b_shape = a.shape, b.shape
        return a + b

    def backward(self, grad):
        return unbroadcast(grad, self.a_shape), unbroadcast(grad, self.b_shape)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, grad):
        da = unbroadcast(grad * self.b, self.a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(grad * self.a, self.b.shape) if self.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """a ** b; d/da = b a^(b-1), taken as 0 where b = 0; d/db = a^b log a, taken as 0 where a = 0 and b >= 0
    (the limits torch uses) and nan where a < 0."""

    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = a**b
        return self.out

    @np.errstate(divide="ignore", invalid="ignore")  # the where() below picks the limits at those points
    def backward(self, grad):
        a, b, xp = self.a, self.b, self.xp
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(grad * xp.where(b == 0, 0, b * a ** (b - 1)), a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(grad * xp.where(xp.logical_and(a == 0, b >= 0), 0, self.out * xp.log(a)), b.shape)
        return da, db


class Where(Function):
    """where(condition, a, b): the gradient goes to `a` where the condition holds, else to `b`."""

    saved_inputs, linear = (0,), True  # the condition

    def forward(self, condition, a, b):
        self.condition, self.a_shape, self.b_shape = condition, a.shape, b.shape
        return self.xp.where(condition, a, b)

    def backward(self, grad):
        return (
            None,
            unbroadcast(self.xp.where(self.condition, grad, 0), self.a_shape),
            unbroadcast(self.xp.where(self.condition, 0, grad), self.b_shape),
        )


# ---- unary -----------------------------------------------------------------------------------


class Neg(Function):
    saved_inputs, linear = (), True

    def forward(self, x):
        return -x

    def backward(self, grad):
        return -grad


class Exp(Function):
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = self.xp.exp(x)
        return self.y

    def backward(self, grad):
        return grad * self.y


class Log(Function):
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.log(x)

    def backward(self, grad):
        return grad / self.x


class Sqrt(Function):
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = self.xp.sqrt(x)
        return self.y

    def backward(self, grad):
        return grad / (2 * self.y)


class Abs(Function):
    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.abs(x)

    def backward(self, grad):
        return grad * sign(self.x, self.xp)


class Clip(Function):
    """The gradient passes where min <= x <= max (as torch.clamp)."""

    saved_inputs, linear = (), True

    def forward(self, x, min=None, max=None):
        self.inside = (x >= (min if min is not None else -math.inf)) & (x <= (max if max is not None else math.inf))
        return self.xp.clip(x, min, max)

    def backward(self, grad):
        return grad * self.inside


class Tanh(Function):
    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.y = self.xp.tanh(x)
        return self.y

    def backward(self, grad):
        return grad * (1 - self.y * self.y)


class Sigmoid(Function):
    saved_inputs, saves_output = (), True

    def forward(self, x):
        # exp of a non-positive number only, so neither branch overflows
        z = self.xp.exp(-self.xp.abs(x))
        self.y = self.xp.where(x >= 0, 1 / (1 + z), z / (1 + z))
        return self.y

    def backward(self, grad):
        return grad * self.y * (1 - self.y)


class ReLU(Function):
    """max(x, 0): the backend's `relu_forward` and `relu_backward` (kernels/reference_activation.py). The backward
    passes the gradient where y != 0, true exactly where not x <= 0 (torch's rule, which lets a nan's gradient
    through), so the output (the next op's input, held anyway) stands in for a saved mask."""

    saved_inputs, saves_output = (), True

    def forward(self, x):
        self.kernels = backend.kernels(x)
        self.y = self.xp.empty(x.shape, x.dtype)
        self.kernels.relu_forward(x, self.y)
        return self.y

    def backward(self, grad):
        dx = self.xp.empty(self.y.shape, self.y.dtype)
        self.kernels.relu_backward(grad.astype(self.y.dtype, copy=False), self.y, dx)
        return dx

    def composed(self, x):
        """x times the constant mask y != 0."""
        return x * (self.y != 0).astype(x.dtype)


class LeakyReLU(Function):
    """max(x, 0) + slope * min(x, 0), slope != 0 (ReLU is its own op). At x == 0 the gradient is `slope` (as
    torch)."""

    saved_inputs, linear = (), True

    def forward(self, x, negative_slope):
        self.slope = negative_slope
        self.positive = x > 0
        return self.xp.where(self.positive, x, x * negative_slope)

    def backward(self, grad):
        return self.xp.where(self.positive, grad, grad * self.slope)


class GELU(Function):
    """x Φ(x). Exact: Φ(x) = (1 + erf(x/√2))/2. approximate='tanh': Φ(x) ≈ (1 + tanh(u))/2 with
    u = √(2/π)(x + 0.044715 x³)."""

    saved_inputs = (0,)

    def forward(self, x, approximate="none"):
        self.x, self.approximate = x, approximate
        xp = self.xp
        if approximate == "tanh":
            self.t = xp.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3))
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2)), xp))
        return x * self.cdf

    def backward(self, grad):
        x, xp = self.x, self.xp
        if self.approximate == "tanh":
            du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return grad * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t * self.t) * du)
        pdf = xp.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
        return grad * (self.cdf + x * pdf)


class Cast(Function):
    saved_inputs, linear = (), True

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad):
        return grad.astype(self.dtype)
