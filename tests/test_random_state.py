"""`random.get_state` / `set_state`: restoring a state replays every random draw (sampling, initialization,
dropout masks, shuffling), through a checkpoint file too, and a bad state changes nothing."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm.data import DataLoader
from tinygrad_norm.random import get_state, set_state


def draws() -> list[np.ndarray]:
    """One of every kind of random draw the framework makes."""
    dropout = nn.Dropout(0.5)
    dropout.train()
    return [
        tn.randn(3, 4).numpy(),
        tn.rand(5, dtype="float64").numpy(),
        nn.Linear(4, 3).weight.numpy(),
        dropout(tn.ones(64)).numpy(),
        np.concatenate([labels.numpy() for _, labels in DataLoader((np.zeros(10), np.arange(10)), 3, shuffle=True)]),
    ]


def assert_same_draws(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.dtype == y.dtype and np.array_equal(x, y)


def test_set_state_replays_every_draw():
    tn.manual_seed(5)
    draws()
    state = get_state()
    expected = draws()
    assert not np.array_equal(expected[0], draws()[0])  # the state moved on
    set_state(state)
    assert_same_draws(draws(), expected)


def test_the_state_is_plain_data_that_a_checkpoint_keeps_exactly(tmp_path):
    tn.manual_seed(2**64 - 1)
    draws()
    state = get_state()
    assert json.loads(json.dumps(state)) == state
    expected = draws()
    tn.save({"rng": state}, tmp_path / "rng.pt")
    draws()
    set_state(tn.load(tmp_path / "rng.pt")["rng"])
    assert_same_draws(draws(), expected)


def test_get_state_is_a_copy():
    state = get_state()
    frozen = copy.deepcopy(state)
    draws()
    assert state == frozen


def _with(path: tuple, value):
    state = get_state()
    node = state
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return state


BAD_STATES = [
    _with(("dropout_offset",), -1),
    _with(("dropout_seed",), 2**64),
    _with(("dropout_seed",), True),
    _with(("dropout_offset",), 1.0),
    _with(("generator", "bit_generator"), "MT19937"),
    _with(("generator", "state", "state"), 2**128),
    _with(("generator", "state", "inc"), "1"),
    _with(("generator", "has_uint32"), 2),
    _with(("generator", "uinteger"), -1),
    _with(("generator", "state"), [1, 2]),
    {"generator": get_state()["generator"], "dropout_seed": 1},
    {**get_state(), "extra": 1},
]


@pytest.mark.parametrize("state", BAD_STATES, ids=range(len(BAD_STATES)))
def test_a_bad_state_raises_and_changes_nothing(state):
    tn.manual_seed(3)
    expected = draws()
    tn.manual_seed(3)
    with pytest.raises(ValueError, match="set_state: state"):
        set_state(state)
    assert_same_draws(draws(), expected)


def test_a_state_that_is_not_a_dict_raises_type_error():
    with pytest.raises(TypeError, match="dict from get_state"):
        set_state([1, 2])
