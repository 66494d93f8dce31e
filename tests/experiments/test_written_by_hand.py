"""The hand-written BatchNorm2d of `written-by-hand`: correct by default (it matches nn.BatchNorm2d and passes
gradcheck), and every mistake switch is found, by gradcheck or, for the momentum mistakes that change no
gradient, by comparing running statistics with nn.BatchNorm2d's."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_norm import Tensor, nn
from tinygrad_norm.experiments.hand_batchnorm import MISTAKES, HandBatchNorm2d, HandDropout
from tinygrad_norm.experiments.written_by_hand import gradchecks, running_stats_agree

# mistake -> (the gradcheck verdicts that must fail, as "check: d<input>"; whether running statistics agree)
FOUND_BY = {
    "times-std": ({"train": "dx", "eval": "dx"}, True),
    "bias-grad": ({"train": "dbias", "eval": "dbias"}, True),
    "nhwc-axes": ({"train": "dx", "eval": "dweight"}, True),
    "batch-divisor": ({"train": "dx"}, True),
    "eval-updates": ({"eval": "dx"}, False),
    "keep-momentum": ({}, False),
    "dropout-in-place": ({"dropout": "dx"}, True),
}


def test_every_mistake_has_an_expectation():
    assert set(FOUND_BY) == set(MISTAKES)


def test_the_correct_layer_passes_every_check():
    assert gradchecks(frozenset()) == {"train": "passes", "eval": "passes", "dropout": "passes"}
    assert running_stats_agree(frozenset())


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_each_mistake_is_found(mistake):
    failing, agree = FOUND_BY[mistake]
    verdicts = gradchecks(frozenset({mistake}))
    for check, verdict in verdicts.items():
        if check in failing:
            assert verdict.startswith(f"fails: {failing[check]} "), (check, verdict)
        else:
            assert verdict == "passes", (check, verdict)
    assert running_stats_agree(frozenset({mistake})) == agree
    assert failing or not agree  # every mistake is found by one check or the other


@pytest.mark.parametrize("training", [True, False])
def test_correct_layer_matches_nn_batchnorm2d(training):
    rng = np.random.default_rng(0)
    x_data = rng.normal(1.0, 3.0, (4, 3, 5, 6))
    dy = rng.normal(size=x_data.shape)
    first_batch = rng.normal(size=x_data.shape)
    hand, ours = HandBatchNorm2d(3), nn.BatchNorm2d(3).double()
    results = []
    for layer in (hand, ours):
        layer.weight.data[...] = [0.5, 1.0, 2.0]
        layer.bias.data[...] = [0.1, -0.2, 0.3]
        layer(Tensor(first_batch))  # one training batch moves the running statistics
        layer.train(training)
        x = Tensor(x_data.copy(), requires_grad=True)
        y = layer(x)
        (y * Tensor(dy)).sum().backward()
        results.append([y.numpy(), x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()])
    for hand_value, our_value in zip(*results):
        np.testing.assert_allclose(hand_value, our_value, rtol=1e-6, atol=1e-7)


def test_hand_dropout_is_identity_in_eval_and_scales_in_training():
    x = Tensor(np.ones((200, 50)))
    dropout = HandDropout(0.5, seed=3)
    y = dropout(x).numpy()
    assert set(np.unique(y)) == {0.0, 2.0} and abs((y == 0).mean() - 0.5) < 0.02
    assert np.all(x.numpy() == 1.0)  # the caller's array is left alone
    dropout.eval()
    assert dropout(x) is x


def test_in_place_dropout_changes_the_callers_array():
    x = Tensor(np.ones((20, 10)))
    HandDropout(0.5, in_place=True, seed=3)(x)
    assert set(np.unique(x.numpy())) == {0.0, 2.0}


def test_unknown_mistake_is_refused():
    with pytest.raises(ValueError, match="unknown mistakes"):
        HandBatchNorm2d(3, frozenset({"typo"}))
