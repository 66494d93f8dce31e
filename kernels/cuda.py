"""numba.cuda kernels for the norms and dropout; ``reference.py`` holds the math and the VJP derivation.

Every reduction accumulates in float64 in a shared-memory tree (``tree_sum``), whatever the input dtype; the
variance takes two passes over global memory (mean first, then squared deviations). Loads are widened with
``float()``: compiled code would promote float32 anyway, but the simulator computes on numpy scalars, where
float32 + a Python float stays float32. Kernels are cached on disk when ``_numba_cache`` finds a usable folder
(the simulator ignores the cache). The scalar pieces shared with the CPU kernels come from ``_scalar.py``.

A *box* is the set of elements one block normalizes, ``x[b0:b0+box_batches, c0:c0+box_channels, :]`` of x (B, C, S):

    row norm      box (b, g) = x[b, g*C/G:(g+1)*C/G, :]   box_batches = 1, box_channels = C/G,  B*G boxes
    channel norm  box c      = x[:, c, :]                 box_batches = N, box_channels = 1,    C boxes

Kernels and launch layout (BLOCK_SIZE threads per block):

    norm_forward_kernel        one block per box: pass 1 mean, pass 2 var, pass 3 y = x_hat * weight + bias
    norm_backward_kernel       R * G blocks, grid-stride over the boxes (below): per box, pass 1 per-channel sums
                               of dy * x_hat and dy, pass 2 dx
    channel_sum_kernel         SUM_CHANNELS channels per block: dweight / dbias from the backward's scratch rows
    channel_norm_apply_kernel  grid-stride over the elements of x
    dropout_kernel             grid-stride over the elements of x (forward and backward alike)
    dropout_mask_kernel        grid-stride over the rows

BatchNorm over several processes (SyncBatchNorm; the math is in reference.py):

    channel_moments_kernel     one block per channel: its mean and M2 (norm_forward_kernel's passes 1 and 2)
    channel_combine_kernel     grid-stride over the channels: the shares' moments combined (Chan et al.)
    channel_grad_sums_kernel   one block per channel: sums of dy and dy * x_hat (norm_backward_kernel's pass 1)
    channel_input_grad_kernel  grid-stride over the elements of x: dx from the summed sums

The same kernels split one GPU's BatchNorm when it has few channels (below): the shares are then slices of the batch.

Weight gradients take two stages, without atomics, as in llm.c's layernorm_backward and Triton's layer-norm tutorial.
The backward runs R * G blocks, G being the boxes side by side along C (row norm: G; channel norm: C) and
R = min(B / box_batches, max(1, BACKWARD_BLOCKS // G)). Block k takes boxes k, k + R*G, k + 2*R*G, ..., which all
cover the channels of group k % G, and adds their per-channel sums into row k // G of a float64 scratch (R, C):
no other block writes those entries. ``channel_sum_kernel`` then sums the R rows. The row norm's two scratch arrays
take 2 * R * C * 8 bytes whatever B (LayerNorm: R = min(B, BACKWARD_BLOCKS)); the channel norm's R is 1, one block
per channel.

Few channels. One block per channel leaves most of a GPU idle when C is small (BatchNorm2d with 64 channels: 64
blocks on 132 SMs, each with one block's worth of loads in flight). So a channel norm cuts the batch into K slices
of whole batch entries, K = min(CHANNEL_BLOCKS / C rounded up, N, N * S // BLOCK_SIZE), and runs as SyncBatchNorm
does across processes, with the slices as the shares: forward, one block per (slice, channel) for its mean and M2
(channel_moments_kernel), Chan's combination per channel (channel_combine_kernel), y (channel_norm_apply_kernel);
backward, one block per (slice, channel) for its sums of dy and dy * x_hat (channel_grad_sums_kernel), their totals
(channel_sum_kernel; also dweight and dbias), dx (channel_input_grad_kernel). With K == 1 a channel norm runs
norm_forward_kernel and norm_backward_kernel, one block per channel.

The public functions check their arguments as the other backends do (``_checks.py``) and take numpy arrays or
anything exposing ``__cuda_array_interface__`` (CuPy, numba device arrays), strided or not. Given CuPy arrays, they
copy nothing to or from the host: the kernels read and write the arrays in place, run on CuPy's current stream, and
take their scratch (partial sums, moments) from CuPy's memory pool (see ``_Call``). An empty box gives nan
statistics (0 / 0) and zero weight gradients, as the reference does. The simulator (``NUMBA_ENABLE_CUDASIM=1``) runs
the kernels on numpy arrays directly.
"""

import functools
import math
import sys
from contextlib import contextmanager

import numpy as np
from numba import config, cuda

from . import _checks, _numba_cache, _scalar
from .reference import update_running_stats  # noqa: F401  (BatchNorm's running statistics, in CuPy)
from .reference_activation import relu_backward, relu_forward  # noqa: F401  (ReLU, in CuPy)
from .reference_conv import *  # noqa: F403  (convolution and pooling run as array code, in CuPy)
from .reference_loss import cross_entropy_backward, cross_entropy_forward  # noqa: F401  (cross-entropy)
from .reference_matmul import matmul  # noqa: F401  (the product, in CuPy)
from .reference_optim import adagrad_step, adam_step, rmsprop_step, sgd_step  # noqa: F401  (optimizer updates)

if not cuda.is_available():
    raise ImportError("numba.cuda finds no usable GPU (NUMBA_ENABLE_CUDASIM=1 runs the kernels on the simulator)")
_numba_cache.share_with_numba_cuda()

SIMULATOR = bool(config.ENABLE_CUDASIM)
# Threads per block, a power of two for the tree reductions. The simulator runs every thread as a Python thread,
# so it gets a small block (its test rows straddle 16 instead of 256 elements).
BLOCK_SIZE = 16 if SIMULATOR else 256
SUM_ROW_LANES = 8  # threads per channel in channel_sum_kernel
SUM_CHANNELS = BLOCK_SIZE // SUM_ROW_LANES  # channels per block in channel_sum_kernel: 32 (a warp) on a GPU
MAX_GRID = 4096  # most blocks of a grid-stride kernel
# Most blocks of norm_backward_kernel's grid when G <= this (the grid is R * G, see above). On a GPU, 512 blocks of
# 256 threads are about 4 per SM of a 132-SM H100 (half its resident threads), enough to keep memory busy in a kernel
# that streams x and dy, while the LayerNorm scratch stays 2 * 512 * C float64 (32 MiB at C = 4096) whatever B.
# The simulator's 4 makes modest test batches loop over several boxes per block.
BACKWARD_BLOCKS = 4 if SIMULATOR else 512
# Blocks a channel norm aims for when it cuts the batch into slices (see "Few channels" above). 1024 blocks of 256
# threads are about 8 per SM of a 132-SM H100, a full load; the simulator's 16 cuts the test cases' batches of a
# few channels into 2-4 slices.
CHANNEL_BLOCKS = 16 if SIMULATOR else 1024


# ---------------------------------------------------------------------------------------------------------------
# device helpers


@cuda.jit(device=True)
def tree_sum(value, lo, hi):
    """Sum of ``value`` over the threads whose indices differ only in bits lo .. hi-1 (lo <= hi powers of two).

    (1, BLOCK_SIZE) sums the block, (1, w) aligned segments of w consecutive threads, (w, BLOCK_SIZE) the threads
    w apart. Every thread gets its group's sum; every thread of the block must call it (it holds barriers).
    """
    shared = cuda.shared.array(BLOCK_SIZE, np.float64)
    tid = cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    stride = hi // 2
    while stride >= lo:  # after this step, the threads with tid % hi < stride hold their group's partial sums
        if tid % hi < stride:
            shared[tid] += shared[tid + stride]
        cuda.syncthreads()
        stride //= 2
    total = shared[tid - tid % hi + tid % lo]
    cuda.syncthreads()  # the next call overwrites shared
    return total


@cuda.jit(device=True)
def box_origin(box, box_batches, box_channels, boxes_per_batch):
    """(b0, c0) of box number ``box``; boxes tile x (B, C, S) batch-major, channels fastest.

    boxes_per_batch (row norm: G, channel norm: C) comes from the host: C // box_channels fails for C == 0.
    """
    return box // boxes_per_batch * box_batches, box % boxes_per_batch * box_channels


@cuda.jit(device=True)
def box_element(i, b0, c0, box_channels, positions):
    """(b, c, s) of element i of the box at (b0, c0), counting in memory order."""
    row = box_channels * positions  # elements of the box within one batch entry, contiguous in memory
    return b0 + i // row, c0 + i % row // positions, i % positions


# The scalar functions shared with the CPU kernels (_scalar.py), compiled from the same source as device functions.
channel_param, input_grad, is_kept, splitmix64, stats_from_m2, combine_moments, channel_grad_terms = (
    cuda.jit(device=True)(function.py_func)
    for function in (_scalar.channel_param, _scalar.input_grad, _scalar.is_kept, _scalar.splitmix64,
                     _scalar.stats_from_m2, _scalar.combine_moments, _scalar.channel_grad_terms)
)


@cuda.jit(device=True)
def affine(x_hat, weight, bias, c, has_weight, has_bias):
    """x_hat * weight[c] + bias[c] in float64."""
    return x_hat * channel_param(weight, has_weight, c, 1.0) + channel_param(bias, has_bias, c, 0.0)


@cuda.jit(device=True)
def keep_row(threshold, seed, offset, r):
    """True when row r survives: draw number offset + r, wrapping mod 2^64 (seed, offset and threshold are uint64)."""
    return is_kept(splitmix64(seed, offset + np.uint64(r)), threshold)


@cuda.jit(device=True)
def box_moments(x, b0, c0, box_batches, box_channels, center):
    """(mean, M2 = sum (x - mean)^2) of the box at (b0, c0), by two passes; mean = 0 without centering.

    Every thread of the block must call it (tree_sum's barriers); an empty box gives a nan mean and M2 = 0.
    """
    tid = cuda.threadIdx.x
    S = x.shape[2]
    n = box_batches * box_channels * S
    m = 0.0
    if center:  # the same branch for the whole block, so every thread reaches tree_sum's barriers
        partial = 0.0
        for i in range(tid, n, BLOCK_SIZE):
            b, c, s = box_element(i, b0, c0, box_channels, S)
            partial += float(x[b, c, s])
        m = tree_sum(partial, 1, BLOCK_SIZE) / n

    partial = 0.0
    for i in range(tid, n, BLOCK_SIZE):
        b, c, s = box_element(i, b0, c0, box_channels, S)
        d = float(x[b, c, s]) - m
        partial += d * d
    return m, tree_sum(partial, 1, BLOCK_SIZE)


@cuda.jit(device=True)
def segment_grad_sums(dy, x, m, r, b0, c, box_batches, segment, leads):
    """(sum dy * x_hat, sum dy) over channel c of the box whose first batch entry is b0, x_hat = (x - m) * r.

    The threads of each aligned segment of ``segment`` threads sum together; those of the segment for which
    ``leads`` is True read channel c, the others add 0. Every thread of the block must call it.
    """
    lane = cuda.threadIdx.x % segment
    S = x.shape[2]
    p = 0.0
    q = 0.0
    if leads:
        for j in range(lane, box_batches * S, segment):  # (b, s) pairs of channel c in the box
            b = b0 + j // S
            s = j % S
            g = float(dy[b, c, s])
            p += g * ((float(x[b, c, s]) - m) * r)
            q += g
    return tree_sum(p, 1, segment), tree_sum(q, 1, segment)


# ---------------------------------------------------------------------------------------------------------------
# kernels


@cuda.jit(cache=_numba_cache.ENABLED)
def norm_forward_kernel(
    x,  # (B, C, S) input
    weight,  # (C,) or placeholder
    bias,  # (C,) or placeholder
    has_weight,  # bool
    has_bias,  # bool
    box_batches,  # batch entries per box
    box_channels,  # channels per box
    boxes_per_batch,  # boxes side by side along C
    eps,  # added to the variance
    center,  # subtract the mean (False: RMSNorm, mean = 0)
    y,  # (B, C, S) output
    mean,  # (boxes,) float64 output
    rstd,  # (boxes,) float64 output
    var_unbiased,  # (boxes,) float64 output: var * n / (n - 1), nan when n == 1
):
    """One block per box of n elements: mean = sum x / n, var = sum (x - mean)^2 / n, y = x_hat * weight + bias."""
    box = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    S = x.shape[2]
    b0, c0 = box_origin(box, box_batches, box_channels, boxes_per_batch)
    n = box_batches * box_channels * S  # 0 for an empty box: its statistics come out 0 / 0 = nan
    m, m2 = box_moments(x, b0, c0, box_batches, box_channels, center)
    r, unbiased = stats_from_m2(n, m2, eps)

    for i in range(tid, n, BLOCK_SIZE):
        b, c, s = box_element(i, b0, c0, box_channels, S)
        y[b, c, s] = affine((float(x[b, c, s]) - m) * r, weight, bias, c, has_weight, has_bias)
    if tid == 0:
        mean[box] = m
        rstd[box] = r
        var_unbiased[box] = unbiased


@cuda.jit(cache=_numba_cache.ENABLED)
def norm_backward_kernel(
    dy,  # (B, C, S) upstream gradient
    x,  # (B, C, S) forward input
    mean,  # (boxes,) float64, as saved by the forward
    rstd,  # (boxes,) float64, as saved by the forward
    weight,  # (C,) or placeholder
    has_weight,  # bool
    box_batches,  # batch entries per box
    box_channels,  # channels per box
    boxes_per_batch,  # boxes side by side along C, G; the grid is a multiple of it
    segment,  # threads per channel in pass 1: a power of two <= BLOCK_SIZE
    center,  # the mean was subtracted (False: RMSNorm): term 2 when the statistics came from x
    batch_stats,  # mean and rstd were computed from x (this batch): terms 2 and 3; else dx = rstd * dx_hat
    dx,  # (B, C, S) output
    dweight_partial,  # (R, C) float64 scratch, R = grid / G: row k // G sums dy * x_hat over block k's boxes
    dbias_partial,  # (R, C) float64 scratch: likewise sum dy
):
    """Grid-stride over boxes of n elements; x_hat = (x - mean) * rstd and dx_hat = dy * weight[c].

    Pass 1: segments of ``segment`` threads take the box's channels in turn; each sums over its channel's elements
        P_c = sum dy * x_hat and Q_c = sum dy, adds them to the block's scratch row (the block's first box starts
        it), and the box sums follow without another read of x: sum dx_hat = sum_c weight[c] * Q_c,
        sum dx_hat * x_hat = sum_c weight[c] * P_c.
    Pass 2: dx = rstd * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)), terms 2 and 3 as the flags say.
    """
    block = cuda.blockIdx.x
    tid = cuda.threadIdx.x
    S = x.shape[2]
    scratch_row = block // boxes_per_batch  # the grid is a multiple of G: every box of this block has group block % G
    n = box_batches * box_channels * S
    lane = tid % segment
    for box in range(block, mean.shape[0], cuda.gridDim.x):  # the same trip count for the whole block
        b0, c0 = box_origin(box, box_batches, box_channels, boxes_per_batch)
        m = mean[box]
        r = rstd[box]

        sum_dx_hat = 0.0  # this thread's share of the box sums, from the channels it leads
        sum_dx_hat_x_hat = 0.0
        for first in range(0, box_channels, BLOCK_SIZE // segment):
            c = c0 + first + tid // segment
            in_box = c < c0 + box_channels
            p, q = segment_grad_sums(dy, x, m, r, b0, c, box_batches, segment, in_box)
            if in_box and lane == 0:  # the same thread leads channel c in every box of this block
                later = box > block
                dweight_partial[scratch_row, c] = p + (dweight_partial[scratch_row, c] if later else 0.0)
                dbias_partial[scratch_row, c] = q + (dbias_partial[scratch_row, c] if later else 0.0)
                w = channel_param(weight, has_weight, c, 1.0)
                sum_dx_hat += w * q
                sum_dx_hat_x_hat += w * p
        mean_dx_hat = tree_sum(sum_dx_hat, 1, BLOCK_SIZE) / n
        mean_dx_hat_x_hat = tree_sum(sum_dx_hat_x_hat, 1, BLOCK_SIZE) / n
        term2 = mean_dx_hat if center else 0.0
        rstd2_term3 = r * r * mean_dx_hat_x_hat

        for i in range(tid, n, BLOCK_SIZE):
            b, c, s = box_element(i, b0, c0, box_channels, S)
            w = channel_param(weight, has_weight, c, 1.0)
            x_centered = float(x[b, c, s]) - m
            dx[b, c, s] = input_grad(float(dy[b, c, s]), w, term2, x_centered, r, rstd2_term3, batch_stats)


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_sum_kernel(partial, out):
    """out[c] = sum_r partial[r, c] for partial (R, C) float64.

    Block k takes channels k*SUM_CHANNELS + tid % SUM_CHANNELS (consecutive threads read consecutive channels);
    the SUM_ROW_LANES threads of a channel stride over the rows, then tree_sum adds threads SUM_CHANNELS apart.
    """
    tid = cuda.threadIdx.x
    rows, channels = partial.shape
    c = cuda.blockIdx.x * SUM_CHANNELS + tid % SUM_CHANNELS
    total = 0.0
    if c < channels:
        for row in range(tid // SUM_CHANNELS, rows, SUM_ROW_LANES):
            total += partial[row, c]
    total = tree_sum(total, SUM_CHANNELS, BLOCK_SIZE)
    if c < channels and tid < SUM_CHANNELS:
        out[c] = total


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_norm_apply_kernel(x, mean, rstd, weight, bias, has_weight, has_bias, y):
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] for x, y (N, C, S), mean, rstd (C,) float64."""
    _, C, S = x.shape
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        b, c, s = i // (C * S), i // S % C, i % S
        y[b, c, s] = affine((float(x[b, c, s]) - mean[c]) * rstd[c], weight, bias, c, has_weight, has_bias)


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_moments_kernel(x, batches, mean, m2):
    """One block per (slice k, channel c) of x (N, C, S), slice k being batch entries k*batches .. (k+1)*batches - 1:
    mean[k, c] and m2[k, c] = sum (x - mean)^2 over x[slice, c, :], float64 (K, C)."""
    k, c = cuda.blockIdx.x // x.shape[1], cuda.blockIdx.x % x.shape[1]
    m, sq_dev = box_moments(x, k * batches, c, min(batches, x.shape[0] - k * batches), 1, True)
    if cuda.threadIdx.x == 0:
        mean[k, c] = m
        m2[k, c] = sq_dev


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_combine_kernel(counts, means, m2s, eps, mean, rstd, var_unbiased):
    """Grid-stride over channels: the P shares' counts (P,), means and m2s (P, C) combined in order (Chan et al.)
    into mean, rstd and var_unbiased (C,)."""
    for c in range(cuda.grid(1), means.shape[1], cuda.gridsize(1)):
        count = 0.0
        ch_mean = math.nan
        ch_m2 = 0.0
        for p in range(means.shape[0]):
            count, ch_mean, ch_m2 = combine_moments(count, ch_mean, ch_m2, counts[p], means[p, c], m2s[p, c])
        r, unbiased = stats_from_m2(count, ch_m2, eps)
        mean[c] = ch_mean
        rstd[c] = r
        var_unbiased[c] = unbiased


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_grad_sums_kernel(dy, x, mean, rstd, batches, segment, sum_dy, sum_dy_xhat):
    """One block per (slice k, channel c), slices as in channel_moments_kernel: its first ``segment`` threads sum
    dy and dy * x_hat over x[slice, c, :] into sum_dy[k, c] and sum_dy_xhat[k, c] (K, C)."""
    k, c = cuda.blockIdx.x // x.shape[1], cuda.blockIdx.x % x.shape[1]
    b0 = k * batches
    p, q = segment_grad_sums(dy, x, mean[c], rstd[c], b0, c, min(batches, x.shape[0] - b0), segment,
                             cuda.threadIdx.x < segment)
    if cuda.threadIdx.x == 0:
        sum_dy_xhat[k, c] = p
        sum_dy[k, c] = q


@cuda.jit(cache=_numba_cache.ENABLED)
def channel_input_grad_kernel(dy, x, mean, rstd, weight, has_weight, sum_dy, sum_dy_xhat, count, batch_stats, dx):
    """Grid-stride over the elements of x (N, C, S): dx from the sums of dy and dy * x_hat (C,) over ``count``
    elements per channel (without batch statistics, dx = rstd * dy * weight and the sums are not read)."""
    _, C, S = x.shape
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        b, c, s = i // (C * S), i // S % C, i % S
        w = channel_param(weight, has_weight, c, 1.0)
        term2, term3 = channel_grad_terms(w, sum_dy[c], sum_dy_xhat[c], count)
        r = rstd[c]
        x_centered = float(x[b, c, s]) - mean[c]
        dx[b, c, s] = input_grad(float(dy[b, c, s]), w, term2, x_centered, r, r * r * term3, batch_stats)


@cuda.jit(cache=_numba_cache.ENABLED)
def dropout_kernel(x, threshold, scale, seed, offset, y):
    """y = x * scale where row r is kept, else exactly 0, for x, y (R, S); scale = 1 / (1 - p), 0 when p == 1."""
    S = x.shape[1]
    for i in range(cuda.grid(1), x.size, cuda.gridsize(1)):
        r, s = i // S, i % S
        y[r, s] = float(x[r, s]) * scale if keep_row(threshold, seed, offset, r) else 0.0


@cuda.jit(cache=_numba_cache.ENABLED)
def dropout_mask_kernel(threshold, seed, offset, mask):
    """mask[r] = 1 where row r is kept, else 0, for mask (R,) uint8."""
    for r in range(cuda.grid(1), mask.size, cuda.gridsize(1)):
        mask[r] = 1 if keep_row(threshold, seed, offset, r) else 0


# ---------------------------------------------------------------------------------------------------------------
# host side: array transfer, argument checks and launch configuration


def _cupy_of(array):
    """The cupy module when ``array`` is a CuPy array (so CuPy is imported already), else None."""
    return sys.modules["cupy"] if type(array).__module__.startswith("cupy") else None


class _Call:
    """What one public call needs to reach the GPU, set up from one of the caller's arrays (``like``).

    ``device(array, output=False)`` maps a caller's array to one the kernels can index. Arrays exposing
    ``__cuda_array_interface__`` (CuPy, numba) are used in place, strided or not (the kernels index through strides),
    without waiting for the stream they name: the kernels are queued on CuPy's current stream (``stream``), behind
    the CuPy work that made their inputs and ahead of the work that reads their outputs. numpy arrays move as single
    buffers (to a GPU, and within the simulator), so strided numpy inputs are first copied C-contiguous. On a GPU,
    numpy inputs are copied over and numpy outputs are copied back into the caller's arrays by ``finish``; the
    simulator runs kernels on the numpy arrays themselves.

    ``empty(shape, dtype)`` is scratch for the kernels: from CuPy's memory pool when the caller's arrays are CuPy
    arrays (no cudaMalloc, no synchronization), else from numba.
    """

    def __init__(self, like):
        self.cupy = None if SIMULATOR else _cupy_of(like)
        stream = 0 if self.cupy is None else self.cupy.cuda.get_current_stream().ptr
        self.stream = cuda.external_stream(stream) if stream else 0  # 0: the default stream
        self.copy_back = []

    def device(self, array, output=False):
        if SIMULATOR:
            return array if output else np.ascontiguousarray(array)
        if hasattr(array, "__cuda_array_interface__"):
            return cuda.as_cuda_array(array, sync=False)
        if not output:
            return cuda.to_device(np.ascontiguousarray(array))
        on_device = cuda.device_array(array.shape, array.dtype)
        self.copy_back.append((on_device, array))
        return on_device

    def empty(self, shape, dtype):
        if self.cupy is None:
            return cuda.device_array(shape, dtype)
        return self.device(self.cupy.empty(shape, dtype))

    def optional(self, array, dtype):
        """(device array, present) for an optional weight or bias; a 1-element placeholder when it is absent."""
        if array is not None:
            return self.device(array), True
        if self.cupy is None:
            return _numba_placeholder(np.dtype(dtype)), False
        return self.device(_cupy_placeholder(self.cupy.cuda.Device().id, np.dtype(dtype))), False

    def launch(self, kernel, blocks, *args):
        if blocks > 0:  # an empty grid is an error in CUDA; there is nothing to do
            kernel[blocks, BLOCK_SIZE, self.stream](*args)

    def finish(self):
        for on_device, host in self.copy_back:
            on_device.copy_to_host(host)


@contextmanager
def _call(like):
    call = _Call(like)
    yield call
    call.finish()


@functools.cache
def _numba_placeholder(dtype):
    """The 1-element device array that stands in for an absent weight or bias; allocated once per dtype."""
    return cuda.device_array(1, dtype)


@functools.cache
def _cupy_placeholder(device_id, dtype):
    """The placeholder for CuPy callers: allocated once per GPU and dtype, from CuPy's pool."""
    return sys.modules["cupy"].empty(1, dtype)


def _flat(array):
    """The (size,) view of a C-contiguous array: statistics are indexed by box number."""
    return array.reshape(array.size)


def _grid(count):
    """Blocks for a grid-stride loop over ``count`` items."""
    return max(1, min(MAX_GRID, -(-count // BLOCK_SIZE)))


def _segment(elements):
    """Threads per channel for summing ``elements`` values: the power of two >= elements, at most BLOCK_SIZE."""
    return min(BLOCK_SIZE, 1 << (elements - 1).bit_length())


def _norm_forward(x, weight, bias, box_batches, box_channels, boxes_per_batch, eps, center, y, mean, rstd,
                  var_unbiased=None):
    """Launches norm_forward_kernel, one block per box; mean, rstd, var_unbiased hold one value per box (a row norm
    passes no var_unbiased: the kernel writes it into scratch)."""
    with _call(x) as call:
        weight_d, has_weight = call.optional(weight, x.dtype)
        bias_d, has_bias = call.optional(bias, x.dtype)
        stats = [_flat(call.device(a, output=True)) for a in (mean, rstd)]
        stats.append(call.empty(stats[0].size, np.float64) if var_unbiased is None
                     else _flat(call.device(var_unbiased, output=True)))
        call.launch(norm_forward_kernel, stats[0].size, call.device(x), weight_d, bias_d, has_weight, has_bias,
                    box_batches, box_channels, boxes_per_batch, float(eps), bool(center), call.device(y, output=True),
                    *stats)


def _norm_backward(dy, x, mean, rstd, weight, box_batches, box_channels, boxes_per_batch, center, batch_stats,
                   dx, dweight, dbias):
    """Launches norm_backward_kernel (R * G blocks), then channel_sum_kernel for each weight gradient."""
    C, S = x.shape[1], x.shape[2]
    mean, rstd = _flat(mean), _flat(rstd)
    with _call(x) as call:
        weight_d, has_weight = call.optional(weight, x.dtype)
        groups = max(boxes_per_batch, 1)  # G; boxes_per_batch is 0 only for a channel norm with C == 0
        batches = mean.size // groups  # boxes along B: B (row norm), 1 (channel norm), 0 when there are none
        rows = min(batches, max(1, BACKWARD_BLOCKS // groups))  # R, the scratch rows
        partials = [call.empty((rows, C), np.float64) for _ in range(2)]
        segment = _segment(box_batches * S)
        call.launch(norm_backward_kernel, rows * boxes_per_batch, call.device(dy), call.device(x), call.device(mean),
                    call.device(rstd), weight_d, has_weight, box_batches, box_channels, boxes_per_batch, segment,
                    bool(center), bool(batch_stats), call.device(dx, output=True), *partials)
        for partial, out in zip(partials, (dweight, dbias), strict=True):
            if out is not None:
                call.launch(channel_sum_kernel, -(-C // SUM_CHANNELS), partial, call.device(out, output=True))


def _slice_batches(N, C, S):
    """Batch entries per slice of a channel norm (see "Few channels"); N (one slice, one block per channel) when
    the batch is too small to cut or C fills the GPU."""
    slices = max(1, min(-(-CHANNEL_BLOCKS // max(C, 1)), N, N * S // BLOCK_SIZE))
    return -(-N // slices)


def _slice_counts(N, S, batches):
    """The elements per channel of each slice, (K,) float64: the last slice may hold fewer batch entries."""
    return np.array([min(batches, N - b0) * S for b0 in range(0, N, batches)], np.float64)


@functools.lru_cache(maxsize=64)
def _cupy_slice_counts(device_id, N, S, batches):
    return sys.modules["cupy"].asarray(_slice_counts(N, S, batches))


def _sliced_channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased, batches):
    """The forward over slices of ``batches`` batch entries: their moments, combined, then y."""
    N, C, S = x.shape
    slices = -(-N // batches)
    with _call(x) as call:
        x_d = call.device(x)
        moments = [call.empty((slices, C), np.float64) for _ in range(2)]  # means and M2s, (K, C)
        call.launch(channel_moments_kernel, slices * C, x_d, batches, *moments)
        stats = [call.device(a, output=True) for a in (mean, rstd, var_unbiased)]
        counts = _slice_counts(N, S, batches)
        if call.cupy is not None:  # uploaded once per GPU and shape, then kept
            counts = _cupy_slice_counts(call.cupy.cuda.Device().id, N, S, batches)
        call.launch(channel_combine_kernel, _grid(C), call.device(counts), *moments, float(eps), *stats)
        weight_d, has_weight = call.optional(weight, x.dtype)
        bias_d, has_bias = call.optional(bias, x.dtype)
        call.launch(channel_norm_apply_kernel, _grid(x.size), x_d, stats[0], stats[1], weight_d, bias_d, has_weight,
                    has_bias, call.device(y, output=True))


def _sliced_channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias, batches):
    """The backward over slices of ``batches`` batch entries: their sums of dy and dy * x_hat, the channel totals
    (which dweight and dbias are too), then dx."""
    N, C, S = x.shape
    slices = -(-N // batches)
    with _call(x) as call:
        dy_d, x_d, mean_d, rstd_d = (call.device(a) for a in (dy, x, mean, rstd))
        partials = [call.empty((slices, C), np.float64) for _ in range(2)]  # sums of dy and dy * x_hat, (K, C)
        call.launch(channel_grad_sums_kernel, slices * C, dy_d, x_d, mean_d, rstd_d, batches, _segment(batches * S),
                    *partials)
        totals = [call.empty(C, np.float64) for _ in range(2)]
        for partial, total, out in zip(partials, totals, (dbias, dweight), strict=True):
            call.launch(channel_sum_kernel, -(-C // SUM_CHANNELS), partial, total)
            if out is not None:
                call.launch(channel_sum_kernel, -(-C // SUM_CHANNELS), partial, call.device(out, output=True))
        weight_d, has_weight = call.optional(weight, x.dtype)
        call.launch(channel_input_grad_kernel, _grid(x.size), dy_d, x_d, mean_d, rstd_d, weight_d, has_weight,
                    *totals, float(N * S), bool(batch_stats), call.device(dx, output=True))


def _dropout(x, p, seed, offset, y):
    """y = x * keep[r] / (1 - p) for x, y (R, S); the product is formed in float64 and rounded once."""
    scale = 1.0 / (1.0 - p) if p < 1.0 else 0.0
    with _call(x) as call:
        call.launch(dropout_kernel, _grid(x.size), call.device(x), _scalar.keep_threshold(p), scale, np.uint64(seed),
                    np.uint64(offset), call.device(y, output=True))


# ---------------------------------------------------------------------------------------------------------------
# public API: the signatures of reference.py; the arguments are checked by _checks.py, as on the other backends


def row_norm_forward(x, weight, bias, groups: int, eps: float, center: bool, y, mean, rstd) -> None:
    """x (B, C, S) -> y (B, C, S); mean, rstd (B, groups) float64. One block per row (b, g)."""
    _checks.row_norm_forward(x, weight, bias, groups, eps, center, y, mean, rstd)
    C = x.shape[1]
    _norm_forward(x, weight, bias, 1, C // groups, groups, eps, center, y, mean, rstd)


def row_norm_backward(dy, x, mean, rstd, weight, groups: int, center: bool, dx, dweight, dbias) -> None:
    """dy, x (B, C, S), saved mean, rstd (B, groups) -> dx (B, C, S); dweight, dbias (C,) or None."""
    _checks.row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias)
    C = x.shape[1]
    _norm_backward(dy, x, mean, rstd, weight, 1, C // groups, groups, center, True, dx, dweight, dbias)


def channel_norm_forward(x, weight, bias, eps: float, y, mean, rstd, var_unbiased) -> None:
    """x (N, C, S) -> y (N, C, S); batch mean, rstd, var_unbiased (C,) float64. A block per channel, or per slice of
    the batch and channel (see "Few channels")."""
    _checks.channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased)
    N, C, S = x.shape
    batches = _slice_batches(N, C, S)
    if batches < N:
        _sliced_channel_norm_forward(x, weight, bias, eps, y, mean, rstd, var_unbiased, batches)
    else:
        _norm_forward(x, weight, bias, N, 1, C, eps, True, y, mean, rstd, var_unbiased)


def channel_norm_apply(x, mean, rstd, weight, bias, y) -> None:
    """y = (x - mean[c]) * rstd[c] * weight[c] + bias[c] with given mean, rstd (C,) float64."""
    _checks.channel_norm_apply(x, mean, rstd, weight, bias, y)
    with _call(x) as call:
        weight_d, has_weight = call.optional(weight, x.dtype)
        bias_d, has_bias = call.optional(bias, x.dtype)
        call.launch(channel_norm_apply_kernel, _grid(x.size), call.device(x), call.device(mean), call.device(rstd),
                    weight_d, bias_d, has_weight, has_bias, call.device(y, output=True))


def channel_norm_backward(dy, x, mean, rstd, weight, batch_stats: bool, dx, dweight, dbias) -> None:
    """dy, x (N, C, S) -> dx (N, C, S); dweight, dbias (C,) or None. Full VJP when batch_stats, else dy*weight*rstd."""
    _checks.channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias)
    N, C, S = x.shape
    batches = _slice_batches(N, C, S)
    if batches < N:
        _sliced_channel_norm_backward(dy, x, mean, rstd, weight, batch_stats, dx, dweight, dbias, batches)
    else:
        _norm_backward(dy, x, mean, rstd, weight, N, 1, C, True, batch_stats, dx, dweight, dbias)


def channel_norm_moments(x, mean, m2) -> None:
    """x (N, C, S) -> this share's per-channel mean and M2 = sum (x - mean)^2 (C,) float64. One block per channel."""
    _checks.channel_norm_moments(x, mean, m2)
    C = x.shape[1]
    with _call(x) as call:  # one slice: the whole batch, as (1, C) statistics
        moments = [call.device(a, output=True).reshape(1, C) for a in (mean, m2)]
        call.launch(channel_moments_kernel, C, call.device(x), x.shape[0], *moments)


def channel_norm_combine(counts, means, m2s, eps: float, mean, rstd, var_unbiased) -> None:
    """Per-share counts (P,) and means, M2 (P, C) float64 -> the batch's mean, rstd, var_unbiased (C,) float64."""
    _checks.channel_norm_combine(counts, means, m2s, eps, mean, rstd, var_unbiased)
    with _call(means) as call:
        outputs = [call.device(a, output=True) for a in (mean, rstd, var_unbiased)]
        call.launch(channel_combine_kernel, _grid(means.shape[1]), call.device(counts), call.device(means),
                    call.device(m2s), float(eps), *outputs)


def channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat) -> None:
    """dy, x (N, C, S) and the batch's mean, rstd -> this share's sums of dy and dy * x_hat (C,) float64."""
    _checks.channel_norm_grad_sums(dy, x, mean, rstd, sum_dy, sum_dy_xhat)
    N, C, S = x.shape
    with _call(x) as call:  # one slice: the whole batch, as (1, C) sums
        sums = [call.device(a, output=True).reshape(1, C) for a in (sum_dy, sum_dy_xhat)]
        call.launch(channel_grad_sums_kernel, C, call.device(dy), call.device(x), call.device(mean),
                    call.device(rstd), N, _segment(N * S), *sums)


def channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx) -> None:
    """dy, x (N, C, S) -> dx (N, C, S) from the batch's statistics and its sums of dy and dy * x_hat (C,) over
    ``count`` elements per channel."""
    _checks.channel_norm_input_grad(dy, x, mean, rstd, weight, sum_dy, sum_dy_xhat, count, dx)
    with _call(x) as call:
        weight_d, has_weight = call.optional(weight, x.dtype)
        call.launch(channel_input_grad_kernel, _grid(x.size), call.device(dy), call.device(x), call.device(mean),
                    call.device(rstd), weight_d, has_weight, call.device(sum_dy), call.device(sum_dy_xhat),
                    float(count), True, call.device(dx, output=True))


def dropout_forward(x, p: float, seed: int, offset: int, y) -> None:
    """x (R, S) -> y (R, S): row r kept (scaled by 1 / (1 - p)) or zeroed by the counter hash of offset + r."""
    _dropout(x, *_checks.dropout("x", x, p, seed, offset, "y", y), y)


def dropout_backward(dy, p: float, seed: int, offset: int, dx) -> None:
    """dy (R, S) -> dx (R, S) through the forward's mask, regenerated from (seed, offset)."""
    _dropout(dy, *_checks.dropout("dy", dy, p, seed, offset, "dx", dx), dx)


def dropout_mask(p: float, seed: int, offset: int, mask) -> None:
    """mask (R,) uint8 out: 1 where row r is kept, 0 where dropped."""
    p, seed, offset = _checks.dropout_mask(p, seed, offset, mask)
    with _call(mask) as call:
        call.launch(dropout_mask_kernel, _grid(mask.size), _scalar.keep_threshold(p), np.uint64(seed),
                    np.uint64(offset), call.device(mask, output=True))
