"""dropout-overfit: Srivastava et al. (2014, JMLR 15) in miniature: regularizers against an MLP that overfits.

An MLP 64-512-512-10 with ReLU (dropout after each hidden layer) has 300,000 weights for TRAIN_SIZE training
images: it fits them exactly within a few epochs. Each variant trains with Adam (lr 1e-3, batch 20) and one
regularizer: none, dropout p = 0.2 or 0.5, an L1 penalty λ·Σ|w| or an L2 penalty λ·Σw² on the weight matrices
added to the loss, or AdamW's decoupled weight decay of the weight matrices. After every epoch, in eval mode:
accuracy and cross-entropy on the training subset and on the whole test set.
"""

from __future__ import annotations

import numpy as np

from .. import nn, optim, random
from ..cli import loop
from ..data import DataLoader
from ..tensor import Tensor
from .results import Curve, Panel, Result
from .settings import Settings

TRAIN_SIZE, HIDDEN, BATCH, LR = 200, 512, 20, 1e-3
L1, L2, DECAY = 3e-4, 3e-3, 1.0
VARIANTS = {  # label -> (dropout p, regularizer, strength)
    "none": (0.0, None, 0.0),
    "dropout 0.2": (0.2, None, 0.0),
    "dropout 0.5": (0.5, None, 0.0),
    f"L1 {L1:g}": (0.0, "l1", L1),
    f"L2 {L2:g}": (0.0, "l2", L2),
    f"AdamW decay {DECAY:g}": (0.0, "decay", DECAY),
}


def build(in_features: int, classes: int, p: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(in_features, HIDDEN), nn.ReLU(), nn.Dropout(p),
        nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Dropout(p),
        nn.Linear(HIDDEN, classes),
    )  # fmt: skip


def scores(model: nn.Module, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """(accuracy, mean cross-entropy) in eval mode."""
    logits = loop.outputs(model, images)
    loss = nn.functional.cross_entropy(Tensor(logits), Tensor(labels)).item()
    return float((logits.argmax(axis=1) == labels).mean()), loss


def train_one(data, variant: tuple, epochs: int, seed: int, bar) -> np.ndarray:
    """(epochs, 4): train accuracy, test accuracy, train loss, test loss after each epoch."""
    (train_x, train_y), (test_x, test_y) = data
    p, regularizer, strength = variant
    random.manual_seed(seed)
    model = build(int(np.prod(train_x.shape[1:])), int(train_y.max()) + 1, p)
    weights = [param for param in model.parameters() if param.ndim >= 2]
    if regularizer == "decay":
        others = [param for param in model.parameters() if param.ndim < 2]
        groups = [{"params": weights, "weight_decay": strength}, {"params": others, "weight_decay": 0.0}]
        optimizer = optim.AdamW(groups, lr=LR)
    else:
        optimizer = optim.Adam(model.parameters(), lr=LR)
    penalties = {"l1": nn.utils.l1_penalty, "l2": nn.utils.l2_penalty}
    penalty = (lambda: strength * penalties[regularizer](weights)) if regularizer in penalties else None
    loader = DataLoader((train_x, train_y), batch_size=BATCH, shuffle=True)
    history = []
    for _ in range(epochs):
        loop.train_epoch(model, loader, optimizer, penalty, progress=bar)
        (train_accuracy, train_loss), (test_accuracy, test_loss) = scores(model, *data[0]), scores(model, *data[1])
        history.append((train_accuracy, test_accuracy, train_loss, test_loss))
    return np.array(history)


def run(settings: Settings) -> Result:
    name, (train_x, train_y), test = settings.data()
    train = (train_x[:TRAIN_SIZE], train_y[:TRAIN_SIZE])
    epochs = settings.size(2, 100)
    x = list(range(1, epochs + 1))
    bar = settings.bar(len(VARIANTS) * settings.seeds * epochs * -(-TRAIN_SIZE // BATCH))
    gap, test_accuracy, loss_gap, table = [], [], [], []
    for label, variant in VARIANTS.items():
        runs = np.array([train_one((train, test), variant, epochs, seed, bar) for seed in range(settings.seeds)])
        gap.append(Curve(label, x, 100 * (runs[:, :, 0] - runs[:, :, 1])))
        test_accuracy.append(Curve(label, x, 100 * runs[:, :, 1]))
        loss_gap.append(Curve(label, x, runs[:, :, 3] - runs[:, :, 2]))
        final = runs[:, -1].mean(axis=0)
        table.append(
            {
                "regularizer": label,
                "train acc %": 100 * final[0],
                "test acc %": 100 * final[1],
                "gap %": 100 * (final[0] - final[1]),
                "train loss": final[2],
                "test loss": final[3],
            }
        )
    bar.close()
    settled = [curve.mean[epochs // 10 :] for curve in test_accuracy]  # past the first epochs' climb
    zoom = (float(np.floor(min(map(min, settled)))) - 1, float(np.ceil(max(map(max, settled)))) + 1)
    where = f"{TRAIN_SIZE} training images of {name}"
    return Result(
        f"dropout-overfit: an MLP with 300k weights on {where} ({settings.seeds} seeds)",
        [
            Panel("train − test accuracy (eval mode)", "epoch", "gap (percentage points)", gap),
            Panel("test accuracy", "epoch", "test accuracy (%)", test_accuracy, ylim=zoom),
            Panel("test − train cross-entropy", "epoch", "loss gap", loss_gap),
        ],
        table,
    )
