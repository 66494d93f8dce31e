"""written-by-hand: the classic mistakes of a hand-written BatchNorm2d, judged by gradcheck and by training.

The layer and its switches are in hand_batchnorm.py. For the correct layer and for each switch:

  * `tinygrad_norm.gradcheck` in float64 on x (3, 4, 5, 4), weight and bias, once in train mode and once in eval
    mode (after one training batch, so the running statistics are not the initial ones), and on dropout(tanh(x))
    with a fixed mask: the one place where the dropout's in-place write can hurt, a saved output of the layer
    before it (tanh keeps y for its backward, 1 - y²);
  * whether its running statistics after three training batches and one eval batch equal those of our
    nn.BatchNorm2d fed the same batches: the momentum mistakes change no gradient, only these;
  * a training curve beside our nn.BatchNorm2d and nn.Dropout in the same small CNN:

        conv 3×3 (C channels) - BatchNorm - ReLU - max-pool 2 - Linear(64) - tanh - dropout 0.5 - Linear

    with C = the image width, so that "nhwc-axes" (sums over the axes of an (N, H, W, C) layout applied to
    (N, C, H, W) data) runs without a shape error, as it does in a course's square feature maps; with C ≠ W its
    weight gradient would have the wrong shape and fail at once. SGD with momentum 0.9, lr 0.05, batch 32, the
    test accuracy in eval mode every few steps, EVAL_CHUNK test images per call (which matters only to a
    layer that updates its statistics in eval mode).
"""

from __future__ import annotations

import re

import numpy as np

from .. import nn, optim, random
from ..cli import loop
from ..data import DataLoader
from ..gradcheck import GradcheckError, gradcheck
from ..tensor import Tensor
from .hand_batchnorm import MISTAKES, BatchNormFunction, DropoutFunction, HandBatchNorm2d, HandDropout
from .results import Curve, Panel, Result
from .settings import Settings

CHECK_SHAPE = (3, 4, 5, 4)  # (N, C, H, W) with C = W: "nhwc-axes" needs it to run at all
HIDDEN, P, BATCH, LR, MOMENTUM = 64, 0.5, 32, 0.05, 0.9
EVAL_CHUNK = 20  # test images per eval-mode call, as a served model sees them: a few at a time
CONFIGS = {"correct": frozenset(), **{name: frozenset({name}) for name in MISTAKES}}
INPUT_NAMES = ("x", "weight", "bias")


def _verdict(check) -> str:
    """'passes', or 'fails: d<input> <backward>, differences <central differences>' at gradcheck's worst element."""
    try:
        check()
        return "passes"
    except GradcheckError as error:
        message = str(error)
        position = int(re.search(r"input (\d+)", message).group(1))
        backward, differences = map(float, re.search(r"gave (\S+), central differences give (\S+)", message).groups())
        return f"fails: d{INPUT_NAMES[position]} {backward:.3g}, differences {differences:.3g}"


def _check_inputs(seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    rng = np.random.default_rng(seed)
    channels = CHECK_SHAPE[1]
    x = Tensor(rng.normal(0.5, 2.0, CHECK_SHAPE), requires_grad=True)
    weight = Tensor(rng.uniform(0.5, 1.5, channels), requires_grad=True)
    bias = Tensor(rng.normal(0, 1, channels), requires_grad=True)
    return x, weight, bias


def gradchecks(mistakes: frozenset[str]) -> dict[str, str]:
    """gradcheck's verdict on the layer with `mistakes` in train mode, in eval mode, and on its dropout."""
    x, weight, bias = _check_inputs()
    verdicts = {}
    for mode in ("train", "eval"):
        layer = HandBatchNorm2d(CHECK_SHAPE[1], mistakes)
        layer(Tensor(_check_inputs(seed=1)[0].data))  # one training batch first
        layer.train(mode == "train")

        def batch_norm(x, weight, bias, layer=layer):  # float64 weight and bias in place of the layer's own
            return BatchNormFunction.apply(x, weight, bias, layer=layer)

        verdicts[mode] = _verdict(lambda: gradcheck(batch_norm, x, weight, bias))
    in_place = "dropout-in-place" in mistakes
    verdicts["dropout"] = _verdict(
        lambda: gradcheck(lambda x: DropoutFunction.apply(x.tanh(), p=P, seed=0, in_place=in_place), x)
    )
    return verdicts


def running_stats_agree(mistakes: frozenset[str], seed: int = 0) -> bool:
    """Whether the layer's running statistics equal nn.BatchNorm2d's after 3 training batches and 1 eval batch."""
    rng = np.random.default_rng(seed)
    batches = [rng.normal(rng.uniform(-1, 1), rng.uniform(0.5, 2), CHECK_SHAPE) for _ in range(4)]
    hand, ours = HandBatchNorm2d(CHECK_SHAPE[1], mistakes), nn.BatchNorm2d(CHECK_SHAPE[1]).double()
    for i, batch in enumerate(batches):
        for layer in (hand, ours):
            layer.train(i < 3)
            layer(Tensor(batch))
    return bool(
        np.allclose(hand.running_mean, ours.running_mean.numpy(), rtol=1e-6, atol=1e-9)
        and np.allclose(hand.running_var, ours.running_var.numpy(), rtol=1e-6, atol=1e-9)
    )


def build(image_shape: tuple[int, int, int], classes: int, mistakes: frozenset[str] | None, seed: int) -> nn.Module:
    """The small CNN with our layers (mistakes None) or the hand-written ones with `mistakes`."""
    in_channels, height, width = image_shape
    channels = width
    if mistakes is None:
        norm, dropout = nn.BatchNorm2d(channels), nn.Dropout(P)
    else:
        norm, dropout = HandBatchNorm2d(channels, mistakes), HandDropout(P, "dropout-in-place" in mistakes, seed)
    return nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1), norm, nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(channels * (height // 2) * (width // 2), HIDDEN), nn.Tanh(), dropout,
        nn.Linear(HIDDEN, classes),
    )  # fmt: skip


def train_one(data, mistakes: frozenset[str] | None, steps: int, interval: int, seed: int, bar) -> np.ndarray:
    """Test accuracy at steps 0, interval, 2·interval, ..., steps."""
    (train_x, train_y), (test_x, test_y) = data
    random.manual_seed(seed)
    model = build(train_x.shape[1:], int(train_y.max()) + 1, mistakes, seed)
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    accuracies: list[float] = []

    def measure() -> None:
        chunks = range(0, len(test_y), EVAL_CHUNK)
        correct = sum(
            int((loop.predict(model, test_x[i : i + EVAL_CHUNK]) == test_y[i : i + EVAL_CHUNK]).sum()) for i in chunks
        )
        accuracies.append(correct / len(test_y))

    measure()
    loader = DataLoader((train_x, train_y), batch_size=BATCH, shuffle=True, seed=seed)  # same order for every layer
    loop.train_epoch(
        model, loop.repeat(loader, steps), optimizer, after_step=loop.every(interval, measure), progress=bar
    )
    return np.array(accuracies)


def _short(verdicts: dict[str, str]) -> str:
    failing = [check for check, verdict in verdicts.items() if verdict != "passes"]
    return "gradcheck passes" if not failing else "gradcheck fails: " + ", ".join(failing)


def run(settings: Settings) -> Result:
    name, train, test = settings.data()
    steps, interval = settings.size((20, 5), (600, 25))
    points = list(range(0, steps + 1, interval))
    bar = settings.bar((len(CONFIGS) + 1) * settings.seeds * steps)

    def curves(mistakes):
        return np.array(
            [train_one((train, test), mistakes, steps, interval, seed, bar) for seed in range(settings.seeds)]
        )

    ours = curves(None)
    panels, table = [], []
    for config, mistakes in CONFIGS.items():
        verdicts = gradchecks(mistakes)
        agree = running_stats_agree(mistakes)
        hand = curves(mistakes)
        note = f"{_short(verdicts)}\nrunning stats {'match' if agree else 'differ from'} ours"
        panels.append(
            Panel(
                config if mistakes else "correct (no switch)",
                "training step",
                "test accuracy",
                [Curve("ours", points, ours, color="0.55"), Curve("by hand", points, hand)],
                note=note,
            )
        )
        table.append(
            {
                "switch": config,
                "gradcheck train": verdicts["train"],
                "gradcheck eval": verdicts["eval"],
                "gradcheck dropout": verdicts["dropout"],
                "running stats": "match" if agree else "differ",
                "test acc (by hand)": float(hand[:, -1].mean()),
                "test acc (ours)": float(ours[:, -1].mean()),
            }
        )
    bar.close()
    return Result(
        f"written-by-hand: a numpy BatchNorm2d, one switch per mistake, against ours (nn.BatchNorm2d, nn.Dropout) "
        f"({name}, {settings.seeds} seeds)",
        panels,
        table,
        columns=4,
        shared_legend=True,
    )
