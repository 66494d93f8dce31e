"""Activation functions with a gradient rule of their own, torch's at the thresholds and kinks too: softplus,
log-sigmoid, the ELU family (ELU, CELU, SELU) and hardtanh. The others (mish, hardswish, softsign, GLU, PReLU, ...)
are compositions in nn/activation.py."""

from __future__ import annotations

from ..autograd import Function


def sigmoid(z, xp):
    """1 / (1 + exp(-z)) from exp(-|z|) <= 1, so neither branch overflows (and no gradient meets an inf). -|z| is
    written as a `where` so that at z = 0 its derivative is -1, that of the branch taken, not abs's 0."""
    e = xp.exp(xp.where(z >= 0, -z, z))
    return xp.where(z >= 0, 1 / (1 + e), e / (1 + e))


def log1p_exp_negative_abs(z, xp):
    """log(1 + exp(-|z|)), the part of softplus and log-sigmoid that needs care: it never overflows."""
    return xp.log1p(xp.exp(-xp.abs(z)))


class Softplus(Function):
    """y = log(1 + exp(βx)) / β, and y = x where βx > threshold (as torch). dx = σ(βx), 1 above the threshold."""

    saved_inputs = (0,)

    def forward(self, x, beta: float, threshold: float):
        xp = self.xp
        self.x, self.beta, self.threshold = x, beta, threshold
        z = x * beta
        soft = (log1p_exp_negative_abs(z, xp) + xp.where(z > 0, z, 0)) / beta
        return xp.where(z > threshold, x, soft)

    def backward(self, grad):
        xp, z, threshold = self.xp, self.x * self.beta, self.threshold
        below = xp.where(z >= threshold, threshold, z)  # at z = threshold no second derivative, as torch's
        return grad * xp.where(z > threshold, 1, sigmoid(below, xp))


class LogSigmoid(Function):
    """y = log σ(x) = min(x, 0) - log(1 + exp(-|x|)); dx = σ(-x)."""

    saved_inputs = (0,)

    def forward(self, x):
        self.x = x
        return self.xp.where(x < 0, x, 0) - log1p_exp_negative_abs(x, self.xp)

    def backward(self, grad):
        return grad * sigmoid(-self.x, self.xp)


class ELU(Function):
    """torch's elu with its three constants: y = scale·x for x > 0, else scale·alpha·(exp(input_scale·x) - 1);
    dx = scale, else scale·alpha·input_scale·exp(input_scale·x) (x = 0 takes the second branch, as torch).
    ELU is (alpha, 1, 1), CELU (alpha, 1, 1/alpha), SELU (its fixed alpha and scale, 1)."""

    saved_inputs = (0,)

    def forward(self, x, alpha: float, scale: float, input_scale: float):
        xp = self.xp
        self.x, self.constants = x, (alpha, scale, input_scale)
        negative = xp.where(x > 0, 0, x) * input_scale  # the exp branch never sees a large positive x
        return xp.where(x > 0, x * scale, xp.expm1(negative) * (scale * alpha))

    def backward(self, grad):
        xp, x, (alpha, scale, input_scale) = self.xp, self.x, self.constants
        negative = xp.where(x < 0, x, 0) * input_scale  # at x = 0 no second derivative, as torch's double backward
        return grad * xp.where(x > 0, scale, xp.exp(negative) * (scale * alpha * input_scale))


class Hardtanh(Function):
    """y = clamp(x, min_val, max_val); the gradient passes strictly inside (min_val < x < max_val, as torch,
    where clamp's passes at the bounds too)."""

    saved_inputs, linear = (), True

    def forward(self, x, min_val: float, max_val: float):
        self.inside = (x > min_val) & (x < max_val)
        return self.xp.clip(x, min_val, max_val)

    def backward(self, grad):
        return self.xp.where(self.inside, grad, 0)
