"""torch's module-level functions that are Tensor methods, so code written as `torch.sin(x)` reads as `tn.sin(x)`:
each calls the method of the same name on its first argument (torch's `input`, also by keyword). The functions
that are not methods (`einsum`, `tensordot`, `meshgrid`, `cat`, `stack`, `where`, the constructors) live with
their families."""

from __future__ import annotations

import functools
from collections.abc import Callable

from .tensor import Tensor
from .tensor_linalg import cdist, einsum, tensordot
from .tensor_shape import cat, meshgrid, stack
from .tensor_sort import bincount, bucketize, searchsorted

_METHODS = (
    # element-wise math
    *("abs", "absolute", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2", "arctanh"),
    *("asin", "asinh", "atan", "atan2", "atanh", "ceil", "clamp", "clamp_max", "clamp_min", "clip", "copysign"),
    *("cos", "cosh", "erf", "erfc", "exp", "exp2", "expm1", "fix", "floor", "frac", "hypot", "lerp", "log", "log10"),
    *("log1p", "log2", "logaddexp", "logaddexp2", "maximum", "minimum", "reciprocal", "relu", "round", "rsqrt"),
    *("sigmoid", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc", "matmul"),
    *("add", "sub", "subtract", "mul", "multiply", "pow", "neg", "negative", "positive", "sgn", "fmax", "fmin"),
    *("xlogy", "logit", "addcmul", "addcdiv", "nan_to_num", "deg2rad", "rad2deg", "float_power", "signbit"),
    # remainders, rounded division, bitwise and logical
    *("bitwise_and", "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor"),
    *("div", "divide", "floor_divide", "fmod", "logical_and", "logical_not", "logical_or", "logical_xor"),
    *("remainder", "true_divide"),
    # reductions, predicates, cumulative
    *("all", "allclose", "amax", "amin", "any", "argmax", "argmin", "count_nonzero", "isclose", "isfinite", "isinf"),
    *("isnan", "isneginf", "isposinf", "logsumexp", "log_softmax", "max", "mean", "median", "min", "norm", "prod"),
    *("softmax", "std", "std_mean", "sum", "var", "var_mean", "aminmax", "nansum", "nanmean"),
    *("cummax", "cummin", "cumprod", "cumsum", "logcumsumexp"),
    # indexing
    *("argwhere", "gather", "index_add", "index_copy", "index_fill", "index_select", "masked_fill", "masked_select"),
    *("nonzero", "scatter", "scatter_add"),
    *("scatter_reduce", "take", "take_along_dim"),
    # shapes
    *("chunk", "clone", "diag", "diagonal", "flatten", "flip", "fliplr", "flipud", "movedim", "moveaxis", "narrow"),
    *("permute", "repeat_interleave", "reshape", "roll", "select", "split", "squeeze", "swapaxes", "swapdims", "t"),
    *("tile", "transpose", "tril", "triu", "unbind", "unflatten", "unsqueeze", "diff", "rot90", "ravel"),
    # sorting
    *("argsort", "kthvalue", "msort", "sort", "topk", "unique"),
    # matrix products
    *("addmm", "baddbmm", "bmm", "dot", "mm", "mv", "outer", "trace", "cross", "dist"),
)


def _function(name: str) -> Callable[..., Tensor]:
    method = getattr(Tensor, name)

    @functools.wraps(method)
    def function(input: Tensor, *args, **kwargs):
        if not isinstance(input, Tensor):
            raise TypeError(f"{name}(): argument 'input' must be a Tensor, not {type(input).__name__}")
        return method(input, *args, **kwargs)

    return function


globals().update({name: _function(name) for name in _METHODS})
concat = concatenate = cat
ger = globals()["outer"]


def _number_first(name: str, reflected: str) -> Callable[..., Tensor]:
    """torch's `name(input, other)` that also takes a number as `input` when `other` is a Tensor."""
    method = globals()[name]

    @functools.wraps(method)
    def function(input, other) -> Tensor:
        if not isinstance(input, Tensor) and isinstance(other, Tensor):
            return getattr(other, reflected)(input)
        return method(input, other)

    return function


remainder = _number_first("remainder", "__rmod__")
pow = _number_first("pow", "__rpow__")  # noqa: A001  (torch's name)


def rsub(input: Tensor, other, *, alpha: float = 1) -> Tensor:
    """other - alpha * input."""
    return input.mul(alpha).__rsub__(other) if alpha != 1 else input.__rsub__(other)


__all__ = [
    *_METHODS,
    "bincount",
    "bucketize",
    "cat",
    "cdist",
    "concat",
    "concatenate",
    "einsum",
    "ger",
    "meshgrid",
    "rsub",
    "searchsorted",
    "stack",
    "tensordot",
]
