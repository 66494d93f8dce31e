"""One epoch of training and an evaluation pass: the loop every command and experiment shares.

    for images, labels in loader:            # a shuffled pass over the training set
        loss = cross_entropy(model(images), labels) + penalty
        optimizer.zero_grad(); loss.backward(); optimizer.step()

Statistics of an epoch (mean loss, accuracy) are over the batches as they were trained, in training mode, as a
PyTorch loop usually reports them; `evaluate` runs the model in eval mode without recording a tape. Batches come
from host memory and are copied to `device`, the model's.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..devices import CPU, Device, copy_to
from ..optim import Optimizer
from ..tensor import Tensor

EVAL_BATCH = 1000


@dataclass
class EpochStats:
    loss: float  # mean cross-entropy over the epoch's samples (the penalty not included)
    accuracy: float
    seconds: float
    samples: int


def train_epoch(
    model: nn.Module,
    loader: Iterable[tuple[Tensor, Tensor]],
    optimizer: Optimizer,
    penalty: Callable[[], Tensor] | None = None,
    after_step: Callable[[], None] | None = None,
    progress=None,
    device: Device = CPU,
) -> EpochStats:
    """Train `model` (on `device`) on one pass of `loader` (or on `repeat(loader, steps)`). `penalty()` is added
    to each batch's loss (an L1 term, say); `after_step()` runs after each optimizer step (a per-step scheduler, a
    measurement); `progress` is a tqdm bar or None."""
    model.train()
    start = time.perf_counter()
    total_loss, correct, seen = 0.0, 0, 0
    for images, labels in loader:
        images, labels = images.to(device), labels.to(device)
        logits = model(images)
        loss = nn.functional.cross_entropy(logits, labels)
        objective = loss + penalty() if penalty is not None else loss
        optimizer.zero_grad()
        objective.backward()
        optimizer.step()
        if after_step is not None:
            after_step()
        n = len(labels)
        total_loss += loss.item() * n
        correct += int((logits.data.argmax(axis=1) == labels.data).sum())
        seen += n
        if progress is not None:
            elapsed = time.perf_counter() - start
            progress.set_postfix(loss=f"{total_loss / seen:.4f}", samples_per_s=f"{seen / elapsed:.0f}", refresh=False)
            progress.update()
    return EpochStats(total_loss / max(seen, 1), correct / max(seen, 1), time.perf_counter() - start, seen)


def repeat(loader: Iterable, steps: int) -> Iterator:
    """The first `steps` batches of as many passes over `loader` as they take: train for a number of steps
    rather than of epochs with `train_epoch(model, repeat(loader, steps), ...)`."""
    remaining = steps
    while remaining > 0:
        batches = 0
        for batch in itertools.islice(loader, remaining):
            batches += 1
            yield batch
        if batches == 0:
            raise ValueError("repeat: the loader yields no batches")
        remaining -= batches


def every(steps: int, action: Callable[[], object]) -> Callable[[], None]:
    """An `after_step` for `train_epoch` that calls `action()` after every `steps`-th step (a measurement)."""
    count = itertools.count(1)

    def after_step() -> None:
        if next(count) % steps == 0:
            action()

    return after_step


@no_grad()
def outputs(model: nn.Module, images: np.ndarray, device: Device = CPU) -> np.ndarray:
    """The model's output array for every image, in eval mode (running statistics, no dropout), in host memory;
    `device` is the model's."""
    was_training = model.training
    model.eval()
    try:
        batches = range(0, len(images), EVAL_BATCH)
        return np.concatenate(
            [copy_to(model(Tensor(images[i : i + EVAL_BATCH], device=device)).data, CPU, copy=False) for i in batches]
        )
    finally:
        model.train(was_training)


def predict(model: nn.Module, images: np.ndarray, device: Device = CPU) -> np.ndarray:
    """The predicted class of every image, in eval mode (running statistics, no dropout)."""
    return outputs(model, images, device).argmax(axis=1)


def accuracy(model: nn.Module, images: np.ndarray, labels: np.ndarray, device: Device = CPU) -> float:
    return float((predict(model, images, device) == labels).mean())


def confusion_matrix(predictions: np.ndarray, labels: np.ndarray, classes: int) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (labels, predictions), 1)
    return counts
