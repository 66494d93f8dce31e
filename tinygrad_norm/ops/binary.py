"""Element-wise math of two broadcasting inputs beyond + and *: maximum and minimum, clamp with tensor bounds,
atan2, logaddexp, copysign, remainders and rounded quotients, each with torch's gradient (at ties and zeros too)."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..shapes import unbroadcast


class Extremum(Function):
    """maximum(a, b) or minimum(a, b), nan where either is nan. The gradient goes to the one picked, half to each
    on a tie, and to both where one is nan (torch's rule); the shares are constants, so the op is linear."""

    saved_inputs, linear = (), True

    def forward(self, a, b, pick: str):
        xp = self.xp
        self.a_shape, self.b_shape = a.shape, b.shape
        a_loses, b_loses = (a < b, a > b) if pick == "maximum" else (a > b, a < b)
        y, tie = getattr(xp, pick)(a, b), a == b
        dtype = y.dtype if y.dtype.kind == "f" else np.float64
        self.a_share = xp.where(tie, 0.5, xp.where(a_loses, 0.0, 1.0)).astype(dtype)
        self.b_share = xp.where(tie, 0.5, xp.where(b_loses, 0.0, 1.0)).astype(dtype)
        return y

    def backward(self, grad):
        return unbroadcast(grad * self.a_share, self.a_shape), unbroadcast(grad * self.b_share, self.b_shape)


class ClampTensor(Function):
    """y = min(max(x, low), high) with tensor bounds (either may be absent). Gradients as torch's: x where
    low <= x <= high; low where x < low < high (x < low with no high); high where x > high or high < low (with
    both bounds the result is high when they cross)."""

    saved_inputs, linear = (), True

    def forward(self, x, *bounds, has_low: bool, has_high: bool):
        xp, rest = self.xp, iter(bounds)
        low, high = (next(rest) if has_low else None), (next(rest) if has_high else None)
        self.shapes = (x.shape, *(b.shape for b in bounds))
        masks = [xp.ones(x.shape, bool)]
        if has_low:
            masks[0] = masks[0] & (x >= low)
            masks.append(x < low if not has_high else (x < low) & (low < high))
        if has_high:
            masks[0] = masks[0] & (x <= high)
            masks.append(x > high if not has_low else (x > high) | (high < low))
        self.masks = masks
        y = x if low is None else xp.maximum(x, low)
        return y if high is None else xp.minimum(y, high)

    def backward(self, grad):
        return tuple(unbroadcast(self.xp.where(mask, grad, 0), shape) for mask, shape in zip(self.masks, self.shapes))


class Atan2(Function):
    """y = atan2(a, b), the angle of the point (b, a). da = b / (a² + b²), db = -a / (a² + b²), both 0 at the
    origin (as torch)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.xp.arctan2(a, b)

    def backward(self, grad):
        xp, a, b = self.xp, self.a, self.b
        squared = a * a + b * b
        origin = squared == 0
        scale = grad / xp.where(origin, 1, squared)
        return (
            unbroadcast(xp.where(origin, 0, scale * b), a.shape),
            unbroadcast(xp.where(origin, 0, -scale * a), b.shape),
        )


class Hypot(Function):
    """y = sqrt(a² + b²) without overflow or underflow; da = a / y, db = b / y (nan at the origin, as torch)."""

    saves_output = True

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = self.xp.hypot(a, b)
        return self.y

    @np.errstate(divide="ignore", invalid="ignore")
    def backward(self, grad):
        scale = grad / self.y
        return unbroadcast(scale * self.a, self.a.shape), unbroadcast(scale * self.b, self.b.shape)


class LogAddExp(Function):
    """y = log(exp(a) + exp(b)), computed without overflow; da = 1 / (1 + exp(b - a)), db = 1 / (1 + exp(a - b))
    (torch's formula: nan where a and b are the same infinity)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return self.xp.logaddexp(a, b)

    @np.errstate(over="ignore", invalid="ignore")
    def backward(self, grad):
        xp, a, b = self.xp, self.a, self.b
        return (
            unbroadcast(grad / (1 + xp.exp(b - a)), a.shape),
            unbroadcast(grad / (1 + xp.exp(a - b)), b.shape),
        )


class CopySign(Function):
    """y = |a| with the sign of b. da = dy · y / a (±1), 0 where a = 0 (as torch); b gets no gradient."""

    saved_inputs, linear = (), True

    def forward(self, a, b):
        self.a_shape = a.shape
        y = self.xp.copysign(a, b)
        with np.errstate(invalid="ignore"):
            self.ratio = self.xp.where(a == 0, 0, y / self.xp.where(a == 0, 1, a))
        return y

    def backward(self, grad):
        return unbroadcast(grad * self.ratio, self.a_shape), None


class Remainder(Function):
    """a - q·b for the quotient q = trunc(a / b) ("fmod", C's sign rule: the sign of a) or floor(a / b)
    ("remainder", Python's: the sign of b). da = dy, db = -dy · q; q is piecewise constant, so the op is linear."""

    saved_inputs, linear = (), True

    @np.errstate(divide="ignore", invalid="ignore")
    def forward(self, a, b, function: str):
        self.a_shape, self.b_shape = a.shape, b.shape
        self.quotient = rounded_quotient(a, b, "trunc" if function == "fmod" else "floor", self.xp)
        return getattr(self.xp, function)(a, b)

    def backward(self, grad):
        return unbroadcast(grad, self.a_shape), unbroadcast(-grad * self.quotient, self.b_shape)


class RoundedQuotient(Function):
    """a / b rounded toward zero ("trunc") or down ("floor"): piecewise constant, so both gradients are zero
    (zeros, as torch)."""

    saved_inputs, linear = (), True

    @np.errstate(divide="ignore", invalid="ignore")
    def forward(self, a, b, mode: str):
        self.a_shape, self.b_shape = a.shape, b.shape
        return rounded_quotient(a, b, mode, self.xp)

    def backward(self, grad):
        zeros = self.xp.zeros_like(grad)
        return unbroadcast(zeros, self.a_shape), unbroadcast(zeros, self.b_shape)


def rounded_quotient(a, b, mode: str, xp):
    """floor(a / b) or trunc(a / b) as torch computes them: for floats numpy's floor_divide (the quotient of
    Python's divmod), for integers exact integer division."""
    if mode == "floor":
        return xp.floor_divide(a, b)
    if a.dtype.kind == "f":
        return xp.trunc(a / b)
    floor = xp.floor_divide(a, b)
    return floor + ((floor < 0) & (floor * b != a))  # rounding down went one past zero
