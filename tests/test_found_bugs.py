"""Regressions compared with torch: gradients at a kink, dtypes of float functions of integers, integer pooling
with padding, and clamp's argument check."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_norm as tn
import tinygrad_norm.nn.functional as F


@pytest.mark.parametrize("pos_weight", [None, [3.0, 0.5, 2.0, 1.0]])
def test_bce_with_logits_gradient_at_zero_logits(pos_weight):
    """A zero-initialized head gives logits exactly 0, where max(-x, 0) has a kink."""
    target = np.array([0.0, 1.0, 0.0, 1.0], np.float32)
    x = tn.zeros(4, requires_grad=True)
    x_t = torch.zeros(4, requires_grad=True)
    ours_weight = None if pos_weight is None else tn.Tensor(np.array(pos_weight, np.float32))
    theirs_weight = None if pos_weight is None else torch.tensor(pos_weight)
    loss = F.binary_cross_entropy_with_logits(x, tn.Tensor(target), pos_weight=ours_weight)
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        x_t, torch.from_numpy(target), pos_weight=theirs_weight
    )
    loss.backward()
    expected.backward()
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "tanh", "sigmoid", "rsqrt"])
def test_float_functions_of_integers_give_the_default_float_dtype(name, dtype):
    values = np.array([0, 1, 2, 3]).astype(dtype)
    with np.errstate(divide="ignore"):
        ours = getattr(tn.Tensor(values), name)()
    expected = getattr(torch.from_numpy(values), name)()
    assert ours.dtype == np.float32 and expected.dtype == torch.float32
    np.testing.assert_allclose(ours.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int8, np.uint8])
def test_max_pool2d_pads_integers_with_the_dtype_minimum(dtype):
    info = np.iinfo(dtype)
    values = np.random.default_rng(0).integers(info.min, info.max, (2, 3, 5, 4), endpoint=True).astype(dtype)
    ours = F.max_pool2d(tn.Tensor(values), 3, stride=2, padding=1)
    expected = torch.nn.functional.max_pool2d(torch.from_numpy(values), 3, stride=2, padding=1)
    assert ours.dtype == values.dtype
    np.testing.assert_array_equal(ours.numpy(), expected.numpy())


def test_clip_without_bounds_raises_as_torch():
    x = tn.ones(3)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        x.clip(None, None)
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        torch.ones(3).clip(None, None)
