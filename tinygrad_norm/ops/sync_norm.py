"""SyncBatchNorm's op: batch normalization of a batch spread over processes, each holding a share x (N_p, C, S).

Only per-channel vectors cross processes; the passes over x are the backend's kernels:

    forward   this share's count, mean and M2 = sum (x - mean)^2 per channel, one float64 vector (2C + 1)
              --all_gather-->  combined in rank order by Chan et al.'s formula into the batch's mean and variance
              (channel_norm_combine: no cancellation, unlike sums of x and x^2); y = x_hat * weight + bias with
              them (channel_norm_apply); the running statistics follow the batch's unbiased variance
    backward  this share's sums of dy and dy * x_hat per channel, one float64 (2, C)  --all_reduce-->  dx from the
              batch's sums (channel_norm_input_grad)

The combination needs each share's moments, not their sum, hence an all_gather where the backward's sums take an
all_reduce. The weight and bias gradients are this share's sums, as torch's SyncBatchNorm gives them: averaging them
across processes is DistributedDataParallel's job. Every process gets the same statistics and running statistics.
"""

from __future__ import annotations

from ..distributed.collectives import all_gather, all_reduce
from .norm import _AffineNorm, update_running_stats


class SyncBatchNorm(_AffineNorm):
    """Batch normalization over every process's share of the batch (training only; see the module docstring)."""

    def forward(
        self,
        x,
        *affine,
        has_weight: bool,
        has_bias: bool,
        view: tuple[int, int, int],
        eps: float,
        running_mean=None,
        running_var=None,
        momentum: float = 0.1,
    ):
        weight, bias = self.unpack(x, affine, has_weight, has_bias, view)
        N, C, S = view
        share = self.empty_stats(2 * C + 1)  # this share's count, mean (C,), M2 (C,)
        share[0] = N * S
        self.kernels.channel_norm_moments(self.x, share[1 : C + 1], share[C + 1 :])
        shares = all_gather(share)  # (processes, 2C + 1)
        self.count = float(shares[:, 0].sum())
        if self.count == 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size {self.count:g}")
        self.mean, self.rstd, var_unbiased = self.empty_stats(C), self.empty_stats(C), self.empty_stats(C)
        self.kernels.channel_norm_combine(
            shares[:, 0], shares[:, 1 : C + 1], shares[:, C + 1 :], eps, self.mean, self.rstd, var_unbiased
        )
        if self.count > 0:  # an empty batch leaves the running statistics as they are
            update_running_stats(self.kernels, running_mean, running_var, momentum, self.mean, var_unbiased)
        y = self.empty_like_x()
        self.kernels.channel_norm_apply(self.x, self.mean, self.rstd, weight, bias, y)
        return y.reshape(self.x_shape)

    def backward(self, grad):
        dy = self.grad_view(grad)
        sums = self.empty_stats(2, self.x.shape[1])  # sum dy, sum dy * x_hat
        self.kernels.channel_norm_grad_sums(dy, self.x, self.mean, self.rstd, sums[0], sums[1])
        grads = self.affine_grads()
        for name, share_sum in (("weight", sums[1]), ("bias", sums[0])):
            if name in grads:
                grads[name][...] = share_sum
        dx = None
        if self.needs_input_grad[0]:
            all_reduce(sums)
            dx = self.empty_like_x()
            self.kernels.channel_norm_input_grad(
                dy, self.x, self.mean, self.rstd, self.weight, sums[0], sums[1], self.count, dx
            )
        return self.pack(dx, grads)
