"""Edge cases on every backend, against the reference: empty inputs, one-element rows, eps = 0, nan and inf, many
channels of few rows, Fortran-ordered and reversed inputs, counters near 2^64, and the argument errors that every
backend raises alike (``_checks.py``).

Two fixtures: ``backend`` (cpu, cuda) for the comparisons with the reference, which the reference itself cannot
fail, and ``module`` (reference too) for properties stated here and for the argument errors.

Empty inputs work as in torch: the outputs are empty, statistics over no elements are nan (0 / 0, as numpy's mean)
and weight gradients are 0 (sums over no elements). The cuda module runs these tests on a GPU in this process, and
everywhere on the simulator in a child process (``test_cuda_edge_cases_pass_on_the_simulator``).
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from numba import cuda
from tinygrad_norm.kernels import cpu, reference

from .cases import DropoutCase, NormCase, _Comparison, check_channel_norm, check_dropout, check_row_norm
from .test_cuda import SIMULATOR  # importing test_cuda also readies the simulator (GIL hand-over, shared arrays)

BACKENDS = ["cpu"] + (["cuda"] if cuda.is_available() else [])


def _kernel_module(name):
    if name == "cuda":
        from tinygrad_norm.kernels import cuda as kernels

        return kernels
    return {"reference": reference, "cpu": cpu}[name]


@pytest.fixture(params=BACKENDS)
def backend(request):
    """A kernel module other than the reference, to compare with it."""
    return _kernel_module(request.param)


@pytest.fixture(params=["reference", *BACKENDS])
def module(request):
    """Any kernel module, the reference included."""
    return _kernel_module(request.param)


# ---------------------------------------------------------------------------------------------------------------
# values


EMPTY_ROW_CASES = [
    NormCase((0, 4, 3), groups=2),
    NormCase((2, 4, 0), groups=2),
    NormCase((2, 0, 3)),
    NormCase((0, 3, 1), np.float32),
]
EMPTY_CHANNEL_CASES = [NormCase((0, 3, 2)), NormCase((2, 3, 0)), NormCase((0, 3, 1), np.float32), NormCase((2, 0, 1))]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's mean of an empty slice; 0 / 0 on the simulator
@pytest.mark.parametrize("case", EMPTY_ROW_CASES, ids=str)
def test_empty_row_norm_inputs_match_the_reference(backend, case):
    check_row_norm(backend, case)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", EMPTY_ROW_CASES, ids=str)
def test_empty_row_norm_inputs_give_nan_statistics_and_zero_gradients(module, case):
    B, C, S = case.shape
    x = np.zeros(case.shape, case.dtype)
    mean, rstd, dweight = np.empty((B, case.groups)), np.empty((B, case.groups)), np.empty(C, case.dtype)
    module.row_norm_forward(x, None, None, case.groups, 1e-5, True, np.empty_like(x), mean, rstd)
    module.row_norm_backward(x, x, mean, rstd, None, case.groups, True, np.empty_like(x), dweight, None)
    assert np.isnan(mean).all() and np.isnan(rstd).all() and (dweight == 0).all()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("case", EMPTY_CHANNEL_CASES, ids=str)
def test_empty_channel_norm_inputs_give_empty_outputs_nan_statistics_and_zero_gradients(backend, case):
    check_channel_norm(backend, case)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("shape", [(0, 1), (0, 3), (3, 0)])
def test_empty_dropout(backend, shape):
    check_dropout(backend, DropoutCase(shape, 0.5, 1, 2))


def test_one_element_rows_have_rstd_of_eps_and_give_the_bias(module):
    x = np.array([[[3.0]], [[-1e6]]])
    weight, bias = np.array([2.0]), np.array([0.25])
    y, mean, rstd = np.empty_like(x), np.empty((2, 1)), np.empty((2, 1))
    module.row_norm_forward(x, weight, bias, 1, 1e-5, True, y, mean, rstd)
    np.testing.assert_array_equal(rstd, 1 / np.sqrt(1e-5))
    np.testing.assert_array_equal(y, 0.25)


def test_one_element_rows_match_the_reference(backend):
    check_row_norm(backend, NormCase((3, 1, 1)))
    check_row_norm(backend, NormCase((2, 3, 1), groups=3))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 1 / 0 and 0 * inf, on purpose
@pytest.mark.parametrize("center", [True, False])
def test_eps_zero_with_a_constant_row_gives_the_references_inf_and_nan(backend, center):
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((3, 4, 2)), rng.standard_normal((3, 4, 2))
    x[1] = 0.0 if not center else 5.0  # var 0 (E[x^2] = 0 without centering): rstd = inf
    compare = _Comparison(backend, np.asarray, np.asarray)
    stats = ((3, 2), np.float64)
    saved = compare.run(
        "row_norm_forward",
        [x, None, None, 2, 0.0, center],
        {"y": (x.shape, x.dtype), "mean": stats, "rstd": stats},
        "eps=0",
    )
    assert np.isinf(saved["rstd"][1]).all()
    compare.run(
        "row_norm_backward",
        [dy, x, saved["mean"], saved["rstd"], None, 2, center],
        {"dx": (x.shape, x.dtype), "dweight": ((4,), x.dtype), "dbias": ((4,), x.dtype)},
        "eps=0",
    )
    channel_stats = ((4,), np.float64)
    compare.run(
        "channel_norm_forward",
        [np.ones((3, 4, 1)), None, None, 0.0],
        {"y": ((3, 4, 1), x.dtype), "mean": channel_stats, "rstd": channel_stats, "var_unbiased": channel_stats},
        "eps=0 channels",
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("shape", [(2, 6, 1), (3, 2, 4)], ids=["columns", "runs"])
def test_nan_and_inf_propagate_as_in_the_reference(backend, shape):
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    x[0, 1, 0], x[1, 0, -1] = np.nan, np.inf
    weight, bias = rng.standard_normal(shape[1]), rng.standard_normal(shape[1])
    compare = _Comparison(backend, np.asarray, np.asarray)
    C, grads = shape[1], {"dx": (shape, x.dtype), "dweight": ((shape[1],), x.dtype), "dbias": ((shape[1],), x.dtype)}
    saved = compare.run(
        "row_norm_forward",
        [x, weight, bias, 2, 1e-5, True],
        {"y": (shape, x.dtype), "mean": ((shape[0], 2), np.float64), "rstd": ((shape[0], 2), np.float64)},
        "nan row",
    )
    compare.run("row_norm_backward", [dy, x, saved["mean"], saved["rstd"], weight, 2, True], grads, "nan row")
    stats = ((C,), np.float64)
    saved = compare.run(
        "channel_norm_forward",
        [x, weight, bias, 1e-5],
        {"y": (shape, x.dtype), "mean": stats, "rstd": stats, "var_unbiased": stats},
        "nan channel",
    )
    compare.run("channel_norm_backward", [dy, x, saved["mean"], saved["rstd"], weight, True], grads, "nan channel")
    running_mean, running_rstd = np.linspace(-1, 1, C), np.linspace(0.5, 2, C)  # x drops out of dx: finite
    compare.run("channel_norm_backward", [dy, x, running_mean, running_rstd, weight, False], grads, "running stats")


def test_many_channels_of_few_rows(backend):
    """The column kernels (S == 1) with C far above N, N == 1 included (var_unbiased nan)."""
    C = 35 if SIMULATOR else 4099  # the simulator runs a Python thread per GPU thread
    for N in (1, 2, 3):
        check_channel_norm(backend, NormCase((N, C, 1), np.float32))


@pytest.mark.parametrize("layout", ["fortran", "reversed"])
def test_fortran_ordered_and_negative_stride_inputs(backend, layout):
    check_row_norm(backend, NormCase((3, 4, 5), groups=2, layout=layout))
    check_row_norm(backend, NormCase((3, 6, 1), np.float32, layout=layout))
    check_channel_norm(backend, NormCase((3, 4, 5), layout=layout))
    check_channel_norm(backend, NormCase((5, 3, 1), np.float32, layout=layout))


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the simulator's uint64 numpy scalars
def test_counters_wrapping_past_2_64_and_numpy_integer_keys(backend):
    for seed, offset in ((2**64 - 1, 2**64 - 5), (0, 2**64 - 1), (2**63, 2**63)):
        check_dropout(backend, DropoutCase((11, 1), 0.5, seed, offset))
        check_dropout(backend, DropoutCase((11, 3), 0.5, seed, offset, np.float64))
    expected, got = np.empty(11, np.uint8), np.empty(11, np.uint8)
    reference.dropout_mask(0.5, 2**64 - 1, 2**64 - 5, expected)
    backend.dropout_mask(np.float64(0.5), np.uint64(2**64 - 1), np.uint64(2**64 - 5), got)
    np.testing.assert_array_equal(got, expected)
    reference.dropout_mask(0.3, 7, 5, expected)
    backend.dropout_mask(0.3, np.int64(7), np.int32(5), got)
    np.testing.assert_array_equal(got, expected)


def test_p_one_gives_exact_zeros(module):
    x = np.array([[1.5, np.inf], [np.nan, -0.0], [-3e38, 2.0]], np.float32)
    y = np.full_like(x, 7)
    module.dropout_forward(x, 1.0, 3, 4, y)
    assert (y == 0).all() and not np.signbit(y).any()


# ---------------------------------------------------------------------------------------------------------------
# errors: the same exception and message on every backend


def _row_norm_args(**changes):
    x = np.zeros((2, 4, 3), np.float32)
    args = dict(
        x=x,
        weight=np.ones(4, np.float32),
        bias=None,
        groups=2,
        eps=1e-5,
        center=True,
        y=np.empty_like(x),
        mean=np.empty((2, 2)),
        rstd=np.empty((2, 2)),
    )
    args.update(changes)
    return args


ROW_NORM_ERRORS = [
    ({"groups": 3}, ValueError, "groups must be a positive integer dividing C=4, got 3"),
    ({"groups": 0}, ValueError, "groups must be a positive integer dividing C=4, got 0"),
    ({"x": np.zeros((2, 4, 3), np.float16)}, TypeError, "x must be a float32 or float64 array, got float16"),
    ({"x": [[[0.0]]]}, TypeError, "x must be a float32 or float64 array, got list"),
    ({"weight": np.ones(4, np.float64)}, TypeError, "weight must have dtype float32, got float64"),
    ({"bias": np.ones(4, np.float64)}, TypeError, "bias must have dtype float32, got float64"),
    ({"y": np.empty((2, 4, 3), np.float64)}, TypeError, "y must have dtype float32, got float64"),
    ({"mean": np.empty((2, 1))}, ValueError, r"mean must have shape \(2, 2\), got \(2, 1\)"),
    ({"x": np.zeros((2, 4, 3), np.int32)}, TypeError, "x must be a float32 or float64 array, got int32"),
    ({"x": np.zeros((2, 12), np.float32)}, ValueError, r"x must have shape \(B, C, S\), got \(2, 12\)"),
    ({"weight": np.ones(3, np.float32)}, ValueError, r"weight must have shape \(4,\), got \(3,\)"),
    ({"y": np.empty((2, 3, 4), np.float32).transpose(0, 2, 1)}, ValueError, "y is an output and must be C-contiguous"),
    ({"mean": np.empty((2, 2), np.float32)}, TypeError, "mean must have dtype float64, got float32"),
    ({"rstd": np.empty(4)}, ValueError, r"rstd must have shape \(2, 2\), got \(4,\)"),
]


@pytest.mark.parametrize("changes, error, message", ROW_NORM_ERRORS, ids=[e[2][:30] for e in ROW_NORM_ERRORS])
def test_row_norm_errors_are_the_same_on_every_backend(module, changes, error, message):
    with pytest.raises(error, match=f"^{message}$"):
        module.row_norm_forward(**_row_norm_args(**changes))


def test_backward_errors_are_the_same_on_every_backend(module):
    x, x16 = np.zeros((2, 4, 3), np.float32), np.zeros((2, 4, 3), np.float16)
    stats = np.zeros((2, 2)), np.ones((2, 2))
    with pytest.raises(ValueError, match="^groups must be a positive integer dividing C=4, got 3$"):
        module.row_norm_backward(x, x, *stats, None, 3, True, np.empty_like(x), None, None)
    with pytest.raises(TypeError, match="^dy must have dtype float32, got float64$"):
        module.row_norm_backward(x.astype(np.float64), x, *stats, None, 2, True, np.empty_like(x), None, None)
    with pytest.raises(TypeError, match="^x must be a float32 or float64 array, got float16$"):
        module.channel_norm_backward(x16, x16, np.zeros(4), np.ones(4), None, True, np.empty_like(x16), None, None)
    with pytest.raises(TypeError, match="^weight must have dtype float32, got float64$"):
        module.channel_norm_apply(x, np.zeros(4), np.ones(4), np.ones(4), None, np.empty_like(x))


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), float("inf")])
def test_dropout_p_outside_0_1_is_a_value_error(module, p):
    x = np.ones((4, 1), np.float32)
    with pytest.raises(ValueError, match=r"^p must be a probability in \[0, 1\]"):
        module.dropout_forward(x, p, 0, 0, np.empty_like(x))
    with pytest.raises(ValueError, match=r"^p must be a probability in \[0, 1\]"):
        module.dropout_mask(p, 0, 0, np.empty(4, np.uint8))


@pytest.mark.parametrize("seed, offset", [(-1, 0), (0, 2**64), (0, 1.5)])
def test_dropout_seed_and_offset_outside_uint64_are_value_errors(module, seed, offset):
    with pytest.raises(ValueError, match="^(seed|offset) must be an integer in"):
        module.dropout_mask(0.5, seed, offset, np.empty(4, np.uint8))


def _read_only(shape, dtype=np.float32):
    a = np.zeros(shape, dtype)
    a.flags.writeable = False
    return a


X = np.zeros((2, 4, 3), np.float32)
STATS = np.zeros((2, 2)), np.ones((2, 2))
READ_ONLY_OUTPUTS = {  # the output that is read-only: a call of one kernel function
    "y": lambda m: m.row_norm_forward(
        X, None, None, 2, 1e-5, True, _read_only(X.shape), np.empty((2, 2)), np.empty((2, 2))
    ),
    "rstd": lambda m: m.row_norm_forward(
        X, None, None, 2, 1e-5, True, np.empty_like(X), np.empty((2, 2)), _read_only((2, 2), np.float64)
    ),
    "dweight": lambda m: m.row_norm_backward(X, X, *STATS, None, 2, True, np.empty_like(X), _read_only(4), None),
    "var_unbiased": lambda m: m.channel_norm_forward(
        X, None, None, 1e-5, np.empty_like(X), np.empty(4), np.empty(4), _read_only(4, np.float64)
    ),
    "dx": lambda m: m.channel_norm_backward(X, X, np.zeros(4), np.ones(4), None, True, _read_only(X.shape), None, None),
    "mask": lambda m: m.dropout_mask(0.5, 1, 2, _read_only(4, np.uint8)),
}


@pytest.mark.parametrize("output", READ_ONLY_OUTPUTS)
def test_a_read_only_output_is_a_value_error_naming_it(module, output):
    with pytest.raises(ValueError, match=f"^{output} is an output and must be writable$"):
        READ_ONLY_OUTPUTS[output](module)


def test_a_read_only_dropout_output_is_a_value_error(module):
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="^dx is an output and must be writable$"):
        module.dropout_backward(x, 0.5, 1, 2, _read_only(x.shape))


# ---------------------------------------------------------------------------------------------------------------
# the cuda module on the simulator, in a child process


@pytest.mark.slow
@pytest.mark.skipif(SIMULATOR, reason="this is the child")
def test_cuda_edge_cases_pass_on_the_simulator():
    child = subprocess.run(
        [sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-k", "cuda and not simulator"],
        env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"),
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert child.returncode == 0, child.stdout[-20000:] + child.stderr[-5000:]
    summary = re.search(r"^(\d+) passed, \d+ deselected(?:, \d+ warnings?)? in ", child.stdout, re.M)
    assert summary is not None and int(summary.group(1)) > 20, child.stdout[-5000:]
