"""2-D convolution (cross-correlation, as torch) by im2col and one batched matmul per group."""

from __future__ import annotations

from ..autograd import Function
from .windows import Padding, Pair, crop2d, pad2d, scatter_windows, sliding_windows


class Conv2d(Function):
    """y[n, g·Og + o, i, j] = Σ_{c, a, b} x_pad[n, g·Cg + c, i·sh + a·dh, j·sw + b·dw] · w[g·Og + o, c, a, b]

    for x (N, C, H, W) zero-padded to x_pad, w (O, Cg, KH, KW), G groups with C = G·Cg, O = G·Og.
    Per group it is a matmul over the im2col columns X_g (N·OH·OW, Cg·KH·KW): Y_g = X_g W_gᵀ, so
    dW_g = dY_gᵀ X_g and dX_g = dY_g W_g, which col2im scatters back onto the windows' positions.
    The bias is added by the caller.
    """

    def forward(self, x, weight, stride: Pair, padding: Padding, dilation: Pair, groups: int):
        n, c = x.shape[:2]
        out_channels, group_channels, kh, kw = weight.shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        x_pad = pad2d(x, padding, 0.0, self.xp)
        windows = sliding_windows(x_pad, (kh, kw), stride, dilation, self.xp)  # (N, C, OH, OW, KH, KW)
        oh, ow = windows.shape[2:4]
        # (N, G, Cg, OH, OW, KH, KW) -> (G, N·OH·OW, Cg·KH·KW): the one copy im2col makes
        self.cols = windows.reshape(n, groups, group_channels, oh, ow, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
        self.cols = self.cols.reshape(groups, n * oh * ow, group_channels * kh * kw)
        self.weight = weight.reshape(groups, out_channels // groups, group_channels * kh * kw)  # (G, Og, K)
        self.x_pad_shape, self.x_dtype, self.weight_shape = x_pad.shape, x.dtype, weight.shape
        y = self.cols @ self.weight.transpose(0, 2, 1)  # (G, N·OH·OW, Og)
        return y.reshape(groups, n, oh, ow, -1).transpose(1, 0, 4, 2, 3).reshape(n, out_channels, oh, ow)

    def backward(self, grad):
        n, out_channels, oh, ow = grad.shape
        groups, (_, group_channels, kh, kw) = self.groups, self.weight_shape
        g = grad.reshape(n, groups, -1, oh, ow).transpose(1, 0, 3, 4, 2).reshape(groups, n * oh * ow, -1)  # (G, P, Og)
        dx = dweight = None
        if self.needs_input_grad[0]:
            dcols = (g @ self.weight).reshape(groups, n, oh, ow, group_channels, kh, kw)

            def window_grad(a: int, b: int):  # (G, N, OH, OW, Cg) -> (N, C, OH, OW)
                return dcols[..., a, b].transpose(1, 0, 4, 2, 3).reshape(n, -1, oh, ow)

            dx_pad = scatter_windows(
                window_grad, self.x_pad_shape, self.x_dtype, (kh, kw), self.stride, self.dilation, self.xp
            )
            dx = crop2d(dx_pad, self.padding)
        if self.needs_input_grad[1]:
            dweight = (g.transpose(0, 2, 1) @ self.cols).reshape(self.weight_shape)  # (G, Og, K) -> (O, Cg, KH, KW)
        return dx, dweight
