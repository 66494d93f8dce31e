"""Optimizer updates in plain array code: the specification the Numba versions (``cpu_optim.py``) are tested against.

Each function updates one parameter and its state in place, as one step of the torch.optim algorithm of the same
name (its ``_single_tensor_*`` form). The caller derives the per-step scalars (bias corrections, the decayed
learning rate) in Python floats, as torch does; these functions do the elementwise part. The code is written
against the array module of ``param`` (numpy, or CuPy on a GPU) with ``out=`` so that an update allocates at most
two temporaries; arithmetic stays in the parameter's dtype (scalars are cast to it first).

Every update starts from the same effective gradient::

    d = -grad if maximize else grad
    d = d + weight_decay * param            (L2 penalty; skipped when weight_decay == 0)

Each formula below is written in the order it is evaluated, one rounding per operation; ``cpu_optim.py`` keeps
that order, so both give the same bits. torch evaluates some products in another order and fuses some
multiply-adds, so float32 results agree with torch to rounding, float64 ones to about 1e-15.
"""

import sys

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def array_module(array):
    """numpy for numpy arrays, cupy for CuPy arrays."""
    return sys.modules["cupy"] if type(array).__module__.startswith("cupy") else np


def check_update(param, **arrays):
    """param: a float32 or float64 array; every other array (None where absent) of param's dtype and shape."""
    if not hasattr(param, "shape") or getattr(param, "dtype", None) not in FLOAT_DTYPES:
        raise TypeError(f"param must be a float32 or float64 array, got {getattr(param, 'dtype', type(param))}")
    for name, a in arrays.items():
        if a is None:
            continue
        if getattr(a, "dtype", None) != param.dtype:
            raise TypeError(f"{name} must have param's dtype {param.dtype}, got {getattr(a, 'dtype', type(a))}")
        if tuple(a.shape) != tuple(param.shape):
            raise ValueError(f"{name} must have param's shape {tuple(param.shape)}, got {tuple(a.shape)}")


def _effective_grad(xp, param, grad, weight_decay, maximize, scratch):
    """d = (-grad if maximize else grad) + weight_decay * param, into a fresh array (grad is never written)."""
    d = grad.copy()
    if maximize:
        xp.negative(d, out=d)
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=scratch)
        d += scratch
    return d


def _scalars(param, *values):
    """Scalars in param's dtype, so that float32 arithmetic stays float32 whatever type the caller passed."""
    return list(np.array(values, param.dtype))


# The scalars each update works with, derived in float64 and then cast once: shared with cpu_optim, so that both
# round them alike.


def sgd_scalars(param, lr, weight_decay, momentum, dampening):
    return _scalars(param, lr, weight_decay, momentum, 1 - dampening)


def adam_scalars(param, beta1, beta2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt):
    return _scalars(param, 1 - beta1, beta2, 1 - beta2, eps, weight_decay, param_scale, step_size,
                    bias_correction2_sqrt)


def rmsprop_scalars(param, lr, alpha, eps, weight_decay, momentum):
    return _scalars(param, lr, alpha, 1 - alpha, eps, weight_decay, momentum)


def adagrad_scalars(param, clr, eps, weight_decay):
    return _scalars(param, clr, eps, weight_decay)


def sgd_step(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov, maximize, first_step):
    """SGD with momentum (torch.optim.SGD). momentum_buffer is None when momentum == 0::

        buf   = d                                       on the first step (first_step)
        buf   = buf * momentum + d * (1 - dampening)    after it
        d     = d + buf * momentum  if nesterov  else  buf
        param = param + d * (-lr)
    """
    check_update(param, grad=grad, momentum_buffer=momentum_buffer)
    xp = array_module(param)
    lr, weight_decay, momentum, keep = sgd_scalars(param, lr, weight_decay, momentum, dampening)
    scratch = xp.empty_like(param)
    d = _effective_grad(xp, param, grad, weight_decay, maximize, scratch)
    direction = d
    if momentum_buffer is not None:
        if first_step:
            xp.copyto(momentum_buffer, d)
        else:
            momentum_buffer *= momentum
            xp.multiply(d, keep, out=scratch)
            momentum_buffer += scratch
        if nesterov:
            xp.multiply(momentum_buffer, momentum, out=scratch)
            d += scratch
        else:
            direction = momentum_buffer
    xp.multiply(direction, -lr, out=d)
    param += d


def adam_step(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, beta1, beta2, eps, weight_decay, param_scale,
              step_size, bias_correction2_sqrt, maximize):
    """Adam and AdamW (torch.optim.Adam, torch.optim.AdamW). max_exp_avg_sq is None unless amsgrad. With
    step t, step_size = lr / (1 - beta1^t) and bias_correction2_sqrt = sqrt(1 - beta2^t). AdamW's decoupled
    decay passes param_scale = 1 - lr * weight_decay and weight_decay = 0; Adam passes param_scale = 1::

        param      = param * param_scale                (skipped when param_scale == 1)
        exp_avg    = exp_avg + (d - exp_avg) * (1 - beta1)          (torch's lerp)
        exp_avg_sq = exp_avg_sq * beta2 + (d * (1 - beta2)) * d
        v          = max(max_exp_avg_sq, exp_avg_sq) -> max_exp_avg_sq   if amsgrad  else  exp_avg_sq
        denom      = sqrt(v) / bias_correction2_sqrt + eps
        param      = param + (exp_avg / denom) * (-step_size)
    """
    check_update(param, grad=grad, exp_avg=exp_avg, exp_avg_sq=exp_avg_sq, max_exp_avg_sq=max_exp_avg_sq)
    xp = array_module(param)
    new1, beta2, new2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt = adam_scalars(
        param, beta1, beta2, eps, weight_decay, param_scale, step_size, bias_correction2_sqrt)
    scratch = xp.empty_like(param)
    d = _effective_grad(xp, param, grad, weight_decay, maximize, scratch)
    if param_scale != 1:
        param *= param_scale
    xp.subtract(d, exp_avg, out=scratch)
    scratch *= new1
    exp_avg += scratch
    exp_avg_sq *= beta2
    xp.multiply(d, new2, out=scratch)
    scratch *= d
    exp_avg_sq += scratch
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        v = xp.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    denom = xp.sqrt(v, out=scratch)
    denom /= bias_correction2_sqrt
    denom += eps
    xp.divide(exp_avg, denom, out=d)
    d *= -step_size
    param += d


def rmsprop_step(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps, weight_decay, momentum,
                 maximize):
    """RMSprop (torch.optim.RMSprop). grad_avg is None unless centered, momentum_buffer None unless momentum > 0::

        square_avg = square_avg * alpha + (d * (1 - alpha)) * d
        grad_avg   = grad_avg + (d - grad_avg) * (1 - alpha)                  (centered; torch's lerp)
        avg        = sqrt(square_avg - grad_avg * grad_avg) + eps  if centered  else  sqrt(square_avg) + eps
        buf        = buf * momentum + d / avg;   param = param + buf * (-lr)  if momentum > 0
        param      = param + (d / avg) * (-lr)                                otherwise
    """
    check_update(param, grad=grad, square_avg=square_avg, grad_avg=grad_avg, momentum_buffer=momentum_buffer)
    xp = array_module(param)
    lr, alpha, new, eps, weight_decay, momentum = rmsprop_scalars(param, lr, alpha, eps, weight_decay, momentum)
    scratch = xp.empty_like(param)
    d = _effective_grad(xp, param, grad, weight_decay, maximize, scratch)
    square_avg *= alpha
    xp.multiply(d, new, out=scratch)
    scratch *= d
    square_avg += scratch
    if grad_avg is not None:
        xp.subtract(d, grad_avg, out=scratch)
        scratch *= new
        grad_avg += scratch
        xp.multiply(grad_avg, grad_avg, out=scratch)
        xp.subtract(square_avg, scratch, out=scratch)
        avg = xp.sqrt(scratch, out=scratch)
    else:
        avg = xp.sqrt(square_avg, out=scratch)
    avg += eps
    d /= avg
    if momentum_buffer is not None:
        momentum_buffer *= momentum
        momentum_buffer += d
        xp.multiply(momentum_buffer, -lr, out=d)
    else:
        d *= -lr
    param += d


def adagrad_step(param, grad, state_sum, clr, eps, weight_decay, maximize):
    """Adagrad (torch.optim.Adagrad). With step t, clr = lr / (1 + (t - 1) * lr_decay)::

        state_sum = state_sum + d * d
        param     = param + (d / (sqrt(state_sum) + eps)) * (-clr)
    """
    check_update(param, grad=grad, state_sum=state_sum)
    xp = array_module(param)
    clr, eps, weight_decay = adagrad_scalars(param, clr, eps, weight_decay)
    scratch = xp.empty_like(param)
    d = _effective_grad(xp, param, grad, weight_decay, maximize, scratch)
    xp.multiply(d, d, out=scratch)
    state_sum += scratch
    std = xp.sqrt(state_sum, out=scratch)
    std += eps
    d /= std
    d *= -clr
    param += d
