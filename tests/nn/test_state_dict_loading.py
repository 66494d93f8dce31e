"""`load_state_dict` is all or nothing: every value is converted and checked before any is written, and values
a target cannot hold are errors that name their key."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn

torch = pytest.importorskip("torch")


def _model() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))


def _good_state(model: nn.Module) -> dict:
    return {key: np.full_like(value, 7) for key, value in model.state_dict().items()}


def _assert_unchanged(model: nn.Module, before: dict) -> None:
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)


BAD_VALUES = {
    "strings-in-an-object-array": ("0.bias", np.array(["a", "b", "c"], dtype=object), "not numbers"),
    "strings": ("0.bias", np.array(["1", "2", "3"]), "not numbers"),
    "None": ("0.bias", None, "is None"),
    "None-in-an-object-array": ("0.bias", np.array([1.0, None, 2.0], dtype=object), "not numbers"),
    "ragged-lists": ("0.weight", [[1.0, 2.0], [3.0], [4.0, 5.0]], "cannot be read"),
    "complex-into-float": ("0.bias", np.ones(3, np.complex64), "complex"),
    "wrapping-integer": ("1.num_batches_tracked", np.array(2**64 - 1, np.uint64), "outside the range of int64"),
    "fractional-integer": ("1.num_batches_tracked", np.array(2.5), "non-integer"),
    "nan-integer": ("1.num_batches_tracked", np.array(np.nan), "non-integer"),
}


@pytest.mark.parametrize(("key", "value", "message"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_a_bad_value_anywhere_changes_nothing_and_names_its_key(key, value, message):
    model = _model()
    before = model.state_dict()
    state = _good_state(model)  # every other key is valid and comes first or later: none may be written
    state[key] = value
    with pytest.raises(RuntimeError, match=message) as error:
        model.load_state_dict(state)
    assert f'"{key}"' in str(error.value)
    _assert_unchanged(model, before)


def test_every_problem_is_listed_in_one_error():
    model = _model()
    state = _good_state(model)
    state["0.bias"], state["1.running_mean"] = None, np.zeros(4)
    with pytest.raises(RuntimeError) as error:
        model.load_state_dict(state)
    assert '"0.bias" is None' in str(error.value) and "size mismatch for 1.running_mean" in str(error.value)


def test_values_that_fit_are_converted():
    model = _model()
    state = _good_state(model)
    state["0.bias"] = np.array([1, 2, 3], dtype=object)  # numbers in an object array
    state["1.num_batches_tracked"] = np.array(3.0)  # an integral float
    state["0.weight"] = [[1, 2], [3, 4], [5, 6]]  # nested lists
    state["1.weight"] = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    model.load_state_dict(state)
    assert model[0].bias.tolist() == [1.0, 2.0, 3.0] and model[0].bias.dtype == np.float32
    assert model[1].num_batches_tracked.item() == 3 and model[1].num_batches_tracked.dtype == np.int64
    assert model[0].weight.tolist() == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]


def test_a_bool_buffer_takes_only_zeros_and_ones():
    module = nn.Module()
    module.register_buffer("mask", tn.tensor([True, False]))
    module.load_state_dict({"mask": np.array([0, 1])})
    assert module.mask.tolist() == [False, True]
    with pytest.raises(RuntimeError, match="other than 0 and 1"):
        module.load_state_dict({"mask": np.array([0, 2])})
    assert module.mask.tolist() == [False, True]


def test_loading_is_an_in_place_change_as_in_torch():
    ours, theirs = nn.Linear(2, 2), torch.nn.Linear(2, 2)
    assert ours.weight._version == theirs.weight._version  # the init, in place
    ours.load_state_dict(theirs.state_dict())
    theirs.load_state_dict(theirs.state_dict())
    assert ours.weight._version == theirs.weight._version == 2
    x = tn.ones(1, 2)
    y = ours(x)
    ours.load_state_dict(ours.state_dict())  # a model changed between forward and backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
