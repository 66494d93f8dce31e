"""Element-wise math methods: exponentials and logarithms, trigonometric and hyperbolic functions, rounding,
maximum/minimum (fmax/fmin), clamp, lerp, logaddexp, copysign, xlogy, logit, addcmul/addcdiv, nan_to_num, and
the float predicates (isnan, isclose, ...). Thin calls
into ops/elementwise.py, ops/unary.py and ops/binary.py, or compositions.

dtypes as torch: a floating function of an integer or bool tensor computes in float32 (the default dtype);
rounding, abs, sign and square keep an integer dtype.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .dtypes import DTypeError, float32, promote
from .ops.binary import Atan2, ClampTensor, CopySign, Extremum, Hypot, LogAddExp
from .ops.elementwise import GELU, Abs, Clip, Exp, LeakyReLU, Log, ReLU, Sigmoid, Sqrt, Tanh, Where
from .ops.special import Erf, Erfc
from .ops.unary import (
    Acos,
    Acosh,
    Asin,
    Asinh,
    Atan,
    Atanh,
    Cos,
    Cosh,
    Exp2,
    Expm1,
    Log1p,
    Log2,
    Log10,
    Reciprocal,
    Rounding,
    Sin,
    Sinh,
    Tan,
)

if TYPE_CHECKING:
    from .tensor import Tensor


def floating(t: Tensor) -> Tensor:
    """`t`, or for an integer or bool tensor its float32 cast: what a floating function computes on (as torch)."""
    return t if t.dtype.kind in "fc" else t.astype(float32)


class MathMethods:
    __slots__ = ()

    # ---- exponentials and logarithms ------------------------------------------------------------------------

    def exp(self) -> Tensor:
        return Exp.apply(floating(self))

    def exp2(self) -> Tensor:
        return Exp2.apply(floating(self))

    def expm1(self) -> Tensor:
        """exp(x) - 1, accurate for small x."""
        return Expm1.apply(floating(self))

    def log(self) -> Tensor:
        return Log.apply(floating(self))

    def log2(self) -> Tensor:
        return Log2.apply(floating(self))

    def log10(self) -> Tensor:
        return Log10.apply(floating(self))

    def log1p(self) -> Tensor:
        """log(1 + x), accurate for small x."""
        return Log1p.apply(floating(self))

    def sqrt(self) -> Tensor:
        return Sqrt.apply(floating(self))

    def rsqrt(self) -> Tensor:
        """1 / sqrt(x)."""
        return self.sqrt().reciprocal()

    def reciprocal(self) -> Tensor:
        return Reciprocal.apply(floating(self))

    def square(self) -> Tensor:
        """x * x (an integer tensor stays integer; a bool one becomes int64, as torch)."""
        x = self.astype(np.int64) if self.dtype == np.bool_ else self
        return x * x

    # ---- trigonometric and hyperbolic ---------------------------------------------------------------------

    def sin(self) -> Tensor:
        return Sin.apply(floating(self))

    def cos(self) -> Tensor:
        return Cos.apply(floating(self))

    def tan(self) -> Tensor:
        return Tan.apply(floating(self))

    def asin(self) -> Tensor:
        return Asin.apply(floating(self))

    def acos(self) -> Tensor:
        return Acos.apply(floating(self))

    def atan(self) -> Tensor:
        return Atan.apply(floating(self))

    def atan2(self, other) -> Tensor:
        """The angle of the point (other, self): atan(self / other) in the right quadrant."""
        return Atan2.apply(*(floating(t) for t in self._promoted_operands(other)))

    def sinh(self) -> Tensor:
        return Sinh.apply(floating(self))

    def cosh(self) -> Tensor:
        return Cosh.apply(floating(self))

    def tanh(self) -> Tensor:
        return Tanh.apply(floating(self))

    def asinh(self) -> Tensor:
        return Asinh.apply(floating(self))

    def acosh(self) -> Tensor:
        return Acosh.apply(floating(self))

    def atanh(self) -> Tensor:
        return Atanh.apply(floating(self))

    arcsin, arccos, arctan, arctan2 = asin, acos, atan, atan2
    arcsinh, arccosh, arctanh = asinh, acosh, atanh

    # ---- special functions and activations ------------------------------------------------------------------

    def erf(self) -> Tensor:
        return Erf.apply(floating(self))

    def erfc(self) -> Tensor:
        """1 - erf(x), accurate where erf(x) is near 1."""
        return Erfc.apply(floating(self))

    def sigmoid(self) -> Tensor:
        return Sigmoid.apply(floating(self))

    def relu(self) -> Tensor:
        return ReLU.apply(self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return LeakyReLU.apply(self, negative_slope=negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return GELU.apply(floating(self), approximate=approximate)

    # ---- sign, magnitude and rounding ----------------------------------------------------------------------

    def abs(self) -> Tensor:
        if self.dtype == np.bool_:
            raise DTypeError("abs takes numeric tensors other than bool, got dtype bool")
        return Abs.apply(self)

    __abs__ = absolute = abs

    def sign(self) -> Tensor:
        """-1, 0 or 1 by the sign of x (nan stays nan); its gradient is zero."""
        return self.clone() if self.dtype == np.bool_ else Rounding.apply(self, function="sign")

    sgn = sign

    def floor(self) -> Tensor:
        return self._rounded("floor")

    def ceil(self) -> Tensor:
        return self._rounded("ceil")

    def trunc(self) -> Tensor:
        return self._rounded("trunc")

    fix = trunc

    def round(self, decimals: int = 0) -> Tensor:
        """To the nearest integer, halves to even (as torch.round), or to `decimals` decimal places."""
        return self._rounded("rint" if decimals == 0 else "round", decimals)

    def frac(self) -> Tensor:
        """x - trunc(x), with the sign of x; its gradient is 1."""
        if self.dtype.kind not in "fc":
            raise DTypeError(f"frac takes floating tensors, got dtype {self.dtype}")
        return self - self.trunc()

    def _rounded(self, function: str, decimals: int = 0) -> Tensor:
        if self.dtype.kind not in "fc":  # integers are already whole
            return self.clone()
        return Rounding.apply(self, function=function, decimals=decimals)

    # ---- two inputs -------------------------------------------------------------------------------------

    def maximum(self, other: Tensor) -> Tensor:
        """The larger of each pair, nan where either is nan; on a tie the gradient is shared equally."""
        _check_tensor(other, "maximum")
        return Extremum.apply(*self._promoted_operands(other), pick="maximum")

    def minimum(self, other: Tensor) -> Tensor:
        """The smaller of each pair, nan where either is nan; on a tie the gradient is shared equally."""
        _check_tensor(other, "minimum")
        return Extremum.apply(*self._promoted_operands(other), pick="minimum")

    def fmax(self, other: Tensor) -> Tensor:
        """maximum that ignores nan (nan only where both are); on a tie the gradient goes to self (as torch)."""
        return self._nan_ignoring(other, self.xp.greater_equal)

    def fmin(self, other: Tensor) -> Tensor:
        """minimum that ignores nan (nan only where both are); on a tie the gradient goes to self (as torch)."""
        return self._nan_ignoring(other, self.xp.less_equal)

    def _nan_ignoring(self, other: Tensor, keeps: np.ufunc) -> Tensor:
        a, b = self._promoted_operands(other)
        pick_a = self.xp.logical_or(keeps(a.data, b.data), self.xp.isnan(b.data))
        return Where.apply(self._from_array(pick_a, False), a, b)

    def clip(self, min=None, max=None) -> Tensor:
        """Every element bounded to [min, max]; the bounds are numbers or tensors (broadcast), either may be
        None, not both. Where min > max the result is max (as torch)."""
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        bounds = [b for b in (min, max) if b is not None]
        if not any(isinstance(b, MathMethods) for b in bounds):
            return Clip.apply(self, min=min, max=max)
        x, *bounds = promote(self, *(self._wrap_operand(b) for b in bounds))
        return ClampTensor.apply(x, *bounds, has_low=min is not None, has_high=max is not None)

    clamp = clip

    def clamp_min(self, min) -> Tensor:
        return self.clip(min=min)

    def clamp_max(self, max) -> Tensor:
        return self.clip(max=max)

    def lerp(self, end: Tensor, weight) -> Tensor:
        """self + weight · (end - self), in torch's two forms: from self for |weight| < 0.5, from end otherwise
        (so weight 1 gives end exactly)."""
        start, end = self._promoted_operands(end)
        if not isinstance(weight, MathMethods):
            if abs(weight) < 0.5:
                return start + (end - start) * weight
            return end - (end - start) * (1 - weight)
        weight = weight.astype(start.dtype)
        near_start = self._from_array(weight.data.__abs__() < 0.5, False)
        return Where.apply(near_start, start + (end - start) * weight, end - (end - start) * (1 - weight))

    def logaddexp(self, other) -> Tensor:
        """log(exp(self) + exp(other)), without overflow."""
        return LogAddExp.apply(*(floating(t) for t in self._promoted_operands(other)))

    def logaddexp2(self, other) -> Tensor:
        """log2(2^self + 2^other)."""
        ln2 = np.log(2)
        return (self * ln2).logaddexp(other * ln2) * (1 / ln2)

    def copysign(self, other) -> Tensor:
        """|self| with the sign of `other` (-0.0 counts as negative); only self gets a gradient."""
        return CopySign.apply(*(floating(t) for t in self._promoted_operands(other)))

    def hypot(self, other) -> Tensor:
        """sqrt(self² + other²), without overflow or underflow."""
        return Hypot.apply(*(floating(t) for t in self._promoted_operands(other)))

    def xlogy(self, other) -> Tensor:
        """self · log(other), 0 where self is 0 (unless other is nan). The gradients are log(other) and
        self / other, but 0 where self is 0 and other 0 or infinite (where 0 · log(other) is not a number)."""
        x, y = (floating(t) for t in self._promoted_operands(other))
        xp = self.xp
        degenerate = xp.logical_and(x.data == 0, xp.logical_or(y.data == 0, xp.isinf(y.data)))
        degenerate = self._from_array(degenerate, False)
        one, nothing = (self._from_array(xp.asarray(v, dtype=x.dtype), False) for v in (1, 0))
        return Where.apply(degenerate, nothing, x * Where.apply(degenerate, one, y).log())

    def logit(self, eps: float | None = None) -> Tensor:
        """log(p / (1 - p)), p = self clamped to [eps, 1 - eps] when eps is given."""
        p = floating(self) if eps is None else floating(self).clip(eps, 1 - eps)
        return p.log() - (1 - p).log()

    def addcmul(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        """self + value · tensor1 · tensor2."""
        return self + tensor1 * tensor2 * value

    def addcdiv(self, tensor1: Tensor, tensor2: Tensor, *, value: float = 1) -> Tensor:
        """self + value · tensor1 / tensor2."""
        return self + tensor1 / tensor2 * value

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Tensor:
        """nan, +inf and -inf replaced (by default with 0 and the dtype's largest and lowest finite values);
        their gradient is zero."""
        if self.dtype.kind not in "fc":
            return self.clone()
        finfo = np.finfo(self.dtype)
        high, low = finfo.max if posinf is None else posinf, finfo.min if neginf is None else neginf
        finite = self._from_array(self.xp.isfinite(self.data), False)
        replaced = self.xp.nan_to_num(self.data, nan=nan, posinf=high, neginf=low)
        return Where.apply(finite, self, self._from_array(replaced, False))

    def deg2rad(self) -> Tensor:
        return floating(self) * (np.pi / 180)

    def rad2deg(self) -> Tensor:
        return floating(self) * (180 / np.pi)

    def float_power(self, exponent) -> Tensor:
        """self ** exponent in float64 (as torch)."""
        exponent = exponent.astype(np.float64) if isinstance(exponent, MathMethods) else float(exponent)
        return self.astype(np.float64) ** exponent

    # ---- predicates (bool tensors, outside the graph) ---------------------------------------------------

    def signbit(self) -> Tensor:
        return self._from_array(self.xp.signbit(self.data), False)


    def isnan(self) -> Tensor:
        return self._from_array(self.xp.isnan(self.data), False)

    def isinf(self) -> Tensor:
        return self._from_array(self.xp.isinf(self.data), False)

    def isposinf(self) -> Tensor:
        return self._from_array(self.xp.isposinf(self.data), False)

    def isneginf(self) -> Tensor:
        return self._from_array(self.xp.isneginf(self.data), False)

    def isfinite(self) -> Tensor:
        return self._from_array(self.xp.isfinite(self.data), False)

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        """|self - other| <= atol + rtol · |other|, infinities equal to themselves (as torch.isclose)."""
        a, b = self._promoted_operands(other)
        return self._from_array(self.xp.isclose(a.data, b.data, rtol=rtol, atol=atol, equal_nan=equal_nan), False)

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())


def _check_tensor(other, name: str) -> None:
    if not isinstance(other, MathMethods):
        raise TypeError(f"{name}(): argument 'other' (position 2) must be Tensor, not {type(other).__name__}")
