"""In-place tensor ops (`add_`, `+=`, `zero_`, `copy_`, `normal_`, ...) with torch's rules, and the version
counters that keep them from corrupting a backward.

- A leaf that requires grad may change in place only under `no_grad` (an optimizer step, an init).
- With nothing to record (grad mode off, or nothing involved requires grad) the op writes into the tensor's
  array directly. Otherwise it is recorded: the out-of-place op runs on the old value, its result is written
  back into the tensor's array and the tensor takes the new node, while nodes recorded earlier keep the old
  value's node, as in torch. A recorded in-place op therefore saves no memory.
- Every in-place op adds one to the tensor's version (`t._version`), a counter shared by the tensors that
  share its array: views (reshape, permute, transposes, expand, basic indexing) and `detach()`. A node notes
  the versions of what its backward reads, and backward refuses to run once one has changed
  (`autograd.Function.check_versions`).
- Views, how far we go: an in-place op on a view changes its base's array (numpy's semantics) and bumps the
  shared version; that is all when nothing is recorded. Recording an in-place op on a view is refused (torch
  would rewrite the base's graph), and changing a base through the tape makes a backward through views taken
  earlier raise the version error instead of using a stale graph.
- Writes through `.data` (the array itself) are not counted, as with torch's `.data`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from .devices import check_same, copy_to, current
from .dtypes import check_in_place_cast, float32, result_dtype
from .engine import VersionCounter
from .grad_mode import is_grad_enabled
from .ops.elementwise import Where
from .random import generator

if TYPE_CHECKING:
    from .tensor import Tensor


class InPlaceMethods:
    __slots__ = ()

    # ---- version counters --------------------------------------------------------------------------------

    @property
    def _version(self) -> int:
        """How many in-place ops changed this tensor's array (torch's `_version`)."""
        counter = self._version_counter
        return 0 if counter is None else counter.value

    def _shared_counter(self) -> VersionCounter:
        if self._version_counter is None:
            self._version_counter = VersionCounter()
        return self._version_counter

    def _share_versions(self, base: Tensor) -> None:
        """Make this output of a view op a view of `base` when it shares base's array."""
        if self.xp.may_share_memory(self._data, base._data):
            self._version_counter = base._shared_counter()
            self._base = base if base._base is None else base._base

    # ---- arithmetic ------------------------------------------------------------------------------------------

    def add_(self, other, *, alpha: float = 1) -> Tensor:
        """self += alpha * other."""
        other = self._wrap_operand(other)
        return self._arithmetic_("add", other if alpha == 1 else other * alpha, lambda a, b: a + b)

    def sub_(self, other, *, alpha: float = 1) -> Tensor:
        """self -= alpha * other."""
        other = self._wrap_operand(other)
        return self._arithmetic_("subtract", other if alpha == 1 else other * alpha, lambda a, b: a - b)

    def mul_(self, other) -> Tensor:
        return self._arithmetic_("multiply", self._wrap_operand(other), lambda a, b: a * b, reads_self=True)

    def div_(self, other) -> Tensor:
        """True division; an integer tensor cannot hold the floating result (as torch)."""
        return self._arithmetic_("divide", self._wrap_operand(other), lambda a, b: a / b, reads_self=True)

    def __iadd__(self, other) -> Tensor:
        return self.add_(other)

    def __isub__(self, other) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other) -> Tensor:
        return self.div_(other)

    def _arithmetic_(self, ufunc: str, other: Tensor, op: Callable, reads_self: bool = False) -> Tensor:
        """self = op(self, other), computed in torch's result dtype by the array module's `ufunc` and stored in
        self's dtype."""
        dtype = result_dtype(self, other)
        if ufunc == "divide" and dtype.kind in "biu":
            dtype = float32
        check_in_place_cast(dtype, self.dtype)
        self._check_fits(other.shape)
        ufunc = getattr(self.xp, ufunc)
        return self._in_place(
            lambda array: ufunc(array, other.data, out=array, dtype=dtype),
            lambda before: op(before, other),
            (other,),
            reads_self,
        )

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:
        bounds = [self._wrap_operand(b) for b in (min, max) if b is not None]
        if not bounds:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        check_in_place_cast(result_dtype(self, *bounds), self.dtype)
        return self._in_place(
            lambda array: self.xp.clip(array, min, max, out=array), lambda before: before.clip(min, max)
        )

    clip_ = clamp_

    # ---- overwriting ---------------------------------------------------------------------------------------

    def zero_(self) -> Tensor:
        return self.fill_(0)

    def fill_(self, value) -> Tensor:
        """Every element set to `value`, a number or a 0-d tensor (whose gradient is the sum of self's)."""
        value = self._wrap_operand(value)
        if value.ndim:
            raise RuntimeError(
                f"fill_ only supports 0-dimension value tensor but got tensor with {value.ndim} dimensions."
            )
        return self._overwrite(value)

    def copy_(self, src: Tensor) -> Tensor:
        """The elements of `src` (broadcast to self's shape, cast to self's dtype, from any device) copied in."""
        if not isinstance(src, InPlaceMethods):  # every Tensor is one
            raise TypeError(f"copy_(): argument 'src' must be a Tensor, got {type(src).__name__}")
        self._check_fits(src.shape)
        return self._overwrite(src.to(self.device))

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Tensor:
        """Every element drawn from N(mean, std²) by the framework's generator (`manual_seed`)."""
        if not std >= 0:
            raise ValueError(f"normal_: std must be >= 0, got {std}")
        return self._overwrite_with_draws(lambda: generator().normal(mean, std, self.shape), "normal_")

    def uniform_(self, from_: float = 0.0, to: float = 1.0) -> Tensor:
        """Every element drawn from U(from_, to) by the framework's generator (`manual_seed`)."""
        if not from_ <= to:
            raise ValueError(f"uniform_ expects a [from, to) range, got from={from_} > to={to}")
        return self._overwrite_with_draws(lambda: generator().uniform(from_, to, self.shape), "uniform_")

    def _overwrite_with_draws(self, draw: Callable[[], np.ndarray], name: str) -> Tensor:
        if self.dtype.kind not in "fc":
            raise TypeError(f"{name} fills floating point tensors, got dtype {self.dtype}")
        # drawn in host memory by the one generator, so a seed gives the same values on every device
        return self._overwrite(self._from_array(copy_to(draw(), self.device, self.dtype, copy=False), False))

    def _overwrite(self, value: Tensor) -> Tensor:
        """Self takes `value`'s elements (broadcast, cast). Recorded, it is where(False, old, value): the old
        value gets a zero gradient (as torch's fill_), `value` the gradient of self."""

        def assign(array) -> None:
            array[...] = value.data

        never = self._from_array(self.xp.zeros((), bool), False)
        return self._in_place(assign, lambda before: Where.apply(never, before, value.astype(before.dtype)), (value,))

    def _in_place_as(self, result: Callable[[Tensor], Tensor], *operands) -> Tensor:
        """self replaced by `result(self)`, an out-of-place op of self's shape, in self's dtype (a result torch
        would not cast into it raises), through `_in_place`."""

        def compute(t: Tensor) -> Tensor:
            out = result(t)
            check_in_place_cast(out.dtype, self.dtype)
            return out if out.dtype == self.dtype else out.astype(self.dtype)

        def update(array) -> None:
            array[...] = compute(self._from_array(array, False)).data

        tensors = tuple(t for t in operands if isinstance(t, InPlaceMethods))
        return self._in_place(update, compute, tensors, True)

    # ---- the rules every in-place op follows ---------------------------------------------------------------

    def _check_fits(self, shape: tuple[int, ...]) -> None:
        """An operand must broadcast to this tensor's shape: an in-place op cannot grow the tensor."""
        try:
            fits = np.broadcast_shapes(self.shape, shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise RuntimeError(
                f"an in-place op on a tensor of shape {list(self.shape)} got an operand of shape {list(shape)}, "
                "which does not broadcast to it"
            )

    def _in_place(
        self, update: Callable, compute: Callable, operands: tuple = (), reads_self: bool = False
    ) -> Tensor:
        """Change this tensor: `update(array)` writes into its array when nothing needs recording; else
        `compute(before)` gives the new value as a recorded out-of-place expression of a tensor `before`
        standing for the old value (a copy when the expression's backward reads it, `reads_self`)."""
        if not getattr(self._data.flags, "writeable", True):
            raise RuntimeError(
                "unsupported operation: this tensor's array is read-only (an expand() view, or a read-only "
                "numpy array). Please clone() the tensor before performing the operation."
            )
        check_same((self, *operands))
        if is_grad_enabled() and (self.requires_grad or any(t.requires_grad for t in operands)):
            self._check_recordable()
            before = self._from_array(self._data.copy() if reads_self else self._data, self.requires_grad)
            before._ctx = self._ctx
            new = compute(before)
            self._data[...] = new.data
            self._ctx, self.requires_grad = new._ctx, True
        else:
            with current(self._data):
                update(self._data)
        self._shared_counter().bump()
        return self

    def _check_recordable(self) -> None:
        if self._ctx is None and self.requires_grad:
            raise RuntimeError("a leaf Variable that requires grad is being used in an in-place operation.")
        if self._base is not None:
            if self._base._ctx is None and self._base.requires_grad:
                raise RuntimeError(
                    "a view of a leaf Variable that requires grad is being used in an in-place operation."
                )
            raise RuntimeError(
                "an in-place operation on a view cannot be recorded here (it would change the graph of the tensor "
                "it views); use an out-of-place op, or clone() the view first."
            )


# methods whose in-place form `name_(*args)` is `name(*args)` written back into self
_WRITTEN_BACK = (
    *("abs", "neg", "negative", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square"),
    *("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf"),
    *("erfc", "sigmoid", "relu", "reciprocal", "sign", "floor", "ceil", "round", "trunc", "frac", "pow", "lerp"),
    *("clamp_min", "clamp_max", "fmod", "remainder", "atan2", "copysign", "logit", "nan_to_num", "xlogy", "tril"),
    *("triu", "addcmul", "addcdiv", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "logical_not"),
)


def _written_back(name: str) -> Callable:
    def method(self, *args, **kwargs):
        return self._in_place_as(lambda t: getattr(t, name)(*args, **kwargs), *args, *kwargs.values())

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"`{name}` in place."
    return method


for _name in _WRITTEN_BACK:
    setattr(InPlaceMethods, f"{_name}_", _written_back(_name))
