"""The Numba CPU kernels against the reference, over the shared cases in cases.py, plus argument validation."""

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu

from .cases import (
    channel_norm_cases,
    check_channel_norm,
    check_channel_norm_sync,
    check_dropout,
    check_row_norm,
    dropout_cases,
    row_norm_cases,
    sync_channel_norm_cases,
)


@pytest.mark.parametrize("case", row_norm_cases(), ids=str)
def test_row_norm_matches_reference(case):
    check_row_norm(cpu, case)


@pytest.mark.parametrize("case", channel_norm_cases(), ids=str)
def test_channel_norm_matches_reference(case):
    check_channel_norm(cpu, case)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's mean of an empty share
@pytest.mark.parametrize("case", sync_channel_norm_cases(), ids=str)
def test_channel_norm_in_shares_matches_reference(case):
    check_channel_norm_sync(cpu, case)


@pytest.mark.parametrize("case", dropout_cases(), ids=str)
def test_dropout_matches_reference_bit_for_bit(case):
    check_dropout(cpu, case)


def test_constant_channel_gives_rstd_of_eps_and_finite_outputs():
    x = np.random.default_rng(0).standard_normal((8, 3, 5)).astype(np.float32)
    x[:, 1, :] = 1e6
    y, dx = np.empty_like(x), np.empty_like(x)
    mean, rstd, var_unbiased = np.empty(3), np.empty(3), np.empty(3)
    cpu.channel_norm_forward(x, None, None, 1e-5, y, mean, rstd, var_unbiased)
    cpu.channel_norm_backward(np.ones_like(x), x, mean, rstd, None, True, dx, None, None)
    assert mean[1] == 1e6 and var_unbiased[1] == 0.0 and rstd[1] == 1 / np.sqrt(1e-5)
    assert np.isfinite(y).all() and np.isfinite(dx).all()
    np.testing.assert_array_equal(y[:, 1, :], 0.0)


@pytest.mark.parametrize("shape", [(64, 3, 1), (4, 3, 50)], ids=["columns", "runs"])
def test_float32_statistics_stay_accurate_for_a_large_mean(shape):
    x = (1e4 + 1e-2 * np.random.default_rng(0).standard_normal(shape)).astype(np.float32)
    y, mean, rstd, var_unbiased = np.empty_like(x), np.empty(3), np.empty(3), np.empty(3)
    cpu.channel_norm_forward(x, None, None, 0.0, y, mean, rstd, var_unbiased)
    x64 = x.astype(np.float64)
    np.testing.assert_allclose(var_unbiased, x64.var(axis=(0, 2), ddof=1), rtol=1e-9)
    np.testing.assert_allclose(mean, x64.mean(axis=(0, 2)), rtol=1e-12)


def test_backward_rejects_dy_unlike_x():
    x = np.zeros((2, 4, 3))
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 4, 3\)"):
        cpu.channel_norm_backward(
            np.zeros((2, 4, 2)), x, np.zeros(4), np.ones(4), None, True, np.empty_like(x), None, None
        )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # 0 * inf: nan, as in torch's update
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("momentum", [0.1, 0.0, 1.0, 0.37])
def test_running_stats_update_matches_reference_bit_for_bit(dtype, momentum):
    """momentum * batch + (1 - momentum) * running in float64, rounded once; nan and inf pass through."""
    from tinygrad_norm.kernels import reference

    rng = np.random.default_rng(4)
    start = [(rng.standard_normal(37) * 3).astype(dtype) for _ in range(2)]
    start[1][:3] = [np.nan, np.inf, -np.inf]
    mean, var = rng.standard_normal(37), rng.random(37) * 5
    mean[5], var[6] = np.nan, np.inf
    got, expected = [a.copy() for a in start], [a.copy() for a in start]
    cpu.update_running_stats(*got, momentum, mean, var)
    reference.update_running_stats(*expected, momentum, mean, var)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)
    running_mean = momentum * mean + (1 - momentum) * start[0].astype(np.float64)
    np.testing.assert_array_equal(expected[0], running_mean.astype(dtype))


@pytest.mark.parametrize("module_name", ["reference", "cpu"])
def test_running_stats_update_checks_its_arguments(module_name):
    from tinygrad_norm import kernels

    module = getattr(kernels, module_name)
    buffers, stats = (np.zeros(4, np.float32), np.zeros(4, np.float32)), (np.zeros(4), np.zeros(4))
    with pytest.raises(ValueError, match=r"running_var must have shape \(4,\)"):
        module.update_running_stats(buffers[0], np.zeros(5, np.float32), 0.1, *stats)
    with pytest.raises(TypeError, match="running_var must have dtype float32"):
        module.update_running_stats(buffers[0], np.zeros(4), 0.1, *stats)
    with pytest.raises(TypeError, match="var_unbiased must have dtype float64"):
        module.update_running_stats(*buffers, 0.1, stats[0], np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="momentum must be a real number"):
        module.update_running_stats(*buffers, None, *stats)
