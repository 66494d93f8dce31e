"""Cumulative ops along one axis: sums, products and log-sum-exps of every prefix. (Running maxima and minima are
`TakeAlongAxis` of the indices they pick, see tensor_reduce.py.)"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function


def reverse_cumsum(a, axis: int, xp):
    """out_j = Σ_{i>=j} a_i: the cumulative sum taken from the end."""
    return xp.flip(xp.cumsum(xp.flip(a, axis), axis), axis)


class Cumsum(Function):
    """y_i = Σ_{j<=i} x_j; dx_j = Σ_{i>=j} dy_i."""

    saved_inputs, linear = (), True

    def forward(self, x, axis: int):
        self.axis = axis
        return self.xp.cumsum(x, axis)

    def backward(self, grad):
        return reverse_cumsum(grad, self.axis, self.xp)


class Cumprod(Function):
    """y_i = Π_{j<=i} x_j. dx_k = Σ_{i>=k} dy_i Π_{j<=i, j≠k} x_j.

    Without zeros that is Σ_{i>=k} dy_i y_i / x_k. With zeros, written without dividing by zero: before the first
    zero z of the row (k < z) the same; at z it is Σ_{i>=z} dy_i y'_i with y' the cumulative product of x with x_z
    replaced by 1; after z every product holds x_z = 0, so it is 0. That last 0 is right as a value but not as a
    function of x_z, so a recorded backward (create_graph) with zeros takes `left_out_products` instead (as torch)."""

    saved_inputs, saves_output = (0,), True

    def forward(self, x, axis: int):
        self.x, self.axis = x, axis
        self.y = self.xp.cumprod(x, axis)
        return self.y

    def backward(self, grad):
        xp, x, axis = self.xp, self.x, self.axis
        zeros_so_far = xp.cumsum(x == 0, axis)
        if not zeros_so_far.any():
            return reverse_cumsum(grad * self.y, axis, xp) / x
        if getattr(xp, "RECORDS_GRAPH", False):
            return self.left_out_products(grad)
        before = zeros_so_far == 0
        dx = xp.where(before, reverse_cumsum(grad * self.y, axis, xp) / xp.where(before, x, 1), 0)
        first_zero = xp.logical_and(x == 0, zeros_so_far == 1)
        y_without = xp.cumprod(xp.where(first_zero, 1, x), axis)
        return xp.where(first_zero, reverse_cumsum(grad * y_without, axis, xp), dx)

    def left_out_products(self, grad):
        """dx_k = Σ_{i>=k} dy_i Π_{j<=i, j≠k} x_j for every k at once, in O(n²) per row: row k of an (n, n) table
        is the cumulative product of x with x_k replaced by 1. Exact at zeros, to any order."""
        xp = self.xp
        x, grad = xp.moveaxis(self.x, self.axis, -1), xp.moveaxis(grad, self.axis, -1)  # (..., n)
        position = xp.cumsum(xp.ones_like(x), -1)
        k, i = position[..., :, None], position[..., None, :]
        table = xp.cumprod(xp.where(k == i, 1, x[..., None, :]), -1)  # (..., k, i)
        dx = (xp.where(i >= k, table, 0) * grad[..., None, :]).sum(axis=-1)
        return xp.moveaxis(dx, -1, self.axis)


def logcumsumexp(x, axis: int, xp):
    """log Σ_{j<=i} exp(x_j), accumulated pairwise by logaddexp so nothing overflows; on Tensors, the op."""
    if hasattr(xp, "logcumsumexp"):  # the Tensor namespace
        return xp.logcumsumexp(x, axis)
    return xp.logaddexp.accumulate(x, axis=axis)


class LogCumSumExp(Function):
    """y_i = log Σ_{j<=i} exp(x_j). dx_j = Σ_{i>=j} dy_i exp(x_j - y_i), summed in log space with dy split into
    its positive and negative parts: dx_j = exp(x_j + L⁺_j) - exp(x_j + L⁻_j), where
    L^±_j = log Σ_{i>=j} dy^±_i exp(-y_i) is a log-cumulative-sum-exp taken from the end."""

    saved_inputs, saves_output = (0,), True

    def forward(self, x, axis: int):
        self.x, self.axis = x, axis
        self.y = logcumsumexp(x, axis, self.xp)
        return self.y

    @np.errstate(divide="ignore", invalid="ignore", over="ignore")
    def backward(self, grad):
        xp, axis = self.xp, self.axis

        def part(magnitude, present):  # exp(x_j + L_j) for the dy_i = magnitude where present
            # exactly -inf where absent, also where y = -inf (-inf - y would be nan there)
            log_terms = xp.where(present, xp.log(xp.where(present, magnitude, 1)) - self.y, -math.inf)
            return xp.exp(self.x + xp.flip(logcumsumexp(xp.flip(log_terms, axis), axis, xp), axis))

        return part(grad, grad > 0) - part(-grad, grad < 0)
