"""The shared training loop's helpers: `repeat` (train for a number of steps) and `outputs` (eval-mode outputs)."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_norm import data, nn
from tinygrad_norm.cli import loop


def test_repeat_yields_exactly_the_steps_over_passes():
    images = np.arange(10, dtype=np.float32)
    loader = data.DataLoader(images, batch_size=4)  # batches of 4, 4, 2
    batches = [batch.numpy() for batch in loop.repeat(loader, 5)]
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4]
    np.testing.assert_array_equal(batches[3], images[:4])
    assert list(loop.repeat(loader, 0)) == []


def test_repeat_refuses_a_loader_without_batches():
    loader = data.DataLoader(np.zeros(3, np.float32), batch_size=4, drop_last=True)
    with pytest.raises(ValueError, match="no batches"):
        list(loop.repeat(loader, 1))


def test_every_calls_its_action_after_every_nth_step():
    calls = []
    after_step = loop.every(3, lambda: calls.append(len(calls)))
    for _ in range(10):
        after_step()
    assert calls == [0, 1, 2]  # after steps 3, 6 and 9


def test_outputs_are_eval_mode_and_restore_the_mode():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.9))
    images = np.ones((2500, 3), np.float32)  # more than one evaluation batch
    out = loop.outputs(model, images)
    assert out.shape == (2500, 4) and model.training
    np.testing.assert_array_equal(out, np.broadcast_to(out[0], out.shape))  # no dropout
    np.testing.assert_array_equal(loop.predict(model, images), out.argmax(axis=1))
