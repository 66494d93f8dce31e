"""The 2-D matrix product in plain array code: the specification ``cpu_matmul.py`` is tested against.

    out = a @ b          a (M, K), b (K, N), out (M, N)
    out += a @ b         with accumulate=True (a weight gradient summed over chunks of a batch)

``a`` and ``b`` may have any strides (a transposed view is the common case: x Wᵀ, gᵀ x); ``out`` is C-contiguous.
All three have one dtype, any that matmul takes (float16 and complex layers use it too). The code is written
against the array module of ``out`` (numpy, or CuPy on a GPU).
"""

from . import _checks
from .reference_optim import array_module


def check_matmul(a, b, out):
    """a (M, K), b (K, N), out (M, N) C-contiguous and writable, all of one dtype."""
    for name, operand in (("a", a), ("b", b)):
        if not _checks._is_array(operand):
            raise TypeError(f"{name} must be an array, got {type(operand).__name__}")
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise ValueError(f"a and b must be 2-D, got shapes {tuple(a.shape)} and {tuple(b.shape)}")
    (M, K), (K_b, N) = a.shape, b.shape
    if K_b != K:
        raise ValueError(f"b must have a's {K} columns as its rows, got shape {tuple(b.shape)}")
    _checks._inputs(a.dtype, (K, N), b=b)
    _checks._outputs(a.dtype, (M, N), out=out)


def matmul(a, b, out, accumulate: bool = False) -> None:
    """out = a @ b, or out += a @ b when ``accumulate``."""
    check_matmul(a, b, out)
    xp = array_module(out)
    if accumulate:
        out += xp.matmul(a, b)
    else:
        xp.matmul(a, b, out=out)
