"""bn-convergence: Ioffe & Szegedy (2015, arXiv:1502.03167), §4.1 and Fig. 1, in miniature.

An MLP of three hidden layers of 100 sigmoid units, with and without BatchNorm1d between each affine map and its
sigmoid, trained by plain SGD with the same learning rate on batches of 60. Every few steps: the test accuracy,
and the 15th, 50th and 85th percentiles over the test images of the input to one sigmoid of the last hidden
layer (unit 0; with BatchNorm, the normalized value the sigmoid sees). MNIST when its files are present,
else the bundled digits.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, random
from ..cli import loop
from ..data import DataLoader
from .results import Curve, Panel, Result
from .settings import Settings

HIDDEN, LAYERS, BATCH = 100, 3, 60
LR = 0.5
PERCENTILES = (15, 50, 85)
UNIT = 0


def build(in_features: int, classes: int, batch_norm: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(LAYERS):
        layers.append(nn.Linear(in_features, HIDDEN))
        if batch_norm:
            layers.append(nn.BatchNorm1d(HIDDEN))
        layers.append(nn.Sigmoid())
        in_features = HIDDEN
    return nn.Sequential(*layers, nn.Linear(HIDDEN, classes))


def train_one(data, batch_norm: bool, seed: int, steps: int, interval: int, bar):
    """(test accuracy, percentiles (len(PERCENTILES), points)) at steps 0, interval, 2·interval, ..., steps."""
    (train_x, train_y), (test_x, test_y) = data
    random.manual_seed(seed)
    model = build(int(np.prod(train_x.shape[1:])), int(train_y.max()) + 1, batch_norm)
    last_sigmoid = max(i for i, module in enumerate(model) if isinstance(module, nn.Sigmoid))
    probe = model[:last_sigmoid]  # the same modules, up to the input of the last sigmoid layer
    optimizer = optim.SGD(model.parameters(), lr=LR)
    accuracies, percentiles = [], []

    def measure() -> None:
        accuracies.append(loop.accuracy(model, test_x, test_y))
        percentiles.append(np.percentile(loop.outputs(probe, test_x)[:, UNIT], PERCENTILES))

    measure()
    loader = DataLoader((train_x, train_y), batch_size=BATCH, shuffle=True)
    loop.train_epoch(
        model, loop.repeat(loader, steps), optimizer, after_step=loop.every(interval, measure), progress=bar
    )
    return np.array(accuracies), np.array(percentiles).T


def run(settings: Settings) -> Result:
    name, train, test = settings.data(prefer="mnist")
    steps, interval = settings.size((60, 10), (3000, 50))
    points = list(range(0, steps + 1, interval))
    settled = int(np.searchsorted(points, steps // 10))  # from here on, how far does the median still move?
    bar = settings.bar(2 * settings.seeds * steps)
    accuracy_curves, percentile_panels, table = [], [], []
    for batch_norm, label in ((False, "without BatchNorm"), (True, "with BatchNorm")):
        runs = [train_one((train, test), batch_norm, seed, steps, interval, bar) for seed in range(settings.seeds)]
        accuracies = np.array([accuracy for accuracy, _ in runs])
        percentiles = np.array([p for _, p in runs])  # (seeds, len(PERCENTILES), points)
        accuracy_curves.append(Curve(label, points, accuracies))
        percentile_panels.append(
            Panel(
                f"input to a last-layer sigmoid, {label}",
                "training step",
                f"value at unit {UNIT} (percentiles over test images)",
                [Curve(f"{q}th percentile", points, percentiles[:, i]) for i, q in enumerate(PERCENTILES)],
            )
        )
        medians = percentiles[:, PERCENTILES.index(50), settled:]
        table.append(
            {
                "network": label,
                f"test acc at step {points[settled]}": float(accuracies[:, settled].mean()),
                f"test acc at step {steps}": float(accuracies[:, -1].mean()),
                f"median's range after step {points[settled]}": float((medians.max(1) - medians.min(1)).mean()),
            }
        )
    bar.close()
    low = min(curve.low.min() for panel in percentile_panels for curve in panel.curves)
    high = max(curve.high.max() for panel in percentile_panels for curve in panel.curves)
    for panel in percentile_panels:  # one scale for both, as the paper's Fig. 1(b, c)
        panel.ylim = (low - 0.05 * (high - low), high + 0.05 * (high - low))
    accuracy_panel = Panel(
        f"test accuracy, SGD lr {LR}, batch {BATCH}", "training step", "test accuracy", accuracy_curves
    )
    return Result(
        f"bn-convergence: an MLP of 3×{HIDDEN} sigmoids with and without BatchNorm ({name}, {settings.seeds} seeds)",
        [accuracy_panel, *percentile_panels],
        table,
    )
