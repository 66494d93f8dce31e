"""The framework's random state: one numpy Generator for sampled tensors and initialization, and the
(seed, offset) stream for dropout's counter-based masks. `manual_seed` resets both; `get_state` and `set_state`
save and restore both exactly (a checkpoint stores the state with `tinygrad_norm.save`)."""

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


def get_state() -> dict:
    """The whole random state as plain data (dicts of ints and strings), which `tinygrad_norm.save` stores
    exactly: `{"generator": <the numpy PCG64 bit_generator state>, "dropout_seed": int, "dropout_offset": int}`."""
    return {
        "generator": _state.generator.bit_generator.state,
        "dropout_seed": _state.dropout_seed,
        "dropout_offset": _state.dropout_offset,
    }


def set_state(state: dict) -> None:
    """Restore a state from `get_state`. Everything is checked first: a bad state raises (TypeError when it
    is not a dict, ValueError naming the bad entry) and leaves the current state unchanged."""
    if not isinstance(state, dict):
        raise TypeError(f"set_state: state must be a dict from get_state(), got {type(state).__name__}")
    _check_keys("state", state, {"generator", "dropout_seed", "dropout_offset"})
    generator_state = state["generator"]
    _check_keys('state["generator"]', generator_state, {"bit_generator", "state", "has_uint32", "uinteger"})
    if generator_state["bit_generator"] != "PCG64":
        found = generator_state["bit_generator"]
        raise ValueError(f'set_state: state["generator"] must be a PCG64 state, got {found!r}')
    _check_keys('state["generator"]["state"]', generator_state["state"], {"state", "inc"})
    for name, value, bound in (
        ('state["generator"]["state"]["state"]', generator_state["state"]["state"], 1 << 128),
        ('state["generator"]["state"]["inc"]', generator_state["state"]["inc"], 1 << 128),
        ('state["generator"]["has_uint32"]', generator_state["has_uint32"], 2),
        ('state["generator"]["uinteger"]', generator_state["uinteger"], 1 << 32),
        ('state["dropout_seed"]', state["dropout_seed"], 1 << 64),
        ('state["dropout_offset"]', state["dropout_offset"], 1 << 64),
    ):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 0 <= value < bound:
            raise ValueError(f"set_state: {name} must be an int in [0, {bound}), got {value!r}")
    restored = _RandomState.__new__(_RandomState)
    restored.generator = np.random.Generator(np.random.PCG64())
    restored.generator.bit_generator.state = generator_state
    restored.dropout_seed = int(state["dropout_seed"])
    restored.dropout_offset = int(state["dropout_offset"])
    global _state
    _state = restored


def _check_keys(name: str, mapping, keys: set[str]) -> None:
    if not isinstance(mapping, dict) or set(mapping) != keys:
        found = list(mapping) if isinstance(mapping, dict) else type(mapping).__name__
        raise ValueError(f"set_state: {name} must be a dict with keys {sorted(keys)}, got {found}")
