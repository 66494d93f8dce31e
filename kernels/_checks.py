"""Argument checks shared by the three kernel modules: each mistake is caught once, with one message naming the
argument and what was expected (TypeError for a wrong kind or dtype, ValueError for a wrong shape, layout or value).

Every public kernel function starts with the check of the same name and arguments, so ``reference``, ``cpu`` and
``cuda`` refuse the same calls with the same words. The checks read ``shape``, ``dtype`` and ``strides`` only, so
numpy arrays, numba device arrays and CuPy arrays pass alike. Empty arrays are valid.
"""

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


# ---------------------------------------------------------------------------------------------------------------
# one array


def _is_array(a):
    return type(a) is np.ndarray or (hasattr(a, "shape") and hasattr(a, "dtype") and hasattr(a, "strides"))


def _float_array(name, a):
    if not _is_array(a) or a.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} must be a float32 or float64 array, got {getattr(a, 'dtype', type(a).__name__)}")


def _input(name, a, layout):
    """x: float32 or float64 with the axes of ``layout``, e.g. "(B, C, S)"; returns its shape."""
    _float_array(name, a)
    if len(a.shape) != layout.count(",") + 1:
        raise ValueError(f"{name} must have shape {layout}, got {tuple(a.shape)}")
    return tuple(a.shape)


def _exact(name, a, dtype, shape):
    if not _is_array(a):
        raise TypeError(f"{name} must be an array of dtype {np.dtype(dtype)}, got {type(a).__name__}")
    if a.dtype != dtype:
        raise TypeError(f"{name} must have dtype {np.dtype(dtype)}, got {a.dtype}")
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(a.shape)}")


def _c_contiguous(a):
    """numpy's C_CONTIGUOUS flag, from shape and strides: axes of length 1 may have any stride, empty arrays any."""
    if type(a) is np.ndarray:
        return a.flags.c_contiguous
    if 0 in tuple(a.shape):
        return True
    expected = a.dtype.itemsize
    for size, stride in zip(reversed(a.shape), reversed(a.strides)):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _inputs(dtype, shape, optional=False, **arrays):
    """Inputs of one dtype and shape (dy, statistics, weight, bias); None passes where they are optional."""
    for name, a in arrays.items():
        if not (optional and a is None):
            _exact(name, a, dtype, shape)


def _outputs(dtype, shape, optional=False, **arrays):
    """Caller-allocated outputs of one dtype and shape, C-contiguous and writable; None passes where optional.

    Writable is numpy's flag; device arrays (numba, CuPy) have none and are always writable.
    """
    for name, a in arrays.items():
        if not (optional and a is None):
            _exact(name, a, dtype, shape)
            if not _c_contiguous(a):
                raise ValueError(f"{name} is an output and must be C-contiguous")
            if not getattr(getattr(a, "flags", None), "writeable", True):
                raise ValueError(f"{name} is an output and must be writable")


def _groups(groups, channels):
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1 or channels % groups:
        raise ValueError(f"groups must be a positive integer dividing C={channels}, got {groups!r}")


def _grad_outputs(x, dx, dweight, dbias):
    _outputs(x.dtype, x.shape, dx=dx)
    _outputs(x.dtype, x.shape[1:2], optional=True, dweight=dweight, dbias=dbias)


# ---------------------------------------------------------------------------------------------------------------
# the public kernel functions, argument for argument


def row_norm_forward(x, weight, bias, groups, eps, center, y, mean, rstd):
    B, C, S = _input("x", x, "(B, C, S)")
    _groups(groups, C)
    _inputs(x.dtype, (C,), optional=True, weight=weight, bias=bias)
    _outputs(x.dtype, x.shape, y=y)
    _outputs(np.float64, (B, groups), mean=mean, rstd=rstd)


def row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias):
    B, C, S = _input("x", x, "(B, C, S)")
    _inputs(x.dtype, x.shape, dy=dy)
    _groups(groups, C)
    _inputs(np.float64, (B, groups), mean=mean, rstd=rstd)
    _inputs(x.dtype, (C,), optional=True, weight=weight)
    _grad_outputs(x, dx, dweight, dbias)


def channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased):
    N, C, S = _input("x", x, "(N, C, S)")
    _inputs(x.dtype, (C,), optional=True, weight=weight, bias=bias)
    _outputs(x.dtype, x.shape, y=y)
    _outputs(np.float64, (C,), mean=mean, rstd=rstd, var_unbiased=var_unbiased)


def channel_norm_apply(x, mean, rstd, weight, bias, y):
    N, C, S = _input("x", x, "(N, C, S)")
    _inputs(np.float64, (C,), mean=mean, rstd=rstd)
    _inputs(x.dtype, (C,), optional=True, weight=weight, bias=bias)
    _outputs(x.dtype, x.shape, y=y)


def channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias):
    N, C, S = _input("x", x, "(N, C, S)")
    _inputs(x.dtype, x.shape, dy=dy)
    _inputs(np.float64, (C,), mean=mean, rstd=rstd)
    _inputs(x.dtype, (C,), optional=True, weight=weight)
    _grad_outputs(x, dx, dweight, dbias)


def update_running_stats(running_mean, running_var, momentum, mean, var_unbiased):
    (C,) = _input("running_mean", running_mean, "(C)")
    _outputs(running_mean.dtype, (C,), running_mean=running_mean, running_var=running_var)
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float, np.integer, np.floating)):
        raise TypeError(f"momentum must be a real number, got {type(momentum).__name__}")
    _inputs(np.float64, (C,), mean=mean, var_unbiased=var_unbiased)


def channel_norm_moments(x, mean, m2):
    N, C, S = _input("x", x, "(N, C, S)")
    _outputs(np.float64, (C,), mean=mean, m2=m2)


def channel_norm_combine(counts, means, m2s, eps, mean, rstd, var_unbiased):
    P, C = _input("means", means, "(P, C)")
    _inputs(np.float64, (P, C), means=means, m2s=m2s)
    _inputs(np.float64, (P,), counts=counts)
    _outputs(np.float64, (C,), mean=mean, rstd=rstd, var_unbiased=var_unbiased)


def channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat):
    N, C, S = _input("x", x, "(N, C, S)")
    _inputs(x.dtype, x.shape, dy=dy)
    _inputs(np.float64, (C,), mean=mean, rstd=rstd)
    _outputs(np.float64, (C,), sum_dy=sum_dy, sum_dy_xhat=sum_dy_xhat)


def channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx):
    N, C, S = _input("x", x, "(N, C, S)")
    _inputs(x.dtype, x.shape, dy=dy)
    _inputs(np.float64, (C,), mean=mean, rstd=rstd, sum_dy=sum_dy, sum_dy_xhat=sum_dy_xhat)
    _inputs(x.dtype, (C,), optional=True, weight=weight)
    if isinstance(count, bool) or not isinstance(count, (int, float, np.integer, np.floating)) or not count >= N * S:
        raise ValueError(f"count must be a number of elements per channel, at least this x's {N * S}, got {count!r}")
    _outputs(x.dtype, x.shape, dx=dx)


def dropout_key(p, seed, offset):
    """Returns (p, seed, offset) as a float in [0, 1] and ints in [0, 2^64): numpy scalars become Python numbers."""
    if not isinstance(p, (int, float, np.integer, np.floating)) or not 0.0 <= p <= 1.0:  # nan fails too
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    for name, value in (("seed", seed), ("offset", offset)):
        if not isinstance(value, (int, np.integer)) or not 0 <= int(value) < 2**64:
            raise ValueError(f"{name} must be an integer in [0, 2**64), got {value!r}")
    return float(p), int(seed), int(offset)


def dropout(in_name, x, p, seed, offset, out_name, y):
    """dropout_forward (x, y) and dropout_backward (dy, dx); returns the key as dropout_key does."""
    _input(in_name, x, "(R, S)")
    key = dropout_key(p, seed, offset)
    _outputs(x.dtype, x.shape, **{out_name: y})
    return key


def dropout_mask(p, seed, offset, mask):
    key = dropout_key(p, seed, offset)
    _outputs(np.uint8, tuple(getattr(mask, "shape", ()))[:1], mask=mask)  # (R,)
    return key


def elementwise(x, y):
    """special.erf and special.erfc: x float32 or float64 of any shape, y an output of its dtype and shape."""
    _float_array("x", x)
    _outputs(x.dtype, x.shape, y=y)
