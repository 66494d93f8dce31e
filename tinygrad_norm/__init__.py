"""tinygrad_norm: a small tape-based autograd framework whose normalization and dropout kernels
are Numba (CPU) and numba.cuda (GPU) code."""

from . import backend, nn
from . import optim as optim
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import get_backend_name, set_backend, use_backend
from .creation import arange, full, ones, rand, randn, tensor, zeros
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .tensor import Tensor, cat, stack, where

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Tensor",
    "arange",
    "backend",
    "cat",
    "enable_grad",
    "full",
    "get_backend_name",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "rand",
    "randn",
    "set_backend",
    "stack",
    "tensor",
    "use_backend",
    "where",
    "zeros",
]
