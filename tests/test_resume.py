"""What a checkpoint must hold for resuming to be exact: training 4 epochs straight and training 2, saving,
then loading in a new process and training 2 more give bit-identical weights and losses (shuffling without a
seed, dropout and BatchNorm's running statistics included; plain SGD written out so only this package's
pieces are under test)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

import tinygrad_norm as tn

TRAIN = """
import sys
import numpy as np
import tinygrad_norm as tn
from tinygrad_norm import nn
from tinygrad_norm.data import DataLoader, MEAN_STD, load_digits, normalize

start, stop, resume, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
images, labels = load_digits()
images = normalize(images[:300], *MEAN_STD["digits"])
tn.manual_seed(0)
layers = [nn.Flatten(), nn.Linear(64, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10)]
model = nn.Sequential(*layers)
loader = DataLoader((images, labels[:300]), batch_size=32, shuffle=True)
losses = []
if resume != "-":
    checkpoint = tn.load(resume)
    model.load_state_dict(checkpoint["model"])
    tn.random.set_state(checkpoint["rng"])
    losses = checkpoint["losses"]
model.train()
for epoch in range(start, stop):
    for x, y in loader:
        loss = nn.functional.cross_entropy(model(x), y)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.1 * p.grad.data
        losses.append(loss.item())
tn.save({"model": model.state_dict(), "rng": tn.random.get_state(), "losses": losses, "epoch": stop}, out)
"""


def train(start: int, stop: int, resume, out) -> None:
    subprocess.run([sys.executable, "-c", TRAIN, str(start), str(stop), str(resume), str(out)], check=True)


def test_two_plus_two_epochs_through_a_checkpoint_equal_four_straight(tmp_path):
    train(0, 4, "-", tmp_path / "straight.pt")
    train(0, 2, "-", tmp_path / "half.pt")
    train(2, 4, tmp_path / "half.pt", tmp_path / "resumed.pt")
    straight, resumed = tn.load(tmp_path / "straight.pt"), tn.load(tmp_path / "resumed.pt")
    assert resumed["epoch"] == 4 and len(resumed["losses"]) == 4 * 10
    assert resumed["losses"] == straight["losses"]
    for name, weight in straight["model"].items():
        assert weight.tobytes() == resumed["model"][name].tobytes(), name
    assert resumed["rng"] == straight["rng"]
    half = tn.load(tmp_path / "half.pt")
    assert not np.array_equal(half["model"]["1.weight"], straight["model"]["1.weight"])  # training moved on
