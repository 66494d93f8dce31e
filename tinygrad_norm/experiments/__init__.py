"""Experiments that turn the standard claims about normalization and dropout into plots with their numbers.

Each experiment is a module with `run(settings: Settings) -> Result`; `tinygrad-norm experiment NAME` runs one,
writes its PNG and CSV and prints its table. The modules are imported only when an experiment runs.

    from tinygrad_norm.experiments import load, Settings
    result = load("batch-size").run(Settings(quick=True, seeds=2))
"""

from __future__ import annotations

import importlib
from types import ModuleType

from .results import Curve, Panel, Result
from .settings import Settings

# name -> (module, one line)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "bn-convergence": (
        "bn_convergence",
        "Ioffe & Szegedy's Fig. 1: a sigmoid MLP with and without BatchNorm, accuracy and a unit's input over training",
    ),
    "batch-size": (
        "batch_size",
        "Wu & He's Fig. 1 in miniature: test error of Batch-, Group-, Layer- and InstanceNorm at batch 32 down to 2",
    ),
    "dropout-overfit": (
        "dropout_overfit",
        "an MLP that overfits 200 digits: the train-test gap with dropout 0, 0.2, 0.5, L1, L2 and AdamW's decay",
    ),
    "gradient-flow": (
        "gradient_flow",
        "per-layer gradient norms of a 12-layer MLP at initialization and after training, with each norm",
    ),
    "train-eval-gap": (
        "train_eval_gap",
        "BatchNorm's running statistics: eval accuracy against momentum and batch size, and two classic mistakes",
    ),
    "written-by-hand": (
        "written_by_hand",
        "a numpy BatchNorm2d with one switch per classic mistake: what gradcheck says, and its training curve",
    ),
}


def load(name: str) -> ModuleType:
    """The module of experiment `name` (a key of EXPERIMENTS)."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}: choose one of {', '.join(EXPERIMENTS)}")
    return importlib.import_module(f"{__name__}.{EXPERIMENTS[name][0]}")


__all__ = ["EXPERIMENTS", "Curve", "Panel", "Result", "Settings", "load"]
