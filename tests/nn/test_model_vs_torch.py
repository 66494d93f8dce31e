"""A small CNN made of the non-normalization layers: torch's state_dict loads into ours and both give
the same logits, loss and gradients, and stay together over a few hand-written SGD steps."""

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn

torch = pytest.importorskip("torch")

from .torch_helpers import assert_close, compare_forward_backward, compare_named_tensors  # noqa: E402

# Ten layers and three SGD steps add a few ulps each: float32 logits and gradients of size ~0.1
# differ from torch's by ~3e-8, float64 ones by ~1e-16, well inside these bounds.
TOLERANCE = {np.float32: (1e-5, 1e-6), np.float64: (1e-10, 1e-13)}


def make_cnn(nn):
    """(N, 1, 12, 12) images -> (N, 10) logits."""
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),  # (N, 4, 12, 12)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 4, 6, 6)
        nn.Conv2d(4, 8, 3, stride=1),  # (N, 8, 4, 4)
        nn.ReLU(),
        nn.AvgPool2d(2),  # (N, 8, 2, 2)
        nn.Flatten(),  # (N, 32)
        nn.Linear(32, 16),
        nn.ReLU(),
        nn.Linear(16, 10),
    )


class WithLoss:
    """model + CrossEntropyLoss as one callable of (images, labels), for compare_forward_backward."""

    def __init__(self, model, loss):
        self.model, self.loss = model, loss

    def __call__(self, images, labels):
        return self.loss(self.model(images), labels)


def _models(dtype):
    torch.manual_seed(0)
    theirs = make_cnn(torch.nn)
    ours = make_cnn(nn)
    if dtype == np.float64:
        theirs.double(), ours.double()
    ours.load_state_dict({key: value.numpy() for key, value in theirs.state_dict().items()})
    return ours, theirs


def _batch(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((6, 1, 12, 12)).astype(dtype), rng.integers(0, 10, 6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_logits_and_all_gradients_match_torch(dtype):
    ours, theirs = _models(dtype)
    rtol, atol = TOLERANCE[dtype]
    images, _ = _batch(dtype)
    compare_forward_backward(ours, theirs, images, rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_loss_and_gradients_match_torch(dtype):
    ours, theirs = _models(dtype)
    rtol, atol = TOLERANCE[dtype]
    images, labels = _batch(dtype)
    ours_loss = WithLoss(ours, nn.CrossEntropyLoss())
    theirs_loss = WithLoss(theirs, torch.nn.CrossEntropyLoss())
    compare_forward_backward(ours_loss, theirs_loss, (images, labels), rtol=rtol, atol=atol)
    compare_named_tensors(ours.named_parameters(), theirs.named_parameters(), rtol, atol, grads=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cnn_trains_in_step_with_torch(dtype):
    ours, theirs = _models(dtype)
    rtol, atol = TOLERANCE[dtype]
    ours_loss, theirs_loss = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    for step in range(3):
        images, labels = _batch(dtype, seed=step)
        ours.zero_grad(), theirs.zero_grad()
        loss = ours_loss(ours(tn.tensor(images)), labels)
        expected = theirs_loss(theirs(torch.tensor(images)), torch.tensor(labels))
        assert_close(loss, expected, rtol, atol, f"loss at step {step}")
        loss.backward(), expected.backward()
        with torch.no_grad():
            for p, q in zip(ours.parameters(), theirs.parameters()):
                p.data -= 0.1 * p.grad.data
                q -= 0.1 * q.grad
    compare_named_tensors(ours.named_parameters(), theirs.named_parameters(), rtol, atol)


def test_cnn_state_dict_round_trips_through_torch():
    ours, _ = _models(np.float32)
    theirs = make_cnn(torch.nn)
    theirs.load_state_dict({key: torch.from_numpy(value) for key, value in ours.state_dict().items()})
    images, _ = _batch(np.float32)
    assert_close(ours(tn.tensor(images)), theirs(torch.tensor(images)), *TOLERANCE[np.float32])
