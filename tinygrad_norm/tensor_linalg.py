"""Matrix products with torch's names and shape checks (`mm`, `bmm`, `mv`, `dot`, `outer`, `addmm`, `baddbmm`), all
compositions of `@`, and `einsum` and `tensordot`, module-level functions as in torch."""

from __future__ import annotations

import math
import string
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from .dtypes import promote
from .ops.linalg import Einsum
from .shapes import normalize_dim

if TYPE_CHECKING:
    from .tensor import Tensor


def _check_ndim(name: str, what: str, t: Tensor, ndim: int) -> None:
    if t.ndim != ndim:
        raise RuntimeError(f"{name}: {what} must be a {ndim}D tensor, got a {t.ndim}D tensor of shape {tuple(t.shape)}")


def _check_inner(name: str, a: Tensor, b: Tensor, a_axis: int, b_axis: int) -> None:
    if a.shape[a_axis] != b.shape[b_axis]:
        raise RuntimeError(
            f"{name}: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
            f"({a.shape[a_axis]} != {b.shape[b_axis]})"
        )


def _scaled_sum(input: Tensor, product: Tensor, beta: float, alpha: float) -> Tensor:
    """beta * input + alpha * product; with beta == 0 `input` is ignored, so its nan and inf do not spread (as
    torch)."""
    out = product if alpha == 1 else product * alpha
    if beta == 0:
        return out
    return out + (input if beta == 1 else input * beta)


class LinalgMethods:
    __slots__ = ()

    def mm(self, mat2: Tensor) -> Tensor:
        """The product of two matrices, (n, k) @ (k, m)."""
        _check_ndim("mm", "self", self, 2)
        _check_ndim("mm", "mat2", mat2, 2)
        _check_inner("mm", self, mat2, 1, 0)
        return self @ mat2

    def bmm(self, mat2: Tensor) -> Tensor:
        """The product of two batches of matrices, (b, n, k) @ (b, k, m), with no broadcasting."""
        _check_ndim("bmm", "self", self, 3)
        _check_ndim("bmm", "mat2", mat2, 3)
        if self.shape[0] != mat2.shape[0]:
            raise RuntimeError(f"bmm: batch sizes differ, {self.shape[0]} and {mat2.shape[0]}")
        _check_inner("bmm", self, mat2, 2, 1)
        return self @ mat2

    def mv(self, vec: Tensor) -> Tensor:
        """A matrix times a vector, (n, m) @ (m,)."""
        _check_ndim("mv", "self", self, 2)
        _check_ndim("mv", "vec", vec, 1)
        _check_inner("mv", self, vec, 1, 0)
        return self @ vec

    def dot(self, other: Tensor) -> Tensor:
        """The inner product of two vectors of the same length."""
        _check_ndim("dot", "self", self, 1)
        _check_ndim("dot", "other", other, 1)
        _check_inner("dot", self, other, 0, 0)
        return self @ other

    def trace(self) -> Tensor:
        """The sum of a matrix's diagonal."""
        _check_ndim("trace", "self", self, 2)
        return self.diagonal().sum()

    def cross(self, other: Tensor, dim: int | None = None) -> Tensor:
        """The cross product of 3-vectors along `dim` (broadcast): y = a × b. Without `dim`, along the first axis
        of length 3 (torch.cross's default; torch.linalg.cross takes the last)."""
        a, b = promote(self, other)
        if dim is None:
            shape = np.broadcast_shapes(a.shape, b.shape)
            dim = shape.index(3) if 3 in shape else -1
        axis = normalize_dim(dim, max(a.ndim, b.ndim))
        if a.shape[axis - a.ndim] != 3 or b.shape[axis - b.ndim] != 3:
            raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3, got {a.shape} and {b.shape}")

        def rolled(t: Tensor, order: list[int]) -> Tensor:
            return t[(slice(None),) * (axis - (max(a.ndim, b.ndim) - t.ndim)) + (order,)]

        return rolled(a, [1, 2, 0]) * rolled(b, [2, 0, 1]) - rolled(a, [2, 0, 1]) * rolled(b, [1, 2, 0])

    def dist(self, other: Tensor, p: float = 2) -> Tensor:
        """The p-norm of self - other."""
        return (self - other).norm(p)

    def outer(self, vec2: Tensor) -> Tensor:
        """y[i, j] = self[i] * vec2[j] for two vectors."""
        _check_ndim("outer", "self", self, 1)
        _check_ndim("outer", "vec2", vec2, 1)
        return self.reshape(-1, 1) * vec2.reshape(1, -1)

    def addmm(self, mat1: Tensor, mat2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """beta * self + alpha * (mat1 @ mat2), self broadcast to (n, m)."""
        return _scaled_sum(self, mat1.mm(mat2), beta, alpha)

    def baddbmm(self, batch1: Tensor, batch2: Tensor, *, beta: float = 1, alpha: float = 1) -> Tensor:
        """beta * self + alpha * bmm(batch1, batch2), self broadcast to (b, n, m)."""
        return _scaled_sum(self, batch1.bmm(batch2), beta, alpha)


def einsum(equation: str, *operands: Tensor) -> Tensor:
    """Einstein summation as torch.einsum: `einsum("ij,jk->ik", a, b)`, the operands also as one list; the
    implicit form ("ij,jk": the letters used once, in alphabetical order) and "..." for broadcast axes. Size-1
    axes broadcast against longer ones."""
    if len(operands) == 1 and isinstance(operands[0], list | tuple):
        operands = tuple(operands[0])
    inputs, output = _explicit_equation(equation, operands)
    sizes: dict[str, int] = {}
    for letters, t in zip(inputs, operands):
        for letter, n in zip(letters, t.shape):
            if sizes.setdefault(letter, n) != n and 1 not in (n, sizes[letter]):
                raise RuntimeError(
                    f"einsum(): subscript {letter} has size {n} in one operand and {sizes[letter]} in another"
                )
            sizes[letter] = max(n, sizes[letter])
    for letters, t in zip(inputs, operands):
        for letter in set(letters):
            if letters.count(letter) > 1 and len({t.shape[i] for i, c in enumerate(letters) if c == letter}) > 1:
                raise RuntimeError(f"einsum(): subscript {letter} is repeated for an operand with different sizes")
    return Einsum.apply(*promote(*operands), inputs=tuple(inputs), output=output)


def _explicit_equation(equation: str, operands: Sequence[Tensor]) -> tuple[list[str], str]:
    """The equation with "..." replaced by letters of its own and the output written out."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum(): equation must be a str, got {type(equation).__name__}")
    lhs, arrow, rhs = equation.replace(" ", "").partition("->")
    inputs = lhs.split(",")
    if len(inputs) != len(operands):
        raise RuntimeError(f"einsum(): the equation names {len(inputs)} operands, {len(operands)} were given")
    for part in (*inputs, rhs):
        if any(c not in string.ascii_letters for c in part.replace("...", "")):
            raise RuntimeError(f"einsum(): invalid subscripts in {equation!r}: use letters, ',', '->' and '...'")
    unused = [c for c in string.ascii_letters if c not in equation]
    broadcast = [t.ndim - len(s.replace("...", "")) if "..." in s else 0 for s, t in zip(inputs, operands)]
    ellipsis = "".join(unused[: max(broadcast, default=0)])
    written = []
    for s, t, n in zip(inputs, operands, broadcast):
        s = s.replace("...", ellipsis[len(ellipsis) - n :]) if n >= 0 else s
        if len(s) != t.ndim:
            raise RuntimeError(f"einsum(): subscripts {s!r} do not match an operand with {t.ndim} dimensions")
        written.append(s)
    if arrow:
        output = rhs.replace("...", ellipsis)
        counts = Counter(output)
        if any(count > 1 for count in counts.values()) or not set(output) <= set("".join(written)):
            raise RuntimeError(f"einsum(): output subscripts {rhs!r} must each appear once, and in an input")
    else:
        counts = Counter("".join(written))
        output = ellipsis + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ellipsis))
    return written, output


def tensordot(a: Tensor, b: Tensor, dims: int | Sequence = 2) -> Tensor:
    """The sum over the last `dims` axes of `a` and the first `dims` of `b`, or over the axes listed in
    `dims = (a_axes, b_axes)`; the result has a's other axes, then b's."""
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, got {dims}")
        a_axes, b_axes = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        a_axes, b_axes = ([d] if isinstance(d, int) else list(d) for d in dims)
    a_axes, b_axes = [d % max(a.ndim, 1) for d in a_axes], [d % max(b.ndim, 1) for d in b_axes]
    if len(a_axes) != len(b_axes) or any(a.shape[i] != b.shape[j] for i, j in zip(a_axes, b_axes)):
        raise RuntimeError(f"tensordot: axes {a_axes} of {tuple(a.shape)} and {b_axes} of {tuple(b.shape)} differ")
    a_free = [d for d in range(a.ndim) if d not in a_axes]
    b_free = [d for d in range(b.ndim) if d not in b_axes]
    a_shape, b_shape = [a.shape[d] for d in a_free], [b.shape[d] for d in b_free]
    summed = math.prod(a.shape[d] for d in a_axes)
    left = a.permute(*a_free, *a_axes).reshape(math.prod(a_shape), summed)
    right = b.permute(*b_axes, *b_free).reshape(summed, math.prod(b_shape))
    return (left @ right).reshape(*a_shape, *b_shape)


def cdist(x1: Tensor, x2: Tensor, p: float = 2.0) -> Tensor:
    """The p-norm distance between each row of x1 (..., n, d) and each row of x2 (..., m, d): (..., n, m)."""
    if x1.ndim < 2 or x2.ndim < 2 or x1.shape[-1] != x2.shape[-1]:
        raise RuntimeError(f"cdist: x1 {x1.shape} and x2 {x2.shape} must be (..., n, d) and (..., m, d)")
    return (x1.unsqueeze(-2) - x2.unsqueeze(-3)).norm(p, dim=-1)
