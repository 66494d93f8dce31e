"""gradient-flow: per-layer gradient norms of a 12-layer MLP, without a norm, with each norm and with weight norm.

The MLP has DEPTH linear layers (DEPTH - 1 hidden layers of WIDTH units, each Linear - norm - ReLU) in PyTorch's
default initialization, whose weights U(±1/√fan_in) shrink the signal's variance about sixfold per ReLU layer.
A norm after each hidden Linear divides its input by the standard deviation σ in the forward pass and its
gradient by the same σ in the backward pass; weight norm (Salimans & Kingma 2016, arXiv:1602.07868)
reparametrizes each Linear's weight as g·v/‖v‖, either keeping the initial weights (g = ‖v‖, as
torch.nn.utils.weight_norm does) or with the paper's data-dependent initialization (g and the bias set so that
every unit's pre-activation has mean 0 and variance 1 on a first batch).

Measured on one fixed batch of training images, in training mode: the standard deviation of each Linear's
output at initialization, the norm ‖∂loss/∂W‖ of each layer's weight parameter (the direction v under weight
norm) at initialization and after training, and the loss during training (SGD, lr 0.01, momentum 0.9).
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, random
from ..autograd import no_grad
from ..cli import loop
from ..cli.models import norm_layer
from ..data import DataLoader
from ..tensor import Tensor
from .results import Curve, Panel, Result
from .settings import Settings

DEPTH, WIDTH, BATCH, PROBE = 12, 128, 64, 256
LR, MOMENTUM = 0.01, 0.9
VARIANTS = {  # label -> (norm after each hidden Linear, weight norm: None, "torch" or "data" initialization)
    "no norm": ("none", None),
    "BatchNorm": ("batch", None),
    "LayerNorm": ("layer", None),
    "GroupNorm": ("group", None),
    "RMSNorm": ("rms", None),
    "weight norm": ("none", "torch"),
    "weight norm, data init": ("none", "data"),
}


def build(in_features: int, classes: int, norm: str, weight_norm: str | None) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Flatten()]
    for _ in range(DEPTH - 1):
        linear = nn.Linear(in_features, WIDTH)
        layers += [nn.utils.weight_norm(linear) if weight_norm else linear, norm_layer(norm, (WIDTH,)), nn.ReLU()]
        in_features = WIDTH
    last = nn.Linear(WIDTH, classes)
    return nn.Sequential(*layers, nn.utils.weight_norm(last) if weight_norm else last)


def linears(model: nn.Sequential) -> list[nn.Linear]:
    return [module for module in model if isinstance(module, nn.Linear)]


def weight_parameter(linear: nn.Linear) -> Tensor:
    """What the optimizer updates for the weight: `weight`, or the direction `weight_v` under weight norm."""
    return linear.weight_v if hasattr(linear, "weight_v") else linear.weight


@no_grad()
def linear_output_stds(model: nn.Sequential, images: np.ndarray) -> list[float]:
    """Every Linear's output std over `images` (the σ a BatchNorm after it would see), averaged over its
    units, going through the model in train mode."""
    stds, h = [], Tensor(images)
    for module in model:
        h = module(h)
        if isinstance(module, nn.Linear):
            stds.append(float(h.data.std(axis=0).mean()))
    return stds


@no_grad()
def data_dependent_init(model: nn.Sequential, images: np.ndarray) -> None:
    """Salimans & Kingma's §3 initialization: layer by layer, g = 1/σ and b = -μ/σ of t = (v/‖v‖)·x on `images`,
    so every pre-activation starts with mean 0 and variance 1."""
    h = Tensor(images)
    for module in model:
        if isinstance(module, nn.Linear):
            t = module(h).data  # with g = ‖v‖, the output is v·x + b
            t = t - module.bias.data
            mean, std = t.mean(axis=0), t.std(axis=0)
            module.weight_g.data *= (1 / std).reshape(module.weight_g.shape)
            module.bias.data[...] = -mean / std
        h = module(h)


def gradient_norms(model: nn.Sequential, probe: tuple[np.ndarray, np.ndarray]) -> tuple[list[float], float]:
    """(‖∂loss/∂weight‖ per Linear, loss) on the probe batch, in train mode; leaves no gradient behind."""
    model.train()
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(Tensor(probe[0])), Tensor(probe[1]))
    loss.backward()
    norms = [float(np.linalg.norm(weight_parameter(linear).grad.data)) for linear in linears(model)]
    model.zero_grad()
    return norms, loss.item()


def train_one(train, variant: tuple, steps: int, interval: int, seed: int, bar) -> dict[str, np.ndarray]:
    norm, weight_norm = variant
    images, labels = train
    random.manual_seed(seed)
    model = build(int(np.prod(images.shape[1:])), int(labels.max()) + 1, norm, weight_norm)
    probe = (images[:PROBE], labels[:PROBE])
    if weight_norm == "data":
        data_dependent_init(model, probe[0])
    stds = linear_output_stds(model, probe[0])
    norms_at_init, loss = gradient_norms(model, probe)
    losses = [loss]
    optimizer = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)

    def measure() -> None:
        losses.append(gradient_norms(model, probe)[1])

    loader = DataLoader(train, batch_size=BATCH, shuffle=True)
    loop.train_epoch(
        model, loop.repeat(loader, steps), optimizer, after_step=loop.every(interval, measure), progress=bar
    )
    norms_after, _ = gradient_norms(model, probe)
    return {
        "std": np.array(stds),
        "init": np.array(norms_at_init),
        "trained": np.array(norms_after),
        "loss": np.array(losses),
    }


def run(settings: Settings) -> Result:
    name, train, _ = settings.data()
    steps, interval = settings.size((6, 3), (600, 20))
    layers = list(range(1, DEPTH + 1))
    points = list(range(0, steps + 1, interval))
    bar = settings.bar(len(VARIANTS) * settings.seeds * steps)
    curves: dict[str, list[Curve]] = {"std": [], "init": [], "trained": [], "loss": []}
    table = []
    for label, variant in VARIANTS.items():
        runs = [train_one(train, variant, steps, interval, seed, bar) for seed in range(settings.seeds)]
        for key in curves:
            curves[key].append(Curve(label, points if key == "loss" else layers, np.array([r[key] for r in runs])))
        init = np.array([r["init"] for r in runs]).mean(axis=0)
        trained = np.array([r["trained"] for r in runs]).mean(axis=0)
        table.append(
            {
                "network": label,
                "layer 1 / layer 12 grad at init": init[0] / init[-1],
                "after training": trained[0] / trained[-1],
                "loss at start": float(np.mean([r["loss"][0] for r in runs])),
                f"loss at step {steps}": float(np.mean([r["loss"][-1] for r in runs])),
            }
        )
    bar.close()
    per_layer = {"xlabel": "layer (1 = input side)", "yscale": "log", "xticks": layers}
    return Result(
        f"gradient-flow: a {DEPTH}-layer ReLU MLP of width {WIDTH} ({name}, {settings.seeds} seeds)",
        [
            Panel(
                "std over the batch of each Linear's output, at init", ylabel="std", curves=curves["std"], **per_layer
            ),
            Panel("‖∂loss/∂W‖ at initialization", ylabel="gradient norm", curves=curves["init"], **per_layer),
            Panel(f"‖∂loss/∂W‖ after {steps} steps", ylabel="gradient norm", curves=curves["trained"], **per_layer),
            Panel("loss on the probe batch", "training step", "cross-entropy", curves["loss"]),
        ],
        table,
        columns=2,
        shared_legend=True,
    )
