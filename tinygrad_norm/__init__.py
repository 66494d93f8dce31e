"""tinygrad_norm: a small tape-based autograd framework whose normalization and dropout kernels
are Numba (CPU) and numba.cuda (GPU) code."""

from . import backend, data, nn, optim
from .autograd import enable_grad, is_grad_enabled, no_grad
from .backend import get_backend_name, set_backend, use_backend
from .creation import arange, full, ones, rand, randn, tensor, zeros
from .gradcheck import GradcheckError, gradcheck
from .random import manual_seed
from .serialization import load, save
from .tensor import Tensor, cat, stack, where

__version__ = "0.1.0"

__all__ = [
    "GradcheckError",
    "Tensor",
    "arange",
    "backend",
    "cat",
    "data",
    "enable_grad",
    "full",
    "get_backend_name",
    "gradcheck",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "rand",
    "randn",
    "save",
    "set_backend",
    "stack",
    "tensor",
    "use_backend",
    "where",
    "zeros",
]
