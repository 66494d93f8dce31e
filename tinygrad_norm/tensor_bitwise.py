"""Integer-style arithmetic methods: remainders (`%`, `fmod`), rounded division (`//`, `div(rounding_mode=)`), the
bitwise ops of integer and bool tensors (`&`, `|`, `^`, `~`, `<<`, `>>`) and the logical ops of any tensor.

dtypes as torch: remainders and rounded quotients keep the operands' common dtype, and an integer one divided
by zero raises (ZeroDivisionError, in a RuntimeError); bitwise ops refuse floating tensors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dtypes import DTypeError
from .ops.binary import Remainder, RoundedQuotient

if TYPE_CHECKING:
    from .tensor import Tensor


class BitwiseMethods:
    __slots__ = ()

    # ---- remainders and rounded division --------------------------------------------------------------

    def remainder(self, other) -> Tensor:
        """self - floor(self / other) · other: the remainder with the sign of `other` (Python's %)."""
        return Remainder.apply(*self._divisible(other), function="remainder")

    def fmod(self, other) -> Tensor:
        """self - trunc(self / other) · other: the remainder with the sign of `self` (C's fmod)."""
        return Remainder.apply(*self._divisible(other), function="fmod")

    def div(self, other, *, rounding_mode: str | None = None) -> Tensor:
        """self / other: true division (rounding_mode None), or rounded toward zero ("trunc") or down
        ("floor"), keeping an integer dtype; the rounded forms have a zero gradient."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(
                f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found {rounding_mode!r}"
            )
        return RoundedQuotient.apply(*self._divisible(other), mode=rounding_mode)

    divide = div

    def true_divide(self, other) -> Tensor:
        return self / other

    def floor_divide(self, other) -> Tensor:
        return self.div(other, rounding_mode="floor")

    def __mod__(self, other) -> Tensor:
        return self.remainder(other)

    def __rmod__(self, other) -> Tensor:
        return self._wrap_operand(other).remainder(self)

    def __floordiv__(self, other) -> Tensor:
        return self.floor_divide(other)

    def __rfloordiv__(self, other) -> Tensor:
        return self._wrap_operand(other).floor_divide(self)

    def _divisible(self, other) -> tuple[Tensor, Tensor]:
        a, b = self._promoted_operands(other)
        if a.dtype.kind in "biu" and (b.data == 0).any():
            raise RuntimeError("ZeroDivisionError")
        return a, b

    # ---- bitwise ------------------------------------------------------------------------------------------

    def bitwise_and(self, other) -> Tensor:
        return self._bitwise("bitwise_and", other)

    def bitwise_or(self, other) -> Tensor:
        return self._bitwise("bitwise_or", other)

    def bitwise_xor(self, other) -> Tensor:
        return self._bitwise("bitwise_xor", other)

    def bitwise_left_shift(self, other) -> Tensor:
        return self._bitwise("left_shift", other)

    def bitwise_right_shift(self, other) -> Tensor:
        return self._bitwise("right_shift", other)

    def bitwise_not(self) -> Tensor:
        _check_bitwise("bitwise_not", self)
        return self._from_array(self.xp.invert(self.data), False)

    __and__, __or__, __xor__ = bitwise_and, bitwise_or, bitwise_xor
    __lshift__, __rshift__, __invert__ = bitwise_left_shift, bitwise_right_shift, bitwise_not

    def __rand__(self, other) -> Tensor:
        return self._wrap_operand(other).bitwise_and(self)

    def __ror__(self, other) -> Tensor:
        return self._wrap_operand(other).bitwise_or(self)

    def __rxor__(self, other) -> Tensor:
        return self._wrap_operand(other).bitwise_xor(self)

    def __rlshift__(self, other) -> Tensor:
        return self._wrap_operand(other).bitwise_left_shift(self)

    def __rrshift__(self, other) -> Tensor:
        return self._wrap_operand(other).bitwise_right_shift(self)

    def _bitwise(self, ufunc: str, other) -> Tensor:
        a, b = self._promoted_operands(other)
        _check_bitwise(ufunc, a)
        return self._from_array(getattr(self.xp, ufunc)(a.data, b.data), False)

    # ---- logical (any dtype, nonzero is true) --------------------------------------------------------------

    def logical_and(self, other) -> Tensor:
        return self._logical("logical_and", other)

    def logical_or(self, other) -> Tensor:
        return self._logical("logical_or", other)

    def logical_xor(self, other) -> Tensor:
        return self._logical("logical_xor", other)

    def logical_not(self) -> Tensor:
        return self._from_array(self.xp.logical_not(self.data), False)

    def _logical(self, ufunc: str, other) -> Tensor:
        other = self._wrap_operand(other)
        return self._from_array(getattr(self.xp, ufunc)(self.data, other.data), False)


def _check_bitwise(name: str, t: Tensor) -> None:
    if t.dtype.kind not in "biu":
        raise DTypeError(f"{name} takes integer or bool tensors, got dtype {t.dtype}")
