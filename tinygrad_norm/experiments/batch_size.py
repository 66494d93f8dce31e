"""batch-size: Wu & He (2018, arXiv:1803.08494), Fig. 1 in miniature: test error against the batch size.

Each network is trained for the same number of epochs at per-step batch sizes 32, 16, 8, 4 and 2 by SGD with
momentum 0.9 and a learning rate scaled linearly with the batch size (LR_AT_32 · B / 32, as the paper does),
dropping the last incomplete batch of each epoch, then evaluated in eval mode (BatchNorm with its running
statistics). Two networks:

    cnn    the CNN of `tinygrad-norm train --model cnn` (3×3 convolutions of 32 and 64 channels, each followed by
           the norm, ReLU and 2×2 max-pooling, then a linear classifier) with BatchNorm2d, GroupNorm (8 groups),
           LayerNorm (one group over C, H, W) or InstanceNorm2d; its norms see 8×8 and 4×4 maps of the digits
    deep   convolution blocks (conv, norm, ReLU, pool) that halve the maps down to 1×1, then one more block at
           1×1, so its last norm sees one value per channel and sample: with BatchNorm at batch B, a statistic
           over B values. InstanceNorm is undefined there and left out.

What a batch statistic averages over is N·H·W values per channel: the first network keeps that at 32 or more
even at batch 2; the second brings it down to the batch size itself.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, random
from ..cli import loop
from ..cli.models import build_model, norm_layer
from ..data import DataLoader
from .results import Curve, Panel, Result
from .settings import Settings

BATCH_SIZES = (32, 16, 8, 4, 2)
NORMS = {"batch": "BatchNorm", "group": "GroupNorm", "layer": "LayerNorm", "instance": "InstanceNorm"}
DEEP_NORMS = ("batch", "group", "layer")
LR_AT_32 = 0.05
MOMENTUM = 0.9
DEEP_WIDTHS = (32, 64, 128)  # then 128 for every further block


def deep_cnn(norm: str, image_shape: tuple[int, int, int], classes: int) -> nn.Sequential:
    """Blocks of conv 3×3 - norm - ReLU - max-pool halving the maps until they are 1×1, then one more block
    (conv - norm - ReLU) at 1×1, then a linear classifier."""
    channels, size, _ = image_shape
    layers: list[nn.Module] = []
    block = 0
    while True:
        width = DEEP_WIDTHS[min(block, len(DEEP_WIDTHS) - 1)]
        layers += [nn.Conv2d(channels, width, 3, padding=1), norm_layer(norm, (width, size, size)), nn.ReLU()]
        channels, block = width, block + 1
        if size == 1:
            return nn.Sequential(*layers, nn.Flatten(), nn.Linear(channels, classes))
        layers.append(nn.MaxPool2d(2))
        size //= 2


def test_error(network: str, norm: str, data, batch_size: int, epochs: int, seed: int, bar) -> float:
    (train_x, train_y), (test_x, test_y) = data
    random.manual_seed(seed)
    classes = int(train_y.max()) + 1
    if network == "cnn":
        model = build_model("cnn", norm, 0.0, train_x.shape[1:], classes)
    else:
        model = deep_cnn(norm, train_x.shape[1:], classes)
    optimizer = optim.SGD(model.parameters(), lr=LR_AT_32 * batch_size / 32, momentum=MOMENTUM)
    loader = DataLoader((train_x, train_y), batch_size=batch_size, shuffle=True, drop_last=True)
    loop.train_epoch(model, loop.repeat(loader, epochs * len(loader)), optimizer, progress=bar)
    return 1.0 - loop.accuracy(model, test_x, test_y)


def run(settings: Settings) -> Result:
    name, train, test = settings.data()
    if settings.quick:  # a fortieth of the training set: one step at batch 32
        train = (train[0][::40], train[1][::40])
    networks = {  # network -> (its norms, epochs, panel title)
        "cnn": (tuple(NORMS), settings.size(1, 4), "the CNN of `train` (norms on 8×8 and 4×4 maps)"),
        "deep": (DEEP_NORMS, settings.size(1, 3), "a deeper CNN whose last norm sees 1×1 maps"),
    }
    per_epoch = sum(len(train[1]) // b for b in BATCH_SIZES) * settings.seeds
    bar = settings.bar(sum(len(norms) * epochs * per_epoch for norms, epochs, _ in networks.values()))
    panels, table = [], []
    for network, (norms, epochs, title) in networks.items():
        curves = []
        for norm in norms:
            errors = 100 * np.array(
                [
                    [test_error(network, norm, (train, test), b, epochs, seed, bar) for b in BATCH_SIZES]
                    for seed in range(settings.seeds)
                ]
            )
            curves.append(Curve(NORMS[norm], BATCH_SIZES, errors))
            means = errors.mean(axis=0)
            table.append(
                {"network": network, "norm": NORMS[norm], **{f"error % at {b}": m for b, m in zip(BATCH_SIZES, means)}}
            )
        panels.append(
            Panel(
                f"{title}, {epochs} epochs",
                "batch size per step",
                "test error (%)",
                curves,
                xscale="log2",
                xticks=BATCH_SIZES,
                invert_x=True,
            )
        )
    bar.close()
    return Result(
        f"batch-size: test error against batch size, lr = {LR_AT_32}·B/32 ({name}, {settings.seeds} seeds)",
        panels,
        table,
        columns=2,
    )
