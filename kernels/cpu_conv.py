"""Numba CPU kernels for convolution: the convolution functions of ``reference_conv.py``, same signatures and math
(pooling is in ``cpu_pool.py``).

The derivations are in reference_conv.py's docstring; the names here (window, im2col, col2im, X_g, dY_g) are the
same. Each public function checks its arguments (``_checks_conv.py``, shared with the reference), makes the inputs
C-contiguous and calls the kernels.

Convolution is im2col, one BLAS matrix product per group, and col2im. The products are ``cpu_matmul.matmul``, on
Numba's threads; the Numba kernels here do what numpy does in many strided passes and copies: gathering the
columns, scattering them back, and between (N, O, OH*OW) images and the products' (O, N*OH*OW) layout moving the
data once, with the bias added or the bias gradient summed on the way. The columns are laid out (C, KH, KW, N, OH,
OW), which is X_g (K, M) of every group one after the other, so each product is a plain 2-D GEMM with M = N*OH*OW
columns. Loops over the kernel offsets straight from x (no columns) were measured 10-30x slower than im2col and
the GEMM at 1 -> 16 and 16 -> 32 channels (28x28 and 14x14, batch 64) and at 64 -> 64 channels (32x32, batch 32).

The batch goes through in chunks of whole images whose columns hold at most COLUMN_ELEMENTS values (8 MiB of
float32): a 64-channel convolution does not allocate columns nine times the size of x at once (without chunks the
64 -> 64 case above took 40% longer), and one column buffer serves every chunk. The chunks depend on the shape
alone.

Where the whole batch is one chunk, the forward can keep its columns (at most KEPT_COLUMNS entries;
``conv2d_columns_shape``, the ``columns`` argument), and the backward then reads them for the weight gradient
instead of building them again from x: two of the four im2col passes of a training step's small CNN, for memory
that the graph holds until the backward.

Parallel loops write disjoint data: im2col one (c, a, b) row of columns for one image per task, or for several where
the images are small (at 4x4 a task per image took 1.6x as long, in the index arithmetic); col2im one (n, c) plane
per task (the windows that overlap in a plane are added serially); the layout changes one (n, o) run or one channel
per task. Where an output plane has fewer than TASK_ENTRIES positions (16x16) a task takes one channel of a block of
images and copies each plane into a padded scratch plane first, so that its reads test no bounds: 1.5-1.8x faster at
4x4 and 14x14 than testing every read, and 1.3-1.7x faster again than a separate padding pass over the batch; at
32x32 padding cost more than it saved.
"""

import numpy as np
from numba import prange

from . import _checks_conv
from ._checks_conv import output_hw
from ._jit import njit
from .cpu_matmul import matmul

__all__ = ["conv2d_backward", "conv2d_backward_input", "conv2d_columns_shape", "conv2d_forward", "output_hw"]

COLUMN_ELEMENTS = _checks_conv.KEPT_COLUMNS  # most column entries per chunk of images: kept columns are one chunk
TASK_ENTRIES = 256  # least column entries per im2col task: small images go several to a task

# ---------------------------------------------------------------------------------------------------------------
# convolution: im2col, col2im and the layout changes around the products


@njit(reassociate=False)
def _image_blocks(N, positions):
    """(images per im2col task, blocks of images): as many as fill TASK_ENTRIES column entries, at least one."""
    per_task = max(1, TASK_ENTRIES // max(1, positions))
    return per_task, (N + per_task - 1) // per_task


@njit(parallel=True, reassociate=False)
def _im2col(x, kernel, stride, dilation, before, cols):
    """x (n, C, H, W) -> cols (C, KH, KW, n, OH, OW): cols[c, a, b, m, i, j] = x_pad[m, c, i sh + a dh, j sw + b dw],
    each read testing whether it falls in the padding."""
    N, C, H, W = x.shape
    KH, KW = kernel
    (sh, sw), (dh, dw), (top, left) = stride, dilation, before
    OH, OW = cols.shape[4:]
    per_task, blocks = _image_blocks(N, OH * OW)
    for task in prange(C * KH * KW * blocks):
        block, b, a = task % blocks, (task // blocks) % KW, (task // (blocks * KW)) % KH
        c = task // (blocks * KW * KH)
        for m in range(block * per_task, min(N, (block + 1) * per_task)):
            target, plane = cols[c, a, b, m], x[m, c]
            for i in range(OH):
                h = i * sh + a * dh - top
                row_inside = 0 <= h < H
                for j in range(OW):
                    w = j * sw + b * dw - left
                    target[i, j] = plane[h, w] if row_inside and 0 <= w < W else 0.0


@njit(parallel=True, reassociate=False)
def _im2col_small(x, kernel, stride, dilation, before, padded_hw, cols):
    """_im2col for small planes: a task takes one channel of as many images as fill TASK_ENTRIES column entries,
    copies each image's plane into a zero-padded scratch plane, where every window fits, and reads its windows from
    there without a bounds test (the indices are unsigned, so Numba adds no wraparound test either)."""
    N, C, H, W = x.shape
    KH, KW = kernel
    (sh, sw), (dh, dw), (top, left) = stride, dilation, before
    OH, OW = cols.shape[4:]
    per_task, blocks = _image_blocks(N, OH * OW)
    for task in prange(C * blocks):
        c, block = task // blocks, task % blocks
        padded = np.zeros(padded_hw, x.dtype)  # its border stays zero: each image overwrites the inside
        for m in range(block * per_task, min(N, (block + 1) * per_task)):
            plane = x[m, c]
            for h in range(H):
                for w in range(W):
                    padded[np.uintp(h + top), np.uintp(w + left)] = plane[h, w]
            for a in range(KH):
                for b in range(KW):
                    target = cols[c, a, b, m]
                    for i in range(OH):
                        row, target_row = padded[np.uintp(i * sh + a * dh)], target[i]
                        for j in range(OW):
                            target_row[j] = row[np.uintp(j * sw + b * dw)]


@njit(parallel=True, reassociate=False)
def _col2im(dcols, stride, dilation, before, dx):
    """dcols (C, KH, KW, n, OH, OW) -> dx (n, C, H, W), the adjoint of _im2col: each column entry added back at the
    position it was read from. A plane's entries are added into a padded plane, where every window fits and no
    position needs a bounds test (the indices are unsigned, so Numba adds no wraparound test either), and its
    inside is then copied to dx: 1.7-2.2x faster than testing each position on 4x4 to 14x14 planes."""
    C, KH, KW, N, OH, OW = dcols.shape
    H, W = dx.shape[2:]
    (sh, sw), (dh, dw), (top, left) = stride, dilation, before
    padded_h = max((OH - 1) * sh + (KH - 1) * dh + 1, top + H)
    padded_w = max((OW - 1) * sw + (KW - 1) * dw + 1, left + W)
    for task in prange(N * C):
        m, c = task // C, task % C
        padded = np.zeros((padded_h, padded_w), dx.dtype)
        for a in range(KH):
            for b in range(KW):
                source = dcols[c, a, b, m]
                for i in range(OH):
                    row, source_row = padded[np.uintp(i * sh + a * dh)], source[i]
                    for j in range(OW):
                        row[np.uintp(j * sw + b * dw)] += source_row[j]
        plane = dx[m, c]
        for h in range(H):
            for w in range(W):
                plane[h, w] = padded[h + top, w + left]


@njit(parallel=True, reassociate=False)
def _to_images(products, bias, has_bias, y):
    """products (O, n, P) -> y (n, O, P), plus bias[o] when present."""
    O, N, P = products.shape
    for task in prange(N * O):
        m, o = task // O, task % O
        shift = bias[o] if has_bias else 0.0
        source, target = products[o, m], y[m, o]
        for p in range(P):
            target[p] = source[p] + shift


@njit(parallel=True)
def _to_channels(dy, dy_channels, dbias):
    """dy (n, O, P) -> dy_channels (O, n, P); dbias[o] (float64) += the sum of channel o. One task per channel."""
    N, O, P = dy.shape
    for o in prange(O):
        total = 0.0
        for m in range(N):
            source, target = dy[m, o], dy_channels[o, m]
            for p in range(P):
                target[p] = source[p]
                total += source[p]
        dbias[o] += total


def _chunks(N, per_image):
    """(start, count) of the chunks of images: as many images as COLUMN_ELEMENTS column entries hold, at least one."""
    size = max(1, COLUMN_ELEMENTS // max(1, per_image))
    return [(start, min(size, N - start)) for start in range(0, N, size)]


def _view(buffer, shape):
    """A C-contiguous array of ``shape`` at the front of the flat scratch array ``buffer`` (a chunk may be short)."""
    return buffer[: int(np.prod(shape))].reshape(shape)


class _Conv:
    """The sizes of one convolution call, and its chunks of images."""

    def __init__(self, x_shape, weight, groups, window):
        self.N, self.C, _, _ = x_shape
        self.O, self.Cg, self.KH, self.KW = weight.shape
        self.G, self.Og, self.K = groups, self.O // groups, self.Cg * self.KH * self.KW
        self.P = window.out[0] * window.out[1]
        self.window = window
        per_image = self.C * self.KH * self.KW * self.P  # column entries
        self.chunks = _chunks(self.N, per_image)
        self.chunk = max((count for _, count in self.chunks), default=0)
        self.chunk_columns = per_image * self.chunk

    def columns(self, x, buffer, start, count):
        """X_g of every group for images start..start+count: (G, K, count * P), built in ``buffer``."""
        w = self.window
        cols = _view(buffer, (self.C, self.KH, self.KW, count, *w.out))
        x = x[start : start + count]
        if self.P < TASK_ENTRIES:  # small images: padding them first costs less than a bounds test per read
            (top, bottom), (left, right) = w.padding
            padded_hw = (top + x.shape[2] + bottom, left + x.shape[3] + right)
            _im2col_small(x, w.kernel, w.stride, w.dilation, w.before, padded_hw, cols)
        else:
            _im2col(x, w.kernel, w.stride, w.dilation, w.before, cols)
        return cols.reshape(self.G, self.K, count * self.P)


def conv2d_columns_shape(x_shape, weight_shape, out_hw, groups: int):
    """(G, K, N*OH*OW): the columns X_g of every group, which ``conv2d_forward`` keeps for ``conv2d_backward`` in an
    array of this shape and x's dtype when given one; None where they would have more than KEPT_COLUMNS entries or
    the batch goes through in more than one chunk (the backward then builds them again, chunk by chunk). Shapes
    only, unchecked, as ``output_hw`` (whose (OH, OW) ``out_hw`` is); the forward checks the arguments."""
    N, C = x_shape[:2]
    _, Cg, KH, KW = weight_shape
    P = out_hw[0] * out_hw[1]
    if len(_chunks(N, C * KH * KW * P)) > 1:
        return None
    return _checks_conv.kept_columns((groups, Cg * KH * KW, N * P))


def conv2d_forward(x, weight, bias, stride, padding, dilation, groups: int, y, columns=None) -> None:
    """x (N, C, H, W), weight (O, C/groups, KH, KW), bias (O,) or None -> y (N, O, OH, OW); and, when ``columns``
    is given, the columns X_g in it (``conv2d_columns_shape``), for ``conv2d_backward``."""
    window = _checks_conv.conv2d_forward(x, weight, bias, stride, padding, dilation, groups, y)
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight)
    conv = _Conv(x.shape, weight, groups, window)
    _checks_conv.columns(columns, conv2d_columns_shape(x.shape, weight.shape, window.out, groups), x.dtype)
    has_bias = bias is not None
    bias = np.ascontiguousarray(bias) if has_bias else np.zeros(1, x.dtype)
    w = weight.reshape(conv.G, conv.Og, conv.K)
    cols_buffer = np.empty(conv.chunk_columns, x.dtype) if columns is None else columns.reshape(-1)
    products_buffer = np.empty(conv.O * conv.chunk * conv.P, x.dtype)
    images = y.reshape(conv.N, conv.O, conv.P)
    for start, count in conv.chunks:
        cols = conv.columns(x, cols_buffer, start, count)
        products = _view(products_buffer, (conv.G, conv.Og, count * conv.P))
        for g in range(conv.G):
            matmul(w[g], cols[g], products[g])  # Y_g = W_g X_g
        _to_images(products.reshape(conv.O, count, conv.P), bias, has_bias, images[start : start + count])


def conv2d_backward(dy, x, weight, stride, padding, dilation, groups: int, dx, dweight, dbias, columns=None) -> None:
    """dy (N, O, OH, OW) -> dx like x, dweight like weight, dbias (O,); each may be None (not computed). ``columns``:
    what ``conv2d_forward`` kept for this x, read for dweight instead of building the columns from x again."""
    window = _checks_conv.conv2d_backward(dy, x, weight, stride, padding, dilation, groups, dx, dweight, dbias)
    _backward(dy, np.ascontiguousarray(x), weight, groups, window, dx, dweight, dbias, columns)


def conv2d_backward_input(dy, weight, stride, padding, dilation, groups: int, dx) -> None:
    """dy (N, O, OH, OW), weight (O, C/groups, KH, KW) -> dx (N, C, H, W), the size of the convolution's input."""
    window = _checks_conv.conv2d_backward_input(dy, weight, stride, padding, dilation, groups, dx)
    _backward(dy, dx, weight, groups, window, dx, None, None, None)


def _backward(dy, x, weight, groups, window, dx, dweight, dbias, kept):
    """The gradients asked for; ``x`` is read for dweight only (otherwise it only gives its shape), and not at all
    when its columns were ``kept``."""
    dy, weight = np.ascontiguousarray(dy), np.ascontiguousarray(weight)
    conv = _Conv(x.shape, weight, groups, window)
    _checks_conv.columns(kept, conv2d_columns_shape(x.shape, weight.shape, window.out, groups), dy.dtype)
    w = weight.reshape(conv.G, conv.Og, conv.K)
    dw = None if dweight is None else dweight.reshape(conv.G, conv.Og, conv.K)
    if dw is not None:
        dw[...] = 0.0
    dbias64 = np.zeros(conv.O)
    dy_buffer = np.empty(conv.O * conv.chunk * conv.P, dy.dtype)
    # a chunk's columns of x (unless kept), then its dX
    cols_buffer = np.empty(conv.chunk_columns, dy.dtype) if kept is None or dx is not None else None
    images = dy.reshape(conv.N, conv.O, conv.P)
    for start, count in conv.chunks:
        dy_channels = _view(dy_buffer, (conv.O, count, conv.P))
        _to_channels(images[start : start + count], dy_channels, dbias64)
        dy_g = dy_channels.reshape(conv.G, conv.Og, count * conv.P)
        if dw is not None:
            cols = kept if kept is not None else conv.columns(x, cols_buffer, start, count)
            for g in range(conv.G):
                matmul(dy_g[g], cols[g].T, dw[g], accumulate=True)  # dY_g X_g^T
        if dx is not None:
            dcols = _view(cols_buffer, (conv.G, conv.K, count * conv.P))
            for g in range(conv.G):
                matmul(w[g].T, dy_g[g], dcols[g])  # W_g^T dY_g
            _col2im(dcols.reshape(conv.C, conv.KH, conv.KW, count, *window.out), window.stride, window.dilation,
                    window.before, dx[start : start + count])
    if dbias is not None:
        dbias[...] = dbias64
