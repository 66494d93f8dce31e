"""Numba CPU optimizer updates: the functions of ``reference_optim.py``, same signatures, same bits.

The math, and the order each formula is evaluated in, are in reference_optim.py's docstrings; each kernel here is
one loop over the flattened parameter doing that whole update per element, so it reads and writes every array
once and allocates nothing. No ``fastmath``: reassociation or fused multiply-adds would change the rounding, and
the point of these kernels is to give the reference's bits. Scalars arrive cast to the parameter's dtype (the
same ``*_scalars`` helpers as the reference), so a float32 update is float32 arithmetic throughout.
``error_model="numpy"`` makes a division by zero (eps = 0 with a zero state) inf or nan as in numpy.

An update moves 20-36 bytes per element for a few flops, so memory bounds it: one core does a 2.1 M-element
float32 Adam update in about 1.6 ms, two in 0.8 ms. A parameter of at least PARALLEL_MIN_SIZE elements is
therefore split into chunks of CHUNK elements that Numba's threads update with the serial kernel (``_*_parallel``).
Smaller ones stay serial: their update is too short to pay for waking the thread pool, which would then spin
beside BLAS's threads on every parameter of every step.
"""

import numpy as np
from numba import prange

from ._jit import njit
from .reference_optim import adagrad_scalars, adam_scalars, check_update, rmsprop_scalars, sgd_scalars

PARALLEL_MIN_SIZE = 1 << 17  # elements: from here an update runs on Numba's threads ...
CHUNK = 1 << 14  # ... in chunks of this many elements


def _run(kernels, arrays, scalars):
    """kernels = (serial, parallel), called on (*arrays as 1-D C-order arrays, scalars). arrays[0] is param,
    arrays[1] grad (read only), the rest state (None where absent: an empty placeholder is passed). An array that
    is not C-contiguous is updated as a C-order copy, written back after."""
    flat = [None if a is None else np.ascontiguousarray(a).reshape(-1) for a in arrays]
    placeholder = flat[0][:0]
    kernel = kernels[flat[0].size >= PARALLEL_MIN_SIZE]
    kernel(*[placeholder if f is None else f for f in flat], tuple(scalars))
    for i, (a, f) in enumerate(zip(arrays, flat)):
        if i != 1 and a is not None and not a.flags.c_contiguous:
            a[...] = f.reshape(a.shape)


@njit(reassociate=False)
def _chunks(size):
    return (size + CHUNK - 1) // CHUNK


@njit(reassociate=False)
def _chunk(c, size):
    """Elements of chunk c, as a slice (an empty placeholder sliced by it stays empty)."""
    return slice(c * CHUNK, min(size, (c + 1) * CHUNK))


@njit(reassociate=False)
def _effective_grad(g, p, weight_decay, maximize):
    """d = (-g if maximize else g) + weight_decay * p, one element."""
    d = -g if maximize else g
    if weight_decay != 0:
        d = d + p * weight_decay
    return d


# ---------------------------------------------------------------------------------------------------------------
# SGD


@njit(reassociate=False)
def _sgd(param, grad, buf, scalars):
    lr, weight_decay, momentum, keep, has_buf, nesterov, maximize, first_step = scalars
    for i in range(param.size):
        d = _effective_grad(grad[i], param[i], weight_decay, maximize)
        if has_buf:
            buf[i] = d if first_step else buf[i] * momentum + d * keep
            d = d + buf[i] * momentum if nesterov else buf[i]
        param[i] = param[i] + d * -lr


@njit(parallel=True, reassociate=False)
def _sgd_parallel(param, grad, buf, scalars):
    for c in prange(_chunks(param.size)):
        s = _chunk(c, param.size)
        _sgd(param[s], grad[s], buf[s], scalars)


def sgd_step(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, maximize, first_step):
    check_update(param, grad=grad, momentum_buffer=momentum_buffer)
    scalars = sgd_scalars(param, lr, weight_decay, momentum, dampening)
    flags = (momentum_buffer is not None, bool(nesterov), bool(maximize), bool(first_step))
    _run((_sgd, _sgd_parallel), (param, grad, momentum_buffer), (*scalars, *flags))


# ---------------------------------------------------------------------------------------------------------------
# Adam, AdamW


@njit(reassociate=False)
def _adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scalars):
    new1, beta2, new2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt, amsgrad, maximize = scalars
    decays = param_scale != 1
    for i in range(param.size):
        d = _effective_grad(grad[i], param[i], weight_decay, maximize)
        p = param[i] * param_scale if decays else param[i]
        m = exp_avg[i] + (d - exp_avg[i]) * new1
        v = exp_avg_sq[i] * beta2 + d * new2 * d
        exp_avg[i] = m
        exp_avg_sq[i] = v
        if amsgrad:
            v = np.maximum(max_exp_avg_sq[i], v)
            max_exp_avg_sq[i] = v
        denom = np.sqrt(v) / bias_correction2_sqrt + eps
        param[i] = p + m / denom * -step_size


@njit(parallel=True, reassociate=False)
def _adam_parallel(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, scalars):
    for c in prange(_chunks(param.size)):
        s = _chunk(c, param.size)
        _adam(param[s], grad[s], exp_avg[s], exp_avg_sq[s], max_exp_avg_sq[s], scalars)


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
              step_size, bias_correction2_sqrt, maximize):
    check_update(param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq)
    scalars = adam_scalars(param, beta1, beta2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt)
    flags = (max_exp_avg_sq is not None, bool(maximize))
    _run((_adam, _adam_parallel), (param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq), (*scalars, *flags))


# ---------------------------------------------------------------------------------------------------------------
# RMSprop


@njit(reassociate=False)
def _rmsprop(param, grad, square_avg, grad_avg, buf, scalars):
    lr, alpha, new, eps, weight_decay, momentum, centered, has_buf, maximize = scalars
    for i in range(param.size):
        d = _effective_grad(grad[i], param[i], weight_decay, maximize)
        sq = square_avg[i] * alpha + d * new * d
        square_avg[i] = sq
        if centered:
            g = grad_avg[i] + (d - grad_avg[i]) * new
            grad_avg[i] = g
            sq = sq - g * g
        step = d / (np.sqrt(sq) + eps)
        if has_buf:
            step = buf[i] * momentum + step
            buf[i] = step
        param[i] = param[i] + step * -lr


@njit(parallel=True, reassociate=False)
def _rmsprop_parallel(param, grad, square_avg, grad_avg, buf, scalars):
    for c in prange(_chunks(param.size)):
        s = _chunk(c, param.size)
        _rmsprop(param[s], grad[s], square_avg[s], grad_avg[s], buf[s], scalars)


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                 maximize):
    check_update(param, grad=grad, square_avg=square_avg, grad_avg=grad_avg, momentum_buffer=momentum_buffer)
    scalars = rmsprop_scalars(param, lr, alpha, eps, weight_decay, momentum)
    flags = (grad_avg is not None, momentum_buffer is not None, bool(maximize))
    _run((_rmsprop, _rmsprop_parallel), (param, grad, square_avg, grad_avg, momentum_buffer), (*scalars, *flags))


# ---------------------------------------------------------------------------------------------------------------
# Adagrad


@njit(reassociate=False)
def _adagrad(param, grad, state_sum, scalars):
    clr, eps, weight_decay, maximize = scalars
    for i in range(param.size):
        d = _effective_grad(grad[i], param[i], weight_decay, maximize)
        s = state_sum[i] + d * d
        state_sum[i] = s
        param[i] = param[i] + d / (np.sqrt(s) + eps) * -clr


@njit(parallel=True, reassociate=False)
def _adagrad_parallel(param, grad, state_sum, scalars):
    for c in prange(_chunks(param.size)):
        s = _chunk(c, param.size)
        _adagrad(param[s], grad[s], state_sum[s], scalars)


def adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize):
    check_update(param, grad=grad, state_sum=state_sum)
    scalars = adagrad_scalars(param, clr, eps, weight_decay)
    _run((_adagrad, _adagrad_parallel), (param, grad, state_sum), (*scalars, bool(maximize)))
