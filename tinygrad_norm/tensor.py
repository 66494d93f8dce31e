"""`Tensor`: an array (numpy, or CuPy on a GPU) with reverse-mode autograd on the tape.

Every method that computes is a thin call into `ops/`: the gradient rules live there, forward
beside backward. Derived ops (`a - b`, `a / b`, `mean`, `var`) are compositions. Constructors
(`zeros`, `randn`, ...) live in `creation.py`, dtype rules in `dtypes.py`.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from . import autograd
from .dtypes import as_dtype, check_grad_dtype, parse_to_args, promote
from .ops import elementwise as E
from .ops import movement as M
from .ops import reduce as R
from .ops.matmul import MatMul

Axis = int | Sequence[int] | None


def array_module(array) -> Any:
    """numpy for numpy arrays, cupy for CuPy arrays."""
    return sys.modules["cupy"] if type(array).__module__.startswith("cupy") else np


def _torch_keywords(method):
    """Also accept torch's `dim=` and `keepdim=` for `axis=` and `keepdims=`."""

    @functools.wraps(method)
    def accepting_torch_keywords(*args, **kwargs):
        for torch_name, name in (("dim", "axis"), ("keepdim", "keepdims")):
            if torch_name in kwargs:
                if name in kwargs:
                    raise TypeError(f"{method.__name__}() got both {name}= and its alias {torch_name}=")
                kwargs[name] = kwargs.pop(torch_name)
        return method(*args, **kwargs)

    return accepting_torch_keywords


class _Size(int):
    """Element count that is also callable like torch's `Tensor.size()`: `t.size == t.numel()`,
    `t.size() == t.shape`, `t.size(d) == t.shape[d]`."""

    def __new__(cls, shape: tuple[int, ...]):
        self = super().__new__(cls, int(np.prod(shape, dtype=np.int64)))
        self.shape = shape
        return self

    def __call__(self, dim: int | None = None):
        return self.shape if dim is None else self.shape[dim]


class Tensor:
    """An n-dimensional array that records the ops applied to it so `backward()` can differentiate.

    `Tensor(data, requires_grad=False, dtype=None)`: `data` is an array, a nested list or a scalar.
    Python floats become float32 (as in torch); numpy arrays keep their dtype, so float64 is kept;
    integers stay integer (int64 for Python ints) and cannot require grad.
    """

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_retains_grad", "__weakref__")
    __array_priority__ = 1000  # so `ndarray op Tensor` defers to Tensor's reflected operators

    def __init__(self, data, requires_grad: bool = False, dtype=None):
        dtype = as_dtype(dtype)
        if isinstance(data, Tensor):
            data = data.data
        if array_module(data) is np:
            from_python = not isinstance(data, np.ndarray | np.generic)
            data = np.array(data, dtype=dtype)
            if dtype is None and from_python and data.dtype == np.float64:
                data = data.astype(np.float32)
        elif dtype is not None:
            data = data.astype(dtype)
        self._init(data, requires_grad)

    def _init(self, data, requires_grad: bool) -> None:
        check_grad_dtype(data.dtype, requires_grad)
        self.data = data
        self.requires_grad = bool(requires_grad)
        self.grad: Tensor | None = None
        self._ctx: autograd.Function | None = None
        self._retains_grad = False

    @staticmethod
    def _from_array(data, requires_grad: bool) -> Tensor:
        """Wrap an array without copying or converting it (the path every op takes). The result is a
        plain Tensor even when called on a subclass: an op on a Parameter is not a Parameter (as torch)."""
        out = object.__new__(Tensor)
        out._init(data, requires_grad)
        return out

    # ---- attributes ----------------------------------------------------------------------------

    @property
    def xp(self):
        return array_module(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> _Size:
        return _Size(self.data.shape)

    def numel(self) -> int:
        return self.data.size

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def device(self) -> str:
        return "cpu" if self.xp is np else "cuda"

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    @property
    def T(self) -> Tensor:
        return self.permute(*reversed(range(self.ndim)))

    def numpy(self) -> np.ndarray:
        return self.data if self.xp is np else self.data.get()

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has {self.data.size}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._from_array(self.data, False)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if not self.is_leaf:
            raise RuntimeError("requires_grad_ can only change leaf tensors; use detach() first")
        check_grad_dtype(self.dtype, requires_grad)
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep `.grad` on this non-leaf tensor after backward (leaves always keep theirs)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        self._retains_grad = not self.is_leaf

    def astype(self, dtype) -> Tensor:
        """A differentiable cast (gradients are cast back to this tensor's dtype); a cast to an integer
        or bool dtype leaves the graph (as torch)."""
        dtype = as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return E.Cast.apply(self if dtype.kind in "fc" else self.detach(), dtype=dtype)

    def to(self, *args, device=None, dtype=None) -> Tensor:
        """torch's `to(dtype)`, `to(device)`, `to(device, dtype)`: a cast, or this tensor when nothing changes."""
        dtype = parse_to_args(*args, device=device, dtype=dtype)
        return self if dtype is None else self.astype(dtype)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def __repr__(self) -> str:
        body = np.array2string(self.numpy(), separator=", ", prefix="tensor(", precision=4, threshold=100)
        grad = ", requires_grad=True" if self.requires_grad else ""
        return f"tensor({body}, shape={self.shape}, dtype={self.dtype}{grad})"

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

    # ---- autograd ------------------------------------------------------------------------------

    def backward(self, grad: Tensor | Any = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) · grad into every leaf's `.grad` that requires grad."""
        if not self.requires_grad:
            raise RuntimeError("backward() on a tensor that does not require grad and has no graph")
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without `grad` needs a scalar output; this one has shape {self.shape}. "
                    "Pass grad= a tensor of the output's shape."
                )
            grad_data = self.xp.ones_like(self.data)
        else:
            grad_data = grad.data if isinstance(grad, Tensor) else self.xp.asarray(grad, dtype=self.dtype)
            if grad_data.shape != self.shape:
                raise ValueError(f"backward(): grad has shape {grad_data.shape}, expected {self.shape}")
        autograd.run_backward(self, grad_data, retain_graph)

    # ---- binary operators ----------------------------------------------------------------------

    def _operand(self, other) -> Tensor:
        """Wrap a scalar or array operand. Python scalars take a floating tensor's dtype, and a Python float
        with an integer or bool tensor is float32 (as in torch); other scalars and arrays keep numpy's dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, bool | int | float) and self.dtype.kind in "fc":
            return Tensor._from_array(self.xp.asarray(other, dtype=self.dtype), False)
        if isinstance(other, float):
            return Tensor._from_array(self.xp.asarray(other, dtype=np.float32), False)
        return Tensor._from_array(self.xp.asarray(other), False)

    def _operands(self, other) -> tuple[Tensor, Tensor]:
        """This tensor and the wrapped `other`, cast to their common dtype by `promote`."""
        other = self._operand(other)
        return (self, other) if other.dtype == self.dtype else promote(self, other)

    def __add__(self, other) -> Tensor:
        return E.Add.apply(*self._operands(other))

    def __mul__(self, other) -> Tensor:
        return E.Mul.apply(*self._operands(other))

    def __pow__(self, other) -> Tensor:
        return E.Pow.apply(*self._operands(other))

    def __matmul__(self, other) -> Tensor:
        return MatMul.apply(*self._operands(other))

    def __sub__(self, other) -> Tensor:
        return self + -self._operand(other)

    def __truediv__(self, other) -> Tensor:
        other = self._operand(other)
        if other.dtype.kind not in "fc":  # integers have no x ** -1: divide in a float dtype (as torch)
            dtype = self.dtype if self.dtype.kind in "fc" else np.dtype(np.float32)
            return self.astype(dtype) / other.astype(dtype)
        return self * other**-1

    def __radd__(self, other) -> Tensor:
        return self._operand(other) + self

    def __rmul__(self, other) -> Tensor:
        return self._operand(other) * self

    def __rsub__(self, other) -> Tensor:
        return self._operand(other) - self

    def __rtruediv__(self, other) -> Tensor:
        return self._operand(other) / self

    def __rpow__(self, other) -> Tensor:
        return self._operand(other) ** self

    def __rmatmul__(self, other) -> Tensor:
        return self._operand(other) @ self

    def __neg__(self) -> Tensor:
        return E.Neg.apply(self)

    def matmul(self, other) -> Tensor:
        return self @ other

    # comparisons give boolean tensors outside the graph
    def _compare(self, other, op) -> Tensor:
        other = other.data if isinstance(other, Tensor) else other
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

    # ---- unary ---------------------------------------------------------------------------------

    def exp(self) -> Tensor:
        return E.Exp.apply(self)

    def log(self) -> Tensor:
        return E.Log.apply(self)

    def sqrt(self) -> Tensor:
        return E.Sqrt.apply(self)

    def rsqrt(self) -> Tensor:
        return self**-0.5

    def abs(self) -> Tensor:
        return E.Abs.apply(self)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return E.Clip.apply(self, min=min, max=max)

    clamp = clip

    def tanh(self) -> Tensor:
        return E.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return E.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return E.LeakyReLU.apply(self, negative_slope=0.0)

    def leaky_relu(self, negative_slope: float = 0.01) -> Tensor:
        return E.LeakyReLU.apply(self, negative_slope=negative_slope)

    def gelu(self, approximate: str = "none") -> Tensor:
        if approximate not in ("none", "tanh"):
            raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
        return E.GELU.apply(self, approximate=approximate)

    # ---- reductions ----------------------------------------------------------------------------

    @_torch_keywords
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return R.Sum.apply(self, axis=axis, keepdims=keepdims)

    @_torch_keywords
    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return self.sum(axis, keepdims) * _reciprocal(_count(self, axis))

    @_torch_keywords
    def var(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        """Σ (x - mean)² / (n - correction); torch's older `unbiased=` means correction=1 (True) or 0 (False)."""
        if unbiased is not None:
            correction = int(unbiased)
        centered = self - self.mean(axis, keepdims=True)
        return (centered * centered).sum(axis, keepdims) * _reciprocal(_count(self, axis) - correction)

    @_torch_keywords
    def std(
        self, axis: Axis = None, correction: float = 1, keepdims: bool = False, *, unbiased: bool | None = None
    ) -> Tensor:
        return self.var(axis, correction, keepdims, unbiased=unbiased).sqrt()

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """The maximum values, as torch.amax. No `dim=` alias: torch's `max(dim=)` returns (values, indices)."""
        return R.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return R.Min.apply(self, axis=axis, keepdims=keepdims)

    @_torch_keywords
    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._from_array(self.data.argmax(axis=axis, keepdims=keepdims), False)

    @_torch_keywords
    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        return Tensor._from_array(self.data.argmin(axis=axis, keepdims=keepdims), False)

    @_torch_keywords
    def logsumexp(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return R.LogSumExp.apply(self, axis=axis, keepdims=keepdims)

    @_torch_keywords
    def softmax(self, axis: int = -1) -> Tensor:
        return R.Softmax.apply(self, axis=axis)

    @_torch_keywords
    def log_softmax(self, axis: int = -1) -> Tensor:
        return R.LogSoftmax.apply(self, axis=axis)

    # ---- shape ---------------------------------------------------------------------------------

    def reshape(self, *shape) -> Tensor:
        shape = shape_args(shape)
        return self if shape == self.shape else M.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        if self.ndim == 0:
            return self.reshape(1)
        start, end = R.normalize_dim(start_dim, self.ndim), R.normalize_dim(end_dim, self.ndim)
        return self.reshape(*self.shape[:start], -1, *self.shape[end + 1 :])

    def permute(self, *axes) -> Tensor:
        axes = tuple(R.normalize_dim(a, self.ndim) for a in shape_args(axes))
        if sorted(axes) != list(range(self.ndim)):
            raise ValueError(f"permute: axes {axes} are not a permutation of {self.ndim} dimensions")
        return M.Permute.apply(self, axes=axes)

    def transpose(self, dim0: int = -2, dim1: int = -1) -> Tensor:
        axes = list(range(self.ndim))
        axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
        return self.permute(*axes)

    def unsqueeze(self, dim: int) -> Tensor:
        dim = R.normalize_dim(dim, self.ndim + 1)
        return self.reshape(*self.shape[:dim], 1, *self.shape[dim:])

    def squeeze(self, dim: Axis = None) -> Tensor:
        """Drop the size-1 axes among `dim` (all axes when None); axes of another size stay (as torch)."""
        axes = R.normalize_axis(dim, self.ndim)
        return self.reshape(*(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def expand(self, *shape) -> Tensor:
        shape = shape_args(shape)
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(shape))
        return M.Expand.apply(self, shape=shape)

    def pad(self, pad_width, value: float = 0.0) -> Tensor:
        """Constant padding with numpy's `pad_width`: ((before, after), ...) per axis."""
        pad_width = tuple(tuple(p) for p in np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (self.ndim, 2)))
        return M.Pad.apply(self, pad_width=pad_width, value=value)

    def __getitem__(self, index) -> Tensor:
        return M.GetItem.apply(self, index=_index_arrays(index))


def _count(t: Tensor, axis: Axis) -> int:
    axes = R.normalize_axis(axis, t.ndim)
    return int(np.prod([t.shape[a] for a in axes], dtype=np.int64))


def _reciprocal(count: int) -> float:
    """1/count for a mean's divisor; inf when count <= 0, so the result is nan or inf as torch's x/0."""
    return 1.0 / count if count > 0 else math.inf


def shape_args(shape) -> tuple[int, ...]:
    """Accept both f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], Sequence | np.ndarray):
        shape = shape[0]
    return tuple(int(n) for n in shape)


def _index_arrays(index):
    """Tensors inside an index become their arrays."""
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index


# ---- module-level ops ------------------------------------------------------------------------


def where(condition, a, b) -> Tensor:
    """Elements of `a` where `condition` holds, else of `b`; scalars take the dtype of the tensor operand."""
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    condition = like.xp.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    return E.Where.apply(Tensor._from_array(condition, False), *promote(like._operand(a), like._operand(b)))


@_torch_keywords
def cat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return M.Cat.apply(*promote(*tensors), axis=axis)


@_torch_keywords
def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    return M.Stack.apply(*promote(*tensors), axis=axis)
