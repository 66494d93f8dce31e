"""Dropout, Dropout2d and AlphaDropout: the mask's statistics, its reuse in backward, the modes and edge values.

torch draws its masks from another generator, so these tests check the definitions instead of torch's numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import Tensor, backend
from tinygrad_norm.nn import functional
from tinygrad_norm.ops.dropout import SELU_ALPHA_PRIME
from tinygrad_norm.random import dropout_stream


def _nonzero(shape, dtype=np.float32, seed=0) -> np.ndarray:
    """Values bounded away from 0, so a zero in the output can only be a dropped element."""
    rng = np.random.default_rng(seed)
    return (rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)).astype(dtype)


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_a_fraction_one_minus_p_and_scales_by_its_inverse(p):
    tn.manual_seed(0)
    x = _nonzero((200, 100))
    y = nn.Dropout(p)(Tensor(x)).numpy()
    kept = y != 0
    n = x.size
    assert abs(kept.mean() - (1 - p)) < 6 * math.sqrt(p * (1 - p) / n)  # six binomial standard deviations
    np.testing.assert_allclose(y[kept], x[kept] / np.float32(1 - p), rtol=1e-6)


def test_dropout_backward_reuses_the_forward_mask():
    tn.manual_seed(1)
    x = Tensor(_nonzero((40, 30)), requires_grad=True)
    y = nn.Dropout(0.4)(x)
    upstream = _nonzero((40, 30), seed=1)
    y.backward(Tensor(upstream))
    dropped = y.numpy() == 0
    assert dropped.any() and not dropped.all()
    assert (x.grad.numpy()[dropped] == 0).all()  # exactly zero where the output was dropped
    np.testing.assert_allclose(x.grad.numpy()[~dropped], upstream[~dropped] / np.float32(0.6), rtol=1e-6)


def test_dropout_mask_is_the_kernel_generator_at_the_reserved_offset():
    tn.manual_seed(2)
    seed, offset = dropout_stream(0)  # the next offset, reserving nothing
    y = functional.dropout(Tensor(_nonzero((7, 9))), 0.3).numpy()
    mask = np.empty(63, np.uint8)
    backend.kernels().dropout_mask(0.3, seed, offset, mask)
    np.testing.assert_array_equal(y.reshape(-1) != 0, mask.astype(bool))


def test_consecutive_calls_draw_fresh_masks_and_manual_seed_repeats_them():
    x = Tensor(_nonzero((50, 20)))
    tn.manual_seed(3)
    first, second = functional.dropout(x, 0.5).numpy(), functional.dropout(x, 0.5).numpy()
    tn.manual_seed(3)
    again = functional.dropout(x, 0.5).numpy()
    assert ((first == 0) != (second == 0)).any()
    np.testing.assert_array_equal(first, again)


def test_dropout2d_drops_whole_channels():
    tn.manual_seed(4)
    x = Tensor(_nonzero((8, 16, 5, 5)), requires_grad=True)
    y = nn.Dropout2d(0.5)(x)
    per_channel = (y.numpy() == 0).reshape(8 * 16, 25)
    assert (per_channel.all(axis=1) | ~per_channel.any(axis=1)).all()  # each channel all dropped or all kept
    assert 0 < per_channel.all(axis=1).sum() < 8 * 16
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy() == 0, y.numpy() == 0)


def test_dropout2d_reads_3d_input_as_batch_channels_length_like_torch():
    tn.manual_seed(5)
    y = functional.dropout2d(Tensor(_nonzero((6, 10, 4))), 0.5).numpy()
    rows = (y == 0).reshape(60, 4)
    assert (rows.all(axis=1) | ~rows.any(axis=1)).all()
    with pytest.raises(ValueError, match="3D or 4D"):
        functional.dropout2d(Tensor(_nonzero((6, 10))), 0.5)


@pytest.mark.parametrize("layer", [nn.Dropout, nn.Dropout2d, nn.AlphaDropout])
def test_eval_mode_and_p_zero_are_the_identity(layer):
    x = Tensor(_nonzero((2, 3, 4, 4)))
    assert layer(0.5).eval()(x) is x
    assert layer(0.0)(x) is x


@pytest.mark.parametrize("layer", [nn.Dropout, nn.Dropout2d, nn.AlphaDropout])
def test_p_one_gives_zeros_and_zero_gradient(layer):
    x = Tensor(_nonzero((2, 3, 4, 4)), requires_grad=True)
    y = layer(1.0)(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), 0)
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    assert not np.isnan(y.numpy()).any()


@pytest.mark.parametrize("p", [-0.1, 1.5])
@pytest.mark.parametrize("make", [nn.Dropout, nn.Dropout2d, nn.AlphaDropout])
def test_probability_outside_0_1_raises(make, p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        make(p)


def test_no_grad_does_not_switch_dropout_off():
    tn.manual_seed(6)
    with tn.no_grad():
        y = nn.Dropout(0.5)(Tensor(_nonzero((20, 20))))
    assert (y.numpy() == 0).any()


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    tn.manual_seed(7)
    x = np.random.default_rng(0).standard_normal(400_000)
    y = nn.AlphaDropout(0.2)(Tensor(x)).numpy()
    standard_error = 1 / math.sqrt(x.size)
    assert abs(y.mean()) < 6 * standard_error
    assert abs(y.var() - 1) < 6 * math.sqrt(2) * standard_error


def test_alpha_dropout_formula_and_gradient():
    p = 0.3
    tn.manual_seed(8)
    seed, offset = dropout_stream(0)
    x = Tensor(np.random.default_rng(1).standard_normal((30, 20)), requires_grad=True)
    y = functional.alpha_dropout(x, p, training=True)
    keep = np.empty(600, np.uint8)
    backend.kernels().dropout_mask(p, seed, offset, keep)
    keep = keep.reshape(30, 20).astype(bool)
    a = 1 / math.sqrt((1 - p) * (1 + p * SELU_ALPHA_PRIME**2))
    b = -a * SELU_ALPHA_PRIME * p
    np.testing.assert_allclose(y.numpy(), np.where(keep, a * x.numpy() + b, a * SELU_ALPHA_PRIME + b), rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.where(keep, a, 0.0), rtol=1e-12)


def test_functional_alpha_dropout_defaults_to_no_training_like_torch():
    x = Tensor(_nonzero((4, 4)))
    assert functional.alpha_dropout(x, 0.5) is x


@pytest.mark.parametrize("functional", [functional.dropout, functional.dropout2d, functional.alpha_dropout])
def test_gradcheck_float64_with_a_fixed_mask(functional):
    x = Tensor(_nonzero((3, 4, 2, 2), np.float64), requires_grad=True)

    def fn(x: Tensor) -> Tensor:
        tn.manual_seed(9)  # every evaluation draws the same mask
        return functional(x, 0.4, training=True)

    assert tn.gradcheck(fn, x)
    assert tn.gradgradcheck(lambda x: fn(x) * x, x)  # times x: dropout is linear, its second derivative zero


def test_repr_matches_torch_format():
    assert repr(nn.Dropout()) == "Dropout(p=0.5, inplace=False)"
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2, inplace=False)"
    assert repr(nn.AlphaDropout(0.3, inplace=True)) == "AlphaDropout(p=0.3, inplace=True)"
