"""The bundled digits: sizes, the fixed split, value ranges; `normalize` and the published statistics."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_norm.data import MEAN_STD, load_digits, normalize


@pytest.mark.parametrize(("train", "count"), [(True, 1437), (False, 360)])
def test_the_split_and_its_conventions(train, count):
    images, labels = load_digits(train=train)
    assert images.shape == (count, 1, 8, 8) and images.dtype == np.float32
    assert labels.shape == (count,) and labels.dtype == np.int64
    assert images.min() == 0 and images.max() == 1
    np.testing.assert_array_equal(images * 16, np.round(images * 16))  # the 0..16 counts, divided by 16
    per_class = np.bincount(labels, minlength=10)
    assert per_class.sum() == count and per_class.max() - per_class.min() <= 8  # stratified


def test_the_split_is_fixed_and_covers_all_1797_images():
    train, test = load_digits(True), load_digits(False)
    assert load_digits(True)[0].tobytes() == train[0].tobytes()
    both = np.concatenate([train[1], test[1]])
    np.testing.assert_array_equal(np.bincount(both), [178, 182, 177, 183, 181, 182, 181, 179, 174, 180])
    assert np.bincount(test[1]).min() >= 35


def test_digits_statistics_are_those_of_the_training_images():
    images, _ = load_digits()
    mean, std = MEAN_STD["digits"]
    assert abs(images.mean(dtype=np.float64) - mean) < 5e-5 and abs(images.std(dtype=np.float64) - std) < 5e-5


def test_normalize_standardizes_and_keeps_float_dtypes():
    images, _ = load_digits()
    standard = normalize(images, *MEAN_STD["digits"])
    assert standard.dtype == np.float32 and standard.shape == images.shape
    assert abs(standard.mean()) < 1e-3 and abs(standard.std() - 1) < 1e-3
    np.testing.assert_allclose(standard, (images.astype(np.float64) - 0.3054) / 0.3761, rtol=1e-6, atol=1e-6)
    assert normalize(images.astype(np.float64), 0.5, 2.0).dtype == np.float64
    np.testing.assert_array_equal(normalize(np.array([0, 255], np.uint8), 0.5, 0.25), np.float32([-2, 1018]))
    assert images.min() == 0  # the input is left alone


@pytest.mark.parametrize("std", [0.0, -1.0, float("nan")])
def test_normalize_refuses_a_std_that_is_not_positive(std):
    with pytest.raises(ValueError, match="std must be positive"):
        normalize(np.zeros(3, np.float32), 0.0, std)
