"""train-eval-gap: BatchNorm's running statistics against the batch statistics it trains with.

The MLP of `tinygrad-norm train` (two hidden layers of 256 units, Linear - BatchNorm1d - ReLU) is trained for
EPOCHS epochs with Adam at batch sizes 8, 32 and 128, with BatchNorm's momentum (PyTorch's convention: the
weight of the new batch, running = (1 - momentum)·running + momentum·batch) from 0.001 to 0.3, and 0.997.
Training itself never reads the running statistics, so for one seed and batch size every momentum trains the
very same weights: what differs is only what eval mode normalizes with.

Two classic mistakes are on the plot. Momentum 0.997 is what a port from the other convention (0.997 meaning
"keep 99.7 %", TensorFlow's and many hand-written layers') gives when passed to PyTorch unchanged: the running
statistics become those of the last training batch. The right translation is 0.003. The other mistake is to
evaluate in train mode: each test batch (of the training batch size) is normalized with its own statistics
(and the running statistics are overwritten along the way), which depends on which test images share a batch.

The second panel says why: the relative error of the first BatchNorm's running variance against the variance
of its input over the whole training set, under the final weights.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, random
from ..autograd import no_grad
from ..cli import loop
from ..cli.models import build_model
from ..data import DataLoader
from ..tensor import Tensor
from .results import Curve, Panel, Result
from .settings import Settings

BATCH_SIZES = (8, 32, 128)
MOMENTA = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 0.997)
EPOCHS, LR = 5, 1e-3


@no_grad()
def train_mode_accuracy(model, images: np.ndarray, labels: np.ndarray, batch_size: int) -> float:
    """The mistake: test batches of `batch_size` pushed through the model in train mode."""
    model.train()
    correct = sum(
        int((model(Tensor(images[i : i + batch_size])).data.argmax(axis=1) == labels[i : i + batch_size]).sum())
        for i in range(0, len(images) - batch_size + 1, batch_size)
    )
    return correct / (len(images) // batch_size * batch_size)


def running_var_error(model, images: np.ndarray) -> float:
    """Mean over features of |running_var - var| / var for the first BatchNorm, var over `images`' inputs to it."""
    linear = next(module for module in model if isinstance(module, nn.Linear))
    batch_norm = next(module for module in model if isinstance(module, nn.BatchNorm1d))
    inputs = loop.outputs(linear, images.reshape(len(images), -1))
    var = inputs.var(axis=0, ddof=1)
    return float(np.mean(np.abs(batch_norm.running_var.data - var) / var))


def train_one(data, batch_size: int, momentum: float, epochs: int, seed: int, bar) -> tuple[float, float, float]:
    """(eval-mode test accuracy, train-mode test accuracy, running-variance error)."""
    (train_x, train_y), (test_x, test_y) = data
    random.manual_seed(seed)
    model = build_model("mlp", "batch", 0.0, train_x.shape[1:], int(train_y.max()) + 1)
    for module in model:
        if isinstance(module, nn.BatchNorm1d):
            module.momentum = momentum
    optimizer = optim.Adam(model.parameters(), lr=LR)
    loader = DataLoader((train_x, train_y), batch_size=batch_size, shuffle=True, drop_last=True)
    loop.train_epoch(model, loop.repeat(loader, epochs * len(loader)), optimizer, progress=bar)
    eval_accuracy = loop.accuracy(model, test_x, test_y)
    error = running_var_error(model, train_x)
    return eval_accuracy, train_mode_accuracy(model, test_x, test_y, batch_size), error


def run(settings: Settings) -> Result:
    name, train, test = settings.data()
    epochs = settings.size(1, EPOCHS)
    if settings.quick:  # a tenth of the training set: one step at batch 128
        train = (train[0][::10], train[1][::10])
    bar = settings.bar(len(MOMENTA) * settings.seeds * epochs * sum(len(train[1]) // b for b in BATCH_SIZES))
    accuracy, errors, table = [], [], []
    for index, batch_size in enumerate(BATCH_SIZES):
        runs = np.array(
            [
                [train_one((train, test), batch_size, m, epochs, seed, bar) for m in MOMENTA]
                for seed in range(settings.seeds)
            ]
        )  # (seeds, momenta, 3)
        accuracy.append(Curve(f"batch {batch_size}, eval mode", MOMENTA, 100 * runs[:, :, 0], color=f"C{index}"))
        accuracy.append(Curve(f"batch {batch_size}, train mode", MOMENTA, 100 * runs[:, :, 1], True, f"C{index}"))
        errors.append(Curve(f"batch {batch_size}", MOMENTA, runs[:, :, 2], color=f"C{index}"))
        means = runs.mean(axis=0)
        table.append(
            {
                "batch": batch_size,
                **{f"eval acc % at {m:g}": 100 * means[i, 0] for i, m in enumerate(MOMENTA)},
                "train-mode acc %": 100 * means[:, 1].mean(),
            }
        )
    bar.close()
    marks = [(0.003, "0.997 'keep', translated"), (0.1, "PyTorch default"), (0.997, "0.997 passed unchanged")]
    common = {"xlabel": "BatchNorm momentum (PyTorch's convention)", "xscale": "log", "marks": marks}
    return Result(
        f"train-eval-gap: BatchNorm's running statistics after {epochs} epoch{'s' * (epochs > 1)} "
        f"({name}, {settings.seeds} seeds)",
        [
            Panel("test accuracy", ylabel="test accuracy (%)", curves=accuracy, **common),
            Panel(
                "first BatchNorm: running var vs the training set's",
                ylabel="mean relative error",
                curves=errors,
                yscale="log",
                **common,
            ),
        ],
        table,
        columns=2,
    )
