"""Dropout masks per process: each process draws its own, reproducibly from (seed, rank, epoch)."""

from __future__ import annotations

import numpy as np

from .. import random
from .world import rank


def seed_dropout(seed: int, epoch: int = 0) -> None:
    """Seed this process's dropout masks from (seed, its rank, epoch); the generator behind initialization and
    sampling stays as it is (the same on every process when they were seeded alike).

    Masks then differ between processes, as they would between the samples of one process's batch, and the masks
    of any epoch can be drawn again from the same three numbers: a resumed run needs no other process's state.
    """
    for name, value in (("seed", seed), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"seed_dropout: {name} must be an int, got {type(value).__name__}")
    if epoch < 0:
        raise ValueError(f"seed_dropout: epoch must be non-negative, got {epoch}")
    key = [int(seed) & (2**64 - 1), rank(), int(epoch)]
    state = random.get_state()
    state["dropout_seed"] = int(np.random.SeedSequence(key).generate_state(1, np.uint64)[0])
    state["dropout_offset"] = 0
    random.set_state(state)
