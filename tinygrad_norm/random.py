"""The framework's random state: one numpy Generator for sampled tensors and initialization, and the
(seed, offset) stream for dropout's counter-based masks. `manual_seed` resets both."""

from __future__ import annotations

import numpy as np

_MASK64 = (1 << 64) - 1


class _RandomState:
    def __init__(self, seed: int | None = None):
        entropy = np.random.SeedSequence(seed).entropy if seed is None else seed
        self.generator = np.random.default_rng(entropy)
        self.dropout_seed = int(entropy) & _MASK64
        self.dropout_offset = 0


_state = _RandomState()


def manual_seed(seed: int) -> None:
    """Seed everything random in tinygrad_norm (sampling, initialization, dropout masks)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: seed must be an int, got {type(seed).__name__}")
    global _state
    _state = _RandomState(int(seed) & _MASK64)


def generator() -> np.random.Generator:
    """The Generator that `randn`, `rand` and `nn.init` draw from."""
    return _state.generator


def dropout_stream(count: int) -> tuple[int, int]:
    """Reserve `count` draws of the dropout generator: returns (seed, offset) for a kernel call, and
    moves the offset on so the next call gets fresh draws."""
    offset = _state.dropout_offset
    _state.dropout_offset = (offset + count) & _MASK64
    return _state.dropout_seed, offset
