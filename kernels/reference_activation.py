"""ReLU in plain array code: the specification ``cpu_activation.py`` is tested against.

    y = max(x, 0)                  nan stays nan
    dx = dy where y != 0, else 0   torch's rule (zero where x <= 0): y != 0 exactly where not x <= 0

The backward reads the output, which the next op holds anyway, instead of a saved mask, and gives 0 (not dy * 0,
which is nan for an infinite or nan dy) where the input was not positive. The arrays have one real dtype and
shape, any layout for the inputs; outputs are C-contiguous. The code is written against the array module of ``y``
(numpy, or CuPy on a GPU).
"""

from . import _checks
from .reference_optim import array_module


def _real_array(name, a):
    if not _checks._is_array(a) or a.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be an integer or float array, got {getattr(a, 'dtype', type(a).__name__)}")


def check_relu_forward(x, y):
    """x: an integer or float array; y: an output of x's dtype and shape."""
    _real_array("x", x)
    _checks._outputs(x.dtype, x.shape, y=y)


def check_relu_backward(dy, y, dx):
    """dy: an integer or float array; y of its dtype and shape; dx an output of them."""
    _real_array("dy", dy)
    _checks._inputs(dy.dtype, dy.shape, y=y)
    _checks._outputs(dy.dtype, dy.shape, dx=dx)


def relu_forward(x, y) -> None:
    """y = max(x, 0)."""
    check_relu_forward(x, y)
    array_module(y).maximum(x, 0, out=y)


def relu_backward(dy, y, dx) -> None:
    """dx = dy where y != 0, else 0; y is the forward's output."""
    check_relu_backward(dy, y, dx)
    xp = array_module(dx)
    dx[...] = xp.where(y != 0, dy, 0)
