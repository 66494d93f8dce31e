"""The matrix product kernel: Numba (cpu, BLAS called by blocks from Numba's threads) against the reference on
awkward shapes and layouts, its independence of the thread count, and the argument checks.

A product entry is a sum of K terms; each backend is off from the exact sum by at most K u sum |terms| (u the unit
roundoff), so the two differ by at most 2 K u (|a| @ |b|), checked element by element.
"""

import numpy as np
import pytest
import threadpoolctl
from tinygrad_norm.kernels import cpu, cpu_matmul, reference

import tinygrad_norm as tn

# (M, K, N, layout of a, layout of b): "c" C order, "t" a transposed C-order array, "s" every other column of a
# wider array (a layout BLAS cannot read, copied first)
CASES = [
    (100, 784, 512, "c", "t"),  # x Wᵀ: too few rows for two blocks, split by columns, in FEW_BLOCKS
    (784, 128, 512, "t", "c"),  # gᵀ x: split by rows, in FEW_BLOCKS
    (1000, 200, 10, "c", "t"),  # ten classes: split by rows, in MANY_BLOCKS
    (784, 16, 512, "t", "c"),  # gᵀ x at batch 16: K under MIN_BLOCK, in MANY_BLOCKS
    (16, 9, 50176, "c", "c"),  # a convolution's columns, K = 9
    (24, 6000, 9, "c", "t"),  # its weight gradient: split by depth
    (144, 32, 3000, "t", "c"),  # rows for two blocks only
    (151, 1000, 130, "s", "s"),  # blocks of uneven size, both operands copied
    (2000, 1100, 1, "c", "c"),  # one column
    (1, 1100, 2000, "t", "t"),  # one row
    (33, 17, 5, "c", "c"),  # small: numpy's matmul on the calling thread
    (0, 5, 7, "c", "c"),
    (5, 0, 7, "c", "t"),  # K = 0: zeros
    (5, 7, 0, "t", "c"),
]


def operand(rng, rows, cols, layout, dtype):
    if layout == "t":
        return rng.standard_normal((cols, rows)).astype(dtype).T
    if layout == "s":
        return rng.standard_normal((rows, 2 * cols)).astype(dtype)[:, ::2]
    return rng.standard_normal((rows, cols)).astype(dtype)


def run(module, a, b, accumulate, start):
    out = start.copy()
    module.matmul(a, b, out, accumulate)
    return out


def test_numpys_blas_is_called_by_blocks():
    """numpy's wheels ship scipy-openblas with the ILP64 CBLAS symbols: found, so the tests below test the blocks."""
    blas = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    if not any(info["prefix"] == "libscipy_openblas" for info in blas):
        pytest.skip(f"numpy's BLAS here is not scipy-openblas: {blas}")
    assert set(cpu_matmul.GEMM) == {np.dtype(np.float32), np.dtype(np.float64)}


@pytest.mark.parametrize("accumulate", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:3])) + "-" + c[3] + c[4])
def test_cpu_matmul_matches_reference(case, dtype, accumulate):
    M, K, N, layout_a, layout_b = case
    rng = np.random.default_rng(0)
    a, b = operand(rng, M, K, layout_a, dtype), operand(rng, K, N, layout_b, dtype)
    start = rng.standard_normal((M, N)).astype(dtype) if accumulate else np.full((M, N), np.nan, dtype)
    got, expected = run(cpu, a, b, accumulate, start), run(reference, a, b, accumulate, start)
    u = np.finfo(dtype).eps / 2
    bound = 2 * (K + 1) * u * (np.abs(a).astype(np.float64) @ np.abs(b) + np.abs(start if accumulate else 0))
    assert got.dtype == dtype
    assert np.all(np.abs(got.astype(np.float64) - expected) <= bound)


def test_cpu_matmul_is_the_same_on_any_number_of_threads():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((96, 700)).astype(np.float32), rng.standard_normal((700, 900)).astype(np.float32)
    results = []
    for threads in (1, tn.get_num_threads()):
        with_threads = tn.get_num_threads()
        tn.set_num_threads(threads)
        try:
            results.append(run(cpu, a, b, False, np.empty((96, 900), np.float32)))
        finally:
            tn.set_num_threads(with_threads)
    np.testing.assert_array_equal(results[0], results[1])


@pytest.mark.parametrize("dtype", [np.float16, np.complex64, np.int64])
def test_other_dtypes_are_numpys_product(dtype):
    rng = np.random.default_rng(2)
    a, b = [(rng.standard_normal(shape) * 4).astype(dtype) for shape in ((150, 300), (300, 200))]
    out = np.empty((150, 200), dtype)
    cpu.matmul(a, b, out)
    np.testing.assert_array_equal(out, a @ b)


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_matmul_checks_its_arguments(module):
    a, b, out = np.ones((3, 4), np.float32), np.ones((4, 5), np.float32), np.empty((3, 5), np.float32)
    with pytest.raises(TypeError, match="b must be an array"):
        module.matmul(a, [[1.0]], out)
    with pytest.raises(ValueError, match="2-D"):
        module.matmul(a, np.ones(4, np.float32), out)
    with pytest.raises(ValueError, match="b must have a's 4 columns"):
        module.matmul(a, np.ones((3, 5), np.float32), out)
    with pytest.raises(TypeError, match="b must have dtype float32"):
        module.matmul(a, b.astype(np.float64), out)
    with pytest.raises(ValueError, match="out must have shape"):
        module.matmul(a, b, np.empty((5, 3), np.float32))
    with pytest.raises(ValueError, match="out is an output and must be C-contiguous"):
        module.matmul(a, b, np.empty((5, 3), np.float32).T)
    read_only = np.empty((3, 5), np.float32)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="must be writable"):
        module.matmul(a, b, read_only)
