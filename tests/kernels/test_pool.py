"""Pooling kernels: Numba (cpu) against the reference on awkward shapes, both against torch.nn.functional where a
window holds ties, nan or -inf (torch's choice of index), the argument checks, and float64 gradient checks through
the MaxPool2d and AvgPool2d ops on both CPU backends (second derivatives too: they check each op's composed formula
against its kernels).

Max pooling's outputs and indices must agree exactly (they are values and positions of x). Every other output is a
sum of at most n = KH*KW terms (window values, or the gradients of the windows covering a position), taken in
another order or precision by each backend: each is off from the exact sum by at most (n + 1) u sum |terms| (u the
unit roundoff of the dtype), so they differ by at most twice that, which ``assert_sums_within_rounding`` checks
element by element, sum |terms| coming from the reference run on |x| and |dy|.
"""

import math
from dataclasses import dataclass

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu, reference
from tinygrad_norm.kernels._checks_conv import output_hw

import tinygrad_norm as tn
from tinygrad_norm import backend, gradcheck, gradgradcheck
from tinygrad_norm.ops.pool import AvgPool2d, MaxPool2d

NO_PADDING = ((0, 0), (0, 0))


@dataclass(frozen=True)
class PoolCase:
    x_shape: tuple
    kernel: tuple
    stride: tuple
    padding: tuple = NO_PADDING
    dilation: tuple = (1, 1)  # max pooling only
    ceil_mode: bool = False
    dtype: type = np.float64
    layout: str = "contiguous"  # contiguous, or strided: every other column of a wider array

    def __str__(self):
        shape = lambda s: "x".join(map(str, s))  # noqa: E731
        return (
            f"x{shape(self.x_shape)}-k{shape(self.kernel)}-s{shape(self.stride)}-p{self.padding}"
            f"-d{shape(self.dilation)}{'-ceil' if self.ceil_mode else ''}-{np.dtype(self.dtype).name}"
            f"-{self.layout}"
        )

    @property
    def out_shape(self):
        hw = output_hw(self.x_shape[2:], self.kernel, self.stride, self.padding, self.dilation, self.ceil_mode)
        return (*self.x_shape[:2], *hw)


SHAPES = [
    PoolCase((2, 3, 6, 7), (2, 2), (2, 2)),
    PoolCase((2, 2, 5, 6), (3, 3), (1, 1), ((1, 1), (1, 1))),  # overlapping windows
    PoolCase((2, 2, 8, 9), (2, 2), (3, 3)),  # stride larger than the kernel
    PoolCase((2, 2, 7, 8), (2, 3), (1, 2), ((1, 1), (1, 1)), dilation=(2, 2)),
    PoolCase((2, 3, 6, 5), (2, 2), (1, 1), ((1, 0), (0, 1))),  # asymmetric padding
    PoolCase((3, 2, 11, 9), (3, 3), (2, 2), ((1, 1), (1, 1))),  # odd sizes
    PoolCase((1, 1, 2, 2), (2, 2), (1, 1), ((1, 1), (1, 1)), dilation=(3, 3)),  # a window of padding only
    PoolCase((1, 4, 5, 5), (5, 5), (1, 1)),  # batch 1, one window per plane
    PoolCase((0, 2, 4, 4), (2, 2), (2, 2)),  # empty batch
    PoolCase((2, 2, 7, 8), (2, 3), (2, 2), ceil_mode=True),  # ceil mode: the last windows reach past the plane
    PoolCase((2, 2, 6, 7), (3, 3), (2, 3), ((1, 1), (1, 1)), ceil_mode=True),  # ... and past the padding
    PoolCase((1, 2, 5, 5), (2, 2), (2, 2), ((1, 1), (1, 1)), ceil_mode=True),  # a window would start in the padding
    PoolCase((2, 2, 7, 6), (2, 2), (2, 3), ((1, 1), (0, 0)), dilation=(2, 1), ceil_mode=True),
    PoolCase((1, 2, 1, 3), (2, 2), (2, 2), ceil_mode=True),  # the kernel is larger than the plane
    PoolCase((2, 3, 8, 6), (2, 2), (2, 2)),  # the 2x2 window of CNNs (a kernel of its own in cpu)...
    PoolCase((2, 2, 5, 7), (2, 2), (2, 2), ceil_mode=True),  # ... in ceil mode at odd sides (the generic kernel)
]
CASES = [PoolCase(**{**case.__dict__, "dtype": dtype}) for case in SHAPES for dtype in (np.float32, np.float64)] + [
    PoolCase(**{**SHAPES[1].__dict__, "layout": "strided", "dtype": np.float32}),
    PoolCase(**{**SHAPES[0].__dict__, "layout": "strided", "dtype": np.float32}),
]
AVG_CASES = [case for case in CASES if case.dilation == (1, 1)]
SYMMETRIC = [case for case in CASES if case.dtype == np.float64 and all(a == b for a, b in case.padding)]  # as torch's
AVG_OPTIONS = [(True, None), (False, None), (True, 5)]  # count_include_pad, divisor_override


def _in_layout(a, layout):
    if layout == "strided":
        wide = np.zeros((*a.shape[:3], 2 * a.shape[3]), a.dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    return a


def pool_inputs(case, values="normal", seed=0):
    """x and dy; values: normal, ties (a few small integers), special (ties, nan, +-inf and planes of -inf)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape)
    if values != "normal":
        x = rng.integers(0, 3, case.x_shape).astype(np.float64)
    if values == "special" and x.size:
        flat = x.reshape(-1)
        flat[rng.choice(x.size, size=max(1, x.size // 6), replace=False)] = np.nan
        flat[rng.choice(x.size, size=max(1, x.size // 10), replace=False)] = np.inf
        x[:, -1] = -np.inf
    dy = rng.standard_normal(case.out_shape)
    return _in_layout(x.astype(case.dtype), case.layout), dy.astype(case.dtype)


def run_max_pool(module, case, x, dy):
    y, indices = np.full(case.out_shape, np.nan, x.dtype), np.full(case.out_shape, -7, np.int64)
    module.max_pool2d_forward(x, case.kernel, case.stride, case.padding, case.dilation, case.ceil_mode, y, indices)
    dx = np.full(x.shape, np.nan, x.dtype)
    module.max_pool2d_backward(dy, indices, dx)
    return y, indices, dx


def run_avg_pool(module, case, x, dy, count_include_pad, divisor_override):
    options = (case.kernel, case.stride, case.padding, case.ceil_mode, count_include_pad, divisor_override)
    y, dx = np.full(case.out_shape, np.nan, x.dtype), np.full(x.shape, np.nan, x.dtype)
    module.avg_pool2d_forward(x, *options, y)
    module.avg_pool2d_backward(dy, *options, dx)
    return y, dx


def assert_sums_within_rounding(got, expected, magnitude, n, what):
    """|got - expected| <= 2 (n + 1) u magnitude element by element: two sums of n terms whose |terms| add up to
    magnitude."""
    u = np.finfo(got.dtype).eps / 2
    assert got.dtype == expected.dtype, what
    error = np.abs(got.astype(np.float64) - expected)
    assert np.all(error <= 2 * (n + 1) * u * magnitude), f"{what}: off by {np.max(error):.3g}"


# ---------------------------------------------------------------------------------------------------------------
# numba against the reference


@pytest.mark.parametrize("values", ["normal", "ties", "special"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_cpu_max_pool_matches_reference(case, values):
    x, dy = pool_inputs(case, values)
    y, indices, dx = run_max_pool(cpu, case, x, dy)
    y_ref, indices_ref, dx_ref = run_max_pool(reference, case, x, dy)
    np.testing.assert_array_equal(indices, indices_ref)
    np.testing.assert_array_equal(y, y_ref)
    magnitude = run_max_pool(reference, case, x, np.abs(dy))[2]
    assert_sums_within_rounding(dx, dx_ref, magnitude, math.prod(case.kernel), f"{case} dx")


@pytest.mark.parametrize("options", AVG_OPTIONS, ids=str)
@pytest.mark.parametrize("case", AVG_CASES, ids=str)
def test_cpu_avg_pool_matches_reference(case, options):
    x, dy = pool_inputs(case)
    (y, dx), (y_ref, dx_ref) = run_avg_pool(cpu, case, x, dy, *options), run_avg_pool(reference, case, x, dy, *options)
    n = math.prod(case.kernel)
    magnitude_y, magnitude_dx = run_avg_pool(reference, case, np.abs(x), np.abs(dy), *options)
    assert_sums_within_rounding(y, y_ref, magnitude_y, n, f"{case} y")
    assert_sums_within_rounding(dx, dx_ref, magnitude_dx, n, f"{case} dx")


# ---------------------------------------------------------------------------------------------------------------
# both against torch: the index torch picks among ties, nan and -inf, and the gradient that follows it


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("values", ["normal", "ties", "special"])
@pytest.mark.parametrize("case", SYMMETRIC, ids=str)
def test_max_pool_matches_torch(case, values, module):
    torch = pytest.importorskip("torch")
    (top, _), (left, _) = case.padding
    x, dy = pool_inputs(case, values)
    xt = torch.tensor(x, requires_grad=True)
    yt, indices_t = torch.nn.functional.max_pool2d(
        xt, case.kernel, case.stride, (top, left), case.dilation, ceil_mode=case.ceil_mode, return_indices=True
    )
    y, indices, dx = run_max_pool(module, case, x, dy)
    np.testing.assert_array_equal(y, yt.detach().numpy())
    N, C, H, W = x.shape
    indices_t = indices_t.numpy()
    reads_plane = (indices_t >= 0) & (indices_t < H * W)  # torch's index of a window of padding only lies outside
    np.testing.assert_array_equal(np.where(reads_plane, indices, -1), np.where(reads_plane, indices_t, -1))
    if reads_plane.all():
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-15, atol=0)
    else:  # torch's backward would write outside the plane: scatter through its indices inside the plane instead
        expected = np.zeros((N * C, H * W))
        planes = np.broadcast_to(np.arange(N * C).reshape(N, C, 1, 1), indices_t.shape)
        np.add.at(expected, (planes[reads_plane], indices_t[reads_plane]), dy[reads_plane])
        np.testing.assert_allclose(dx, expected.reshape(x.shape), rtol=1e-15, atol=0)


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("options", AVG_OPTIONS, ids=str)
@pytest.mark.parametrize("case", [case for case in SYMMETRIC if case.dilation == (1, 1)], ids=str)
def test_avg_pool_matches_torch(case, options, module):
    torch = pytest.importorskip("torch")
    (top, _), (left, _) = case.padding
    x, dy = pool_inputs(case)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.avg_pool2d(xt, case.kernel, case.stride, (top, left), case.ceil_mode, *options)
    yt.backward(torch.tensor(dy))
    y, dx = run_avg_pool(module, case, x, dy, *options)
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_max_pool_index_rule_on_one_window():
    """Row-major scan: the first of tied maxima; any nan beats them and the last nan wins; -inf only: the first."""
    x = np.array(
        [
            [[[1.0, 3.0, -np.inf, -np.inf], [2.0, 3.0, -np.inf, -np.inf]]],
            [[[np.nan, 1.0, 2.0, np.nan], [np.nan, 9.0, np.nan, 1.0]]],
        ]
    )
    for module in (reference, cpu):
        y, indices = np.empty((2, 1, 1, 2)), np.empty((2, 1, 1, 2), np.int64)
        module.max_pool2d_forward(x, (2, 2), (2, 2), NO_PADDING, (1, 1), False, y, indices)
        assert indices.reshape(-1).tolist() == [1, 2, 4, 6]
        np.testing.assert_array_equal(y.reshape(-1), [3.0, -np.inf, np.nan, np.nan])


# ---------------------------------------------------------------------------------------------------------------
# argument checks, the same on both backends

X = np.zeros((2, 3, 6, 6), np.float32)


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_pooling_rejects_bad_arguments_alike(module):
    y, indices = np.empty((2, 3, 3, 3), np.float32), np.empty((2, 3, 3, 3), np.int64)
    with pytest.raises(ValueError, match="padding must be at most half the kernel"):
        module.max_pool2d_forward(X, (2, 2), (2, 2), ((2, 0), (0, 0)), (1, 1), False, y, indices)
    with pytest.raises(TypeError, match="indices must have dtype int64"):
        module.max_pool2d_forward(X, (2, 2), (2, 2), NO_PADDING, (1, 1), False, y, indices.astype(np.int32))
    with pytest.raises(TypeError, match="ceil_mode must be a bool"):
        module.max_pool2d_forward(X, (2, 2), (2, 2), NO_PADDING, (1, 1), "no", y, indices)
    with pytest.raises(ValueError, match=r"y must have shape \(2, 3, 4, 4\)"):  # ceil mode: (6 - 3) / 1 + 1
        module.max_pool2d_forward(X, (3, 3), (1, 1), NO_PADDING, (1, 1), True, y, indices)
    with pytest.raises(ValueError, match=r"dx must have shape \(2, 3, H, W\)|dx must have shape"):
        module.max_pool2d_backward(y, indices, np.empty((2, 2, 6, 6), np.float32))
    with pytest.raises(ValueError, match="kernel must be a pair"):
        module.avg_pool2d_forward(X, (0, 2), (2, 2), NO_PADDING, False, True, None, y)
    with pytest.raises(ValueError, match="divisor_override must be a positive integer"):
        module.avg_pool2d_forward(X, (2, 2), (2, 2), NO_PADDING, False, True, 0, y)
    with pytest.raises(TypeError, match="count_include_pad must be a bool"):
        module.avg_pool2d_backward(y, (2, 2), (2, 2), NO_PADDING, False, "yes", None, np.empty_like(X))


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("bad_index", [-2, 36])
def test_max_pool_backward_rejects_indices_outside_the_plane(module, bad_index):
    dy, indices = np.ones((2, 3, 3, 3), np.float32), np.zeros((2, 3, 3, 3), np.int64)
    indices[1, 2, 0, 1] = bad_index
    dx = np.empty_like(X)
    with pytest.raises(ValueError, match=r"indices must lie in \[0, H\*W\) = \[0, 36\)"):
        module.max_pool2d_backward(dy, indices, dx)


# ---------------------------------------------------------------------------------------------------------------
# float64 gradient checks through the ops, on both CPU backends (random inputs: no ties)


@pytest.mark.parametrize("name", ["numba", "numpy"])
@pytest.mark.parametrize("case", [SHAPES[i] for i in (1, 3, 4, 5, 10, 12)], ids=str)
def test_pool_op_gradcheck(case, name):
    x = tn.tensor(pool_inputs(case, seed=5)[0], requires_grad=True)
    window = dict(kernel=case.kernel, stride=case.stride, padding=case.padding, ceil_mode=case.ceil_mode)
    with backend.use_backend(name):
        assert gradcheck(lambda x: MaxPool2d.apply(x, dilation=case.dilation, **window), x)
        assert gradgradcheck(lambda x: MaxPool2d.apply(x, dilation=case.dilation, **window) ** 2, x)
        if case.dilation == (1, 1):
            for count_include_pad, divisor_override in AVG_OPTIONS:
                options = dict(count_include_pad=count_include_pad, divisor_override=divisor_override, **window)
                assert gradcheck(lambda x, options=options: AvgPool2d.apply(x, **options), x)
                assert gradgradcheck(lambda x, options=options: AvgPool2d.apply(x, **options) ** 2, x)
