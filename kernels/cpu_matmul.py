"""Numba CPU matrix product: ``reference_matmul.matmul`` on Numba's threads, each block one single-threaded BLAS call.

The thread policy (``_threads.py``) keeps BLAS on one thread, because BLAS's own pool of busy-waiting threads
fought Numba's for the cores. The products then ran on one core. Here they run on Numba's threads instead: the
product is cut into blocks of columns of ``out`` (of rows, when it has more rows than columns), and a parallel
Numba loop calls BLAS's ``cblas_?gemm`` once per block. So one pool of threads does all the work of a training
step, and a product on two cores takes about half the time of one on a single core.

``cblas_?gemm`` is called through its address in the BLAS library numpy loaded (found with threadpoolctl), with
the 64-bit integers of the ILP64 interface that numpy's wheels ship (``scipy_cblas_sgemm64_``). The cut depends on
the shape alone, so the result does not depend on the thread count. Numpy's matmul does the product instead, on
the calling thread, when:

- the product is small (at most SMALL multiply-adds) or has a single block;
- the dtype is not float32 or float64;
- BLAS has no such symbol (another BLAS than numpy's wheels' OpenBLAS);
- the user chose BLAS's thread count (``_threads.BLAS_ON_ONE_THREAD`` is False): BLAS then splits its products.
"""

import ctypes

import numpy as np
import threadpoolctl
from numba import prange

from . import _threads
from ._jit import njit
from .reference_matmul import check_matmul

__all__ = ["matmul"]

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # the CBLAS enumerations
# OpenBLAS's small-matrix kernels take products of up to SMALL multiply-adds without packing a and b: 2-5x faster
# at the sizes of a small convolution's products. A product this small runs as one call on the calling thread.
SMALL = 100**3
MIN_BLOCK = 64  # rows, columns or depth per block: at least this many ...
MANY_BLOCKS, FEW_BLOCKS = 8, 2  # ... in this many blocks of equal size (see _cut)
DEPTH_RATIO = 16  # the depth K is cut when it is this many times the larger of M and N
ROWS, COLUMNS, DEPTH = 0, 1, 2  # the axes of (M, N, K)


def _find_gemm():
    """{dtype: ctypes function cblas_?gemm} of numpy's BLAS, or {} where there is none to call this way."""
    if not _threads.BLAS_ON_ONE_THREAD:
        return {}
    for library in threadpoolctl.threadpool_info():
        if library["user_api"] != "blas":
            continue
        try:
            blas = ctypes.CDLL(library["filepath"])
        except OSError:
            continue
        found = {}
        for dtype, letter, real in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
            enum, size, pointer = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
            # a prototype of its own per dtype: Numba tells ctypes functions apart by their Python class
            prototype = ctypes.CFUNCTYPE(None, enum, enum, enum, size, size, size, real, pointer, size, pointer, size,
                                         real, pointer, size)
            for name in (f"scipy_cblas_{letter}gemm64_", f"cblas_{letter}gemm64_"):
                if hasattr(blas, name):
                    found[np.dtype(dtype)] = prototype(ctypes.cast(getattr(blas, name), ctypes.c_void_p).value)
                    break
        if len(found) == 2:
            return found
    return {}


GEMM = _find_gemm()


def _layout(a):
    """(trans, ld): ``a`` as BLAS reads it (row-major, NO_TRANS; or its transpose, TRANS), or None when it cannot."""
    size = a.itemsize
    rows, cols = a.shape
    row_step, col_step = a.strides
    if col_step == size or cols == 1:
        ld = row_step // size if rows > 1 else max(1, cols)
        if row_step % size == 0 and ld >= max(1, cols):
            return NO_TRANS, ld
    if row_step == size or rows == 1:
        ld = col_step // size if cols > 1 else max(1, rows)
        if col_step % size == 0 and ld >= max(1, rows):
            return TRANS, ld
    return None


def _readable(a):
    """(a, trans, ld), with ``a`` copied to C order when BLAS cannot read it as it is."""
    layout = _layout(a)
    if layout is None:
        a = np.ascontiguousarray(a)
        layout = _layout(a)
    return (a, *layout)


@njit(parallel=True)
def _gemm_blocks(gemm, sizes, cut, block, a, trans_a, lda, a_block, b, trans_b, ldb, b_block, beta, c, c_block):
    """c = a @ b + beta c by blocks of ``block`` along axis ``cut`` of (M, N, K) = ``sizes``: block t of a, b and
    c starts t a_block, t b_block and t c_block bytes after a, b and c; c's rows hold N values."""
    M, N, K = sizes
    total = sizes[cut]
    for t in prange((total + block - 1) // block):
        size = min(block, total - t * block)
        m = size if cut == ROWS else M
        n = size if cut == COLUMNS else N
        k = size if cut == DEPTH else K
        gemm(ROW_MAJOR, trans_a, trans_b, m, n, k, 1.0, a + t * a_block, lda, b + t * b_block, ldb, beta,
             c + t * c_block, N)


def _cut(M, N, K):
    """(axis, number of blocks) of the cut, or None for one call: rows of out where there are enough for two blocks
    (a row block writes whole rows of out: 1.0-1.6x faster than column blocks on the benchmark's products), else
    columns; or the depth K when it is DEPTH_RATIO times longer (a weight gradient summed over a long batch).
    MANY_BLOCKS blocks for a product of up to MANY_BLOCKS SMALL multiply-adds (small ones each) or of a depth K
    under MIN_BLOCK, FEW_BLOCKS for the others: per product of the training-step benchmark on 2 cores, the other
    count took 1.1 to 2.5 times as long."""
    work = M * N * K
    if work <= SMALL:
        return None
    axis, length = (DEPTH, K) if K >= DEPTH_RATIO * max(M, N) else (ROWS, M) if M >= 2 * MIN_BLOCK else (COLUMNS, N)
    many = work <= MANY_BLOCKS * SMALL or K < MIN_BLOCK
    blocks = min(MANY_BLOCKS if many else FEW_BLOCKS, length // MIN_BLOCK)
    return (axis, blocks) if blocks >= 2 else None


def matmul(a, b, out, accumulate: bool = False) -> None:
    """out = a @ b, or out += a @ b when ``accumulate``: a (M, K), b (K, N) any strides, out (M, N) C-contiguous."""
    check_matmul(a, b, out)
    sizes = (M, N, K) = a.shape[0], b.shape[1], a.shape[1]
    gemm, cut = GEMM.get(out.dtype), _cut(M, N, K)
    if gemm is None or cut is None:
        if accumulate:
            out += a @ b
        else:
            np.matmul(a, b, out=out)
        return
    axis, blocks = cut
    block = -(-sizes[axis] // blocks)
    (a, trans_a, lda), (b, trans_b, ldb) = _readable(a), _readable(b)
    size = out.itemsize
    a_row, a_column = (lda * size, size) if trans_a == NO_TRANS else (size, lda * size)  # bytes to the next one
    b_row, b_column = (ldb * size, size) if trans_b == NO_TRANS else (size, ldb * size)
    if axis == DEPTH:  # each block's product in a slab of its own, summed after in the slabs' order
        slabs = np.empty((blocks, M, N), out.dtype)
        _gemm_blocks(gemm, sizes, axis, block, a.ctypes.data, trans_a, lda, block * a_column, b.ctypes.data, trans_b,
                     ldb, block * b_row, 0.0, slabs.ctypes.data, M * N * size)
        if accumulate:
            out += slabs.sum(axis=0)
        else:
            slabs.sum(axis=0, out=out)
        return
    a_block, b_block, c_block = (block * a_row, 0, block * N * size) if axis == ROWS else (0, block * b_column,
                                                                                         block * size)
    _gemm_blocks(gemm, sizes, axis, block, a.ctypes.data, trans_a, lda, a_block, b.ctypes.data, trans_b, ldb, b_block,
                 1.0 if accumulate else 0.0, out.ctypes.data, c_block)
