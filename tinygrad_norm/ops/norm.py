"""Normalization ops: each a fused kernel forward above its kernel backward.

Every norm maps x to y = x_hat * weight[c] + bias[c], x_hat = (x - mean) * rstd, with the statistics taken
over a set of elements; the kernels (see kernels/reference.py for the math and the VJP) compute them and
the op saves `mean` and `rstd` for the backward. Two kernel families cover every layer, each reached by
viewing x as three axes:

    RowNorm    x viewed (B, C, S), statistics per row (b, group):  LayerNorm, RMSNorm, GroupNorm, InstanceNorm
    BatchNorm  x viewed (N, C, S), statistics per channel c:        BatchNorm (and InstanceNorm's running stats)

Weight and bias are optional: only the present ones are op inputs, flags say which they are.

Each op's `composed` is the same norm written with Tensor ops: its gradient is the op's graph backward
(create_graph), and the tests check the kernels against it.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..autograd import Function


class _AffineNorm(Function):
    """A norm with inputs (x, [weight], [bias]): unpacks the optional affine arrays and packs their grads."""

    def unpack(self, x, affine: tuple, has_weight: bool, has_bias: bool, view: tuple[int, int, int]):
        """Saves x viewed as `view` and the kernel module; returns weight, bias flattened to (C,) or None."""
        self.kernels = backend.kernels(x)
        self.x_shape, self.x = x.shape, x.reshape(view)
        self.affine_names = [name for name, present in (("weight", has_weight), ("bias", has_bias)) if present]
        self.affine_shapes = [param.shape for param in affine]
        for name, param in zip(self.affine_names, affine):
            if param.size != view[1] or param.dtype != x.dtype:
                raise ValueError(
                    f"{name} must hold {view[1]} values of dtype {x.dtype} (one per channel of the input), "
                    f"got shape {param.shape} and dtype {param.dtype}"
                )
        flat = {name: param.reshape(-1) for name, param in zip(self.affine_names, affine)}
        self.weight = flat.get("weight")
        return self.weight, flat.get("bias")

    def empty_like_x(self):
        return self.xp.empty(self.x.shape, self.x.dtype)

    def grad_view(self, grad):
        """The output's gradient viewed like x, in x's dtype (a float64 consumer can send float64 back)."""
        return grad.reshape(self.x.shape).astype(self.x.dtype, copy=False)

    def empty_stats(self, *shape: int):
        return self.xp.empty(shape, np.float64)

    def affine_grads(self) -> dict:
        """Output arrays (C,) by name for the affine inputs that want a gradient."""
        wanted = zip(self.affine_names, self.needs_input_grad[1:])
        return {name: self.xp.empty(self.x.shape[1], self.x.dtype) for name, needed in wanted if needed}

    @staticmethod
    def composed_affine(x_hat, affine: tuple, has_weight: bool, has_bias: bool):
        """x_hat (B, C, S), a Tensor, times weight[c] plus bias[c]."""
        params = iter(affine)
        y = x_hat * next(params).reshape(1, -1, 1) if has_weight else x_hat
        return y + next(params).reshape(1, -1, 1) if has_bias else y

    def pack(self, dx, grads: dict) -> tuple:
        """(dx in x's shape or None, then per affine input its gradient in its own shape, or None)."""
        affine = [
            grads[name].reshape(shape) if name in grads else None
            for name, shape in zip(self.affine_names, self.affine_shapes)
        ]
        return (None if dx is None else dx.reshape(self.x_shape), *affine)


class RowNorm(_AffineNorm):
    """Row norm (LayerNorm arXiv:1607.06450, RMSNorm 1910.07467, GroupNorm 1803.08494, InstanceNorm 1607.08022).

    x viewed (B, C, S) is split into B*groups rows, row (b, g) = x[b, g*C/G:(g+1)*C/G, :]. Per row:
    mean = E[x] (0 when center is False), rstd = 1/sqrt(E[(x - mean)^2] + eps); y = x_hat * weight[c] + bias[c].
    Backward: dx = rstd * (dx_hat - mean_row(dx_hat) - x_hat * mean_row(dx_hat * x_hat)), dx_hat = dy * weight[c]
    (the middle term only when centered); dweight = sum dy * x_hat, dbias = sum dy over b and s.
    """

    def forward(
        self,
        x,
        *affine,
        has_weight: bool,
        has_bias: bool,
        view: tuple[int, int, int],
        groups: int,
        eps: float,
        center: bool,
    ):
        weight, bias = self.unpack(x, affine, has_weight, has_bias, view)
        self.groups, self.center = groups, center
        y = self.empty_like_x()  # (B, C, S)
        self.mean, self.rstd = self.empty_stats(view[0], groups), self.empty_stats(view[0], groups)  # (B, groups)
        self.kernels.row_norm_forward(self.x, weight, bias, groups, eps, center, y, self.mean, self.rstd)
        return y.reshape(self.x_shape)

    def backward(self, grad):
        dx, grads = self.empty_like_x(), self.affine_grads()
        self.kernels.row_norm_backward(
            self.grad_view(grad),
            self.x,
            self.mean,
            self.rstd,
            self.weight,
            self.groups,
            self.center,
            dx,
            grads.get("weight"),
            grads.get("bias"),
        )
        return self.pack(dx, grads)

    def composed(self, x, *affine, has_weight, has_bias, view, groups, eps, center):
        rows = x.reshape(view[0], groups, -1)
        if center:
            rows = rows - rows.mean(-1, keepdims=True)
        x_hat = rows * ((rows * rows).mean(-1, keepdims=True) + eps).rsqrt()
        return self.composed_affine(x_hat.reshape(view), affine, has_weight, has_bias).reshape(x.shape)


def update_running_stats(kernels, running_mean, running_var, momentum: float, mean, var_unbiased) -> None:
    """running = momentum * batch_stat + (1 - momentum) * running, in place, when running buffers are given."""
    if running_mean is not None:
        kernels.update_running_stats(running_mean, running_var, momentum, mean, var_unbiased)


class BatchNorm(_AffineNorm):
    """Batch normalization, statistics per channel over N and S (arXiv:1502.03167).

    batch_stats=True (torch's training=True): mean and biased variance of this batch; when running buffers are
    given they are updated in place, running = (1 - momentum) * running + momentum * batch_stat, with the
    unbiased variance var * n / (n - 1). The backward is the full VJP through the batch statistics.
    batch_stats=False: the given running statistics are constants, rstd = 1/sqrt(running_var + eps), and the
    backward is dx = dy * weight[c] * rstd[c].
    """

    def forward(
        self,
        x,
        *affine,
        has_weight: bool,
        has_bias: bool,
        view: tuple[int, int, int],
        eps: float,
        batch_stats: bool,
        running_mean=None,
        running_var=None,
        momentum: float = 0.1,
    ):
        weight, bias = self.unpack(x, affine, has_weight, has_bias, view)
        self.batch_stats = batch_stats
        y = self.empty_like_x()  # (N, C, S)
        channels = view[1]
        if batch_stats:
            self.mean, self.rstd, var_unbiased = (self.empty_stats(channels) for _ in range(3))
            self.kernels.channel_norm_forward(self.x, weight, bias, eps, y, self.mean, self.rstd, var_unbiased)
            update_running_stats(self.kernels, running_mean, running_var, momentum, self.mean, var_unbiased)
        else:
            self.mean = running_mean.astype(np.float64)
            self.rstd = 1 / self.xp.sqrt(running_var.astype(np.float64) + eps)
            self.kernels.channel_norm_apply(self.x, self.mean, self.rstd, weight, bias, y)
        return y.reshape(self.x_shape)

    def backward(self, grad):
        dx, grads = self.empty_like_x(), self.affine_grads()
        self.kernels.channel_norm_backward(
            self.grad_view(grad),
            self.x,
            self.mean,
            self.rstd,
            self.weight,
            self.batch_stats,
            dx,
            grads.get("weight"),
            grads.get("bias"),
        )
        return self.pack(dx, grads)

    def composed(self, x, *affine, has_weight, has_bias, view, eps, batch_stats, **running):
        """With batch statistics, or with the running statistics this node read (constants)."""
        x = x.reshape(view)
        if batch_stats:
            centered = x - x.mean((0, 2), keepdims=True)
            x_hat = centered * ((centered * centered).mean((0, 2), keepdims=True) + eps).rsqrt()
        else:
            mean, rstd = (stat.astype(x.dtype).reshape(1, -1, 1) for stat in (self.mean, self.rstd))
            x_hat = (x - mean) * rstd
        return self.composed_affine(x_hat, affine, has_weight, has_bias).reshape(self.x_shape)
