"""`Tensor`: an array (numpy, or CuPy on a GPU) with reverse-mode autograd on the tape.

Every method that computes is a thin call into `ops/`: the gradient rules live there, forward
beside backward. Derived ops (`a - b`, `a / b`, `mean`, `var`) are compositions. The methods are grouped
by theme: this file holds construction, attributes, copies and the arithmetic operators; tensor_convert.py the
dtype and device conversions; tensor_math.py element-wise math; tensor_bitwise.py remainders, rounded division and
bitwise ops; tensor_shape.py the shape methods; tensor_indexing.py indexing, gather and scatter; tensor_reduce.py
the reductions and cumulative ops; tensor_sort.py sorting; tensor_linalg.py the matrix products; tensor_new.py the
new_* constructors; tensor_inplace.py the in-place ops and version counters. Constructors (`zeros`, `randn`, ...)
live in `creation.py`, dtype rules in `dtypes.py`, torch's module-level functions (`tn.sin`, ...) in
`functions.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, TextIO

import numpy as np

from . import autograd, engine
from .devices import CPU, Device, array_module, check_same, copy_to, of
from .dtypes import as_dtype, check_grad_dtype, check_numeric, float32, promote
from .hooks import RemovableHandle, add_hook, tensor_grad_hook
from .ops.elementwise import Add, Mul, Neg, Pow, Where
from .ops.matmul import MatMul
from .ops.movement import Clone
from .shapes import Size
from .tensor_bitwise import BitwiseMethods
from .tensor_convert import ConversionMethods
from .tensor_indexing import IndexingMethods
from .tensor_inplace import InPlaceMethods
from .tensor_linalg import LinalgMethods
from .tensor_math import MathMethods
from .tensor_new import NewTensorMethods
from .tensor_reduce import ReductionMethods
from .tensor_shape import ShapeMethods
from .tensor_sort import SortingMethods


class Tensor(
    MathMethods,
    BitwiseMethods,
    ConversionMethods,
    ShapeMethods,
    IndexingMethods,
    ReductionMethods,
    SortingMethods,
    LinalgMethods,
    NewTensorMethods,
    InPlaceMethods,
):
    """An n-dimensional array that records the ops applied to it so `backward()` can differentiate.

    `Tensor(data, requires_grad=False, dtype=None, device=None)`: `data` is an array (numpy or CuPy), a
    Tensor, a nested list or a scalar of numbers (bool, integer, floating or complex; anything else is a
    TypeError). Python floats become float32 (as in torch); arrays keep their dtype, so float64 is kept;
    integers stay integer (int64 for Python ints) and cannot require grad. The data is always copied, onto
    `device` ("cpu", "cuda", "cuda:N"; default: where `data` is, the CPU for lists and numbers);
    `from_numpy`, `from_dlpack` and `as_tensor` share it instead.
    """

    __slots__ = ("_data", "requires_grad", "grad", "_ctx", "_retains_grad", "_grad_hooks",
                 "_version_counter", "_base", "__weakref__")
    __array_priority__ = 1000  # so `ndarray op Tensor` defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None, device: Device | str | int | None = None):
        dtype = as_dtype(dtype)
        if isinstance(data, Tensor):
            data = data._data
        copy = True
        if array_module(data) is np and not isinstance(data, np.ndarray | np.generic):  # numbers, nested lists
            data, copy = np.array(data), False  # np.array made the copy
            if dtype is None and data.dtype == np.float64:
                dtype = float32
        check_numeric(data.dtype, "tensor data")
        self._init(copy_to(data, None if device is None else Device(device), dtype, copy), requires_grad)

    def _init(self, data, requires_grad: bool) -> None:
        check_grad_dtype(data.dtype, requires_grad)
        self._data = data
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self._ctx: autograd.Function | None = None
        self._retains_grad = False
        self._grad_hooks: dict | None = None  # a leaf's hooks (a non-leaf's live on its node): autograd.grad_hooks_of
        self._version_counter: engine.VersionCounter | None = None  # made by the first in-place op or view
        self._base: Tensor | None = None  # the tensor whose array this one views

    @staticmethod
    def _from_array(data, requires_grad: bool) -> Tensor:
        """Wrap an array without copying or converting it (the path every op takes). The result is a
        plain Tensor even when called on a subclass: an op on a Parameter is not a Parameter (as torch)."""
        out = object.__new__(Tensor)
        out._init(data, requires_grad)
        return out

    # ---- the array -----------------------------------------------------------------------------

    @property
    def data(self):
        """The underlying array (numpy, or CuPy on a GPU), shared, not copied: writing into it changes the
        tensor, unseen by autograd (as torch's `.data`).

        Assigning replaces the array: a Tensor (its array is taken, shared) or an array of the same shape.
        The dtype may change, as torch allows, to any numeric dtype (a floating one while the tensor
        requires grad); anything else raises at once."""
        return self._data

    @data.setter
    def data(self, value) -> None:
        array = value._data if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray) and array_module(array) is np:
            raise TypeError(f"data must be a Tensor or an array, got {type(value).__name__}")
        if array.shape != self._data.shape:
            raise ValueError(f"data must keep the tensor's shape {self.shape}, got shape {array.shape}")
        check_numeric(array.dtype, "data")
        check_grad_dtype(array.dtype, self.requires_grad)
        self._data = array

    # ---- attributes ----------------------------------------------------------------------------

    @property
    def xp(self):
        return array_module(self._data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def size(self) -> Size:
        return Size(self._data.shape)

    def numel(self) -> int:
        return self._data.size

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def device(self) -> Device:
        """Where the array lives: device(type='cpu'), or device(type='cuda', index=N) for a CuPy array."""
        return of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.xp is not np

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def grad_fn(self) -> autograd.Function | None:
        """The node that made this tensor (None for a leaf); `grad_fn.next_functions` leads on, as torch."""
        return self._ctx

    # ---- conversions and copies ----------------------------------------------------------------

    def numpy(self) -> np.ndarray:
        """The numpy array itself, shared. A CUDA tensor raises TypeError, as in torch: copy it first (`.cpu()`)."""
        if self.xp is not np:
            raise TypeError(
                f"can't convert {self.device} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to "
                "host memory first."
            )
        return self._data

    def item(self):
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has {self._data.size}")
        return self._data.reshape(()).item()

    def tolist(self):
        return copy_to(self._data, CPU, copy=False).tolist()

    def detach(self) -> Tensor:
        """The same array (and version counter), cut from the graph."""
        out = Tensor._from_array(self._data, False)
        out._version_counter = self._shared_counter()
        return out

    def detach_(self) -> Tensor:
        """Cut this tensor from the graph, in place: it becomes a leaf that does not require grad."""
        if self._base is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._ctx, self.requires_grad = None, False
        return self

    def clone(self) -> Tensor:
        """A copy in a fresh array, differentiable: the gradient passes back to this tensor."""
        return Clone.apply(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("requires_grad_ can only change leaf tensors; use detach() first")
        check_grad_dtype(self.dtype, requires_grad)
        self.requires_grad = requires_grad
        return self

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> RemovableHandle:
        """Call `hook(grad)` with this tensor's gradient each time a backward computes it: for a leaf before it
        is added into `.grad` (once per backward, with the sum over every use), for a non-leaf before it is
        passed on (and before `retain_grad` keeps it). A returned tensor replaces the gradient. Hooks run in the
        order registered; `handle.remove()` takes one out (as torch)."""
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        return add_hook(autograd.grad_hooks_of(self), tensor_grad_hook(hook, Tensor))

    def print_tape(self, params: Mapping[str, Tensor] | None = None, file: TextIO | None = None) -> None:
        """Print the nodes this tensor depends on, one line each, in the order backward runs them (see
        `autograd.tape`); `params` names leaves, e.g. `dict(model.named_parameters())`."""
        for entry in autograd.tape(self, params):
            print(entry, file=file)

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = not self.is_leaf

    def __repr__(self) -> str:
        host = copy_to(self._data, CPU, copy=False)
        body = np.array2string(host, separator=", ", prefix="tensor(", precision=4, threshold=100)
        device = "" if self.xp is np else f", device='{self.device}'"
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}{device}, shape={self.shape}, dtype={self.dtype}{grad})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

    def __dlpack__(self, *args, **kwargs):
        """The array's DLPack capsule, for `torch.from_dlpack`, `np.from_dlpack`, `cupy.from_dlpack` (shared)."""
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self._data.__dlpack_device__()

    # ---- autograd ------------------------------------------------------------------------------

    def backward(
        self, gradient: Tensor | Any = None, retain_graph: bool | None = None, create_graph: bool = False, inputs=None
    ) -> None:
        """Accumulate d(self)/d(leaf) · gradient into every leaf's `.grad` that requires grad (only into the
        `.grad` of `inputs` when given). With `create_graph` the backward is recorded, so `.grad` can be
        differentiated again; `retain_graph` defaults to `create_graph` (as torch)."""
        if create_graph or inputs is not None:
            autograd.backward(self, gradient, retain_graph, create_graph, inputs)
        else:  # the common case, straight to the engine
            engine.run_backward([self], [autograd.seed_gradient(self, gradient)], bool(retain_graph))

    # ---- binary operators ----------------------------------------------------------------------

    def _wrap_operand(self, other) -> Tensor:
        """Wrap a scalar or array operand. Python scalars take a floating tensor's dtype, and a Python float
        with an integer or bool tensor is float32 (as in torch); other scalars and arrays keep numpy's dtype.
        A 0-d CPU tensor goes to this tensor's device, as a Python scalar would (as torch)."""
        if isinstance(other, Tensor):
            same_type = type(other._data) is type(self._data)
            return other if same_type or not _is_host_scalar_beside(other, self) else other.to(self.device)
        if isinstance(other, bool | int | float) and self.dtype.kind in "fc":
            return Tensor._from_array(self.xp.asarray(other, dtype=self.dtype), False)
        if isinstance(other, float):
            return Tensor._from_array(self.xp.asarray(other, dtype=np.float32), False)
        return Tensor._from_array(self.xp.asarray(other), False)

    def _promoted_operands(self, other) -> tuple[Tensor, Tensor]:
        """This tensor and the wrapped `other`, cast to their common dtype by `promote` (this tensor moved to
        `other`'s device when it is a 0-d CPU tensor)."""
        other = self._wrap_operand(other)
        this = self
        if type(other._data) is not type(self._data) and _is_host_scalar_beside(self, other):
            this = self.to(other.device)
        return (this, other) if other.dtype == this.dtype else promote(this, other)

    def __add__(self, other) -> Tensor:
        return Add.apply(*self._promoted_operands(other))

    def __mul__(self, other) -> Tensor:
        return Mul.apply(*self._promoted_operands(other))

    def __pow__(self, other) -> Tensor:
        return Pow.apply(*self._promoted_operands(other))

    def __matmul__(self, other) -> Tensor:
        return MatMul.apply(*self._promoted_operands(other))

    def __sub__(self, other) -> Tensor:
        return self + -self._wrap_operand(other)

    def __truediv__(self, other) -> Tensor:
        other = self._wrap_operand(other)
        if other.dtype.kind not in "fc":  # integers have no x ** -1: divide in a float dtype (as torch)
            dtype = self.dtype if self.dtype.kind in "fc" else np.dtype(np.float32)
            return self.astype(dtype) / other.astype(dtype)
        return self * other**-1

    def __radd__(self, other) -> Tensor:
        return self._wrap_operand(other) + self

    def __rmul__(self, other) -> Tensor:
        return self._wrap_operand(other) * self

    def __rsub__(self, other) -> Tensor:
        return self._wrap_operand(other) - self

    def __rtruediv__(self, other) -> Tensor:
        return self._wrap_operand(other) / self

    def __rpow__(self, other) -> Tensor:
        return self._wrap_operand(other) ** self

    def __rmatmul__(self, other) -> Tensor:
        return self._wrap_operand(other) @ self

    def __neg__(self) -> Tensor:
        return Neg.apply(self)

    def matmul(self, other) -> Tensor:
        return self @ other

    # torch's names of the operators
    def add(self, other, *, alpha: float = 1) -> Tensor:
        """self + alpha * other."""
        return self + (other if alpha == 1 else self._wrap_operand(other) * alpha)

    def sub(self, other, *, alpha: float = 1) -> Tensor:
        """self - alpha * other."""
        return self - (other if alpha == 1 else self._wrap_operand(other) * alpha)

    def mul(self, other) -> Tensor:
        return self * other

    def pow(self, exponent) -> Tensor:
        return self**exponent

    def neg(self) -> Tensor:
        return -self

    def positive(self) -> Tensor:
        return self

    subtract, multiply, negative = sub, mul, neg

    def where(self, condition, other) -> Tensor:
        """Elements of self where `condition` holds, else of `other`."""
        return where(condition, self, other)

    # comparisons give boolean tensors outside the graph
    def _compare(self, other, op) -> Tensor:
        if isinstance(other, Tensor):
            other = other.to(self.device) if _is_host_scalar_beside(other, self) else other
            check_same((self, other))
            other = other.data
        return Tensor._from_array(op(self.data, other), False)

    def __eq__(self, other) -> Tensor:  # type: ignore[override]
        return self._compare(other, self.xp.equal)

    def __ne__(self, other) -> Tensor:  # type: ignore[override]
        return self._compare(other, self.xp.not_equal)

    def __lt__(self, other) -> Tensor:
        return self._compare(other, self.xp.less)

    def __le__(self, other) -> Tensor:
        return self._compare(other, self.xp.less_equal)

    def __gt__(self, other) -> Tensor:
        return self._compare(other, self.xp.greater)

    def __ge__(self, other) -> Tensor:
        return self._compare(other, self.xp.greater_equal)


# ---- module-level ops ------------------------------------------------------------------------


def _is_host_scalar_beside(t: Tensor, other: Tensor) -> bool:
    """Whether `t` is a 0-d CPU tensor meeting a tensor on a GPU, which takes it as a scalar (as torch)."""
    return type(t._data) is not type(other._data) and t.ndim == 0 and of(t._data) is CPU


def where(condition, a=None, b=None) -> Tensor | tuple[Tensor, ...]:
    """Elements of `a` where `condition` holds, else of `b`; scalars take the dtype of the tensor operand. With the
    condition alone, the indices where it holds, one vector per axis (`nonzero(as_tuple=True)`)."""
    if a is None and b is None:
        return (condition if isinstance(condition, Tensor) else Tensor(condition)).nonzero(as_tuple=True)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    condition = like.xp.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    return Where.apply(Tensor._from_array(condition, False), *promote(like._wrap_operand(a), like._wrap_operand(b)))
