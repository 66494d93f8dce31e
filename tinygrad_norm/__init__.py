"""tinygrad_norm: a small tape-based autograd framework whose normalization and dropout kernels
are Numba (CPU) and numba.cuda (GPU) code."""

import importlib.util

if importlib.util.find_spec(f"{__name__}.kernels") is None:
    # kernels/ becomes tinygrad_norm.kernels only through the install's package mapping
    raise ImportError(
        "tinygrad_norm.kernels is missing: this tinygrad_norm was imported from a checkout that is not installed. "
        "Run `pip install -e .` in the checkout (an editable install maps kernels/ to tinygrad_norm.kernels), "
        "or `pip install .` and run from another folder."
    )

from . import autograd, backend, cuda, data, memory, nn, optim, viz  # noqa: E402, F401  (memory: malloc thresholds)
from .autograd import enable_grad, is_grad_enabled, no_grad, set_grad_enabled  # noqa: E402
from .backend import get_backend_name, set_backend, use_backend  # noqa: E402
from .creation import (  # noqa: E402
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .devices import Device  # noqa: E402
from .dtypes import (  # noqa: E402
    DTypeError,  # noqa: E402
    bool_,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
)
from .functions import *  # noqa: E402, F403  (torch's module-level functions: tn.sin, tn.cumsum, tn.einsum, ...)
from .functions import __all__ as _functions
from .gradcheck import GradcheckError, gradcheck, gradgradcheck  # noqa: E402
from .kernels._threads import get_num_threads, set_num_threads  # noqa: E402
from .random import manual_seed  # noqa: E402
from .serialization import load, save  # noqa: E402
from .tensor import Tensor, where  # noqa: E402

device = Device  # torch's name for the class of devices: tn.device("cuda:1")

# torch's other names for the same dtypes; they are attributes of the package (`tn.float`), left out of
# __all__ so that `from tinygrad_norm import *` does not shadow the builtins bool, float and int
bool = bool_
half, float, double = float16, float32, float64
short, int, long = int16, int32, int64
cfloat, cdouble = complex64, complex128

__version__ = "0.1.0"

__all__ = [
    "Device",
    *_functions,
    "DTypeError",
    "GradcheckError",
    "Tensor",
    "arange",
    "autograd",
    "as_tensor",
    "backend",
    "complex128",
    "complex64",
    "cuda",
    "data",
    "device",
    "empty",
    "empty_like",
    "eye",
    "enable_grad",
    "float16",
    "float32",
    "float64",
    "from_dlpack",
    "from_numpy",
    "full",
    "full_like",
    "get_backend_name",
    "get_num_threads",
    "gradcheck",
    "gradgradcheck",
    "linspace",
    "logspace",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "save",
    "set_backend",
    "set_grad_enabled",
    "set_num_threads",
    "tensor",
    "uint8",
    "use_backend",
    "viz",
    "where",
    "zeros",
    "zeros_like",
]
