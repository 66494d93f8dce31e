"""Run one of our optimizers and torch's on the same parameters and gradients, and compare what they hold.

Import with `from .torch_runs import ...` from a test module that has already done
`torch = pytest.importorskip("torch")`.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from tinygrad_norm import Tensor, optim

SHAPES = [(3, 4), (5,), ()]
# (rtol, atol) by dtype. float64: the two libraries round a few operations differently, ~1e-16 per step.
# float32: a few ulps after 10 steps (torch fuses some multiply-adds, and orders some products otherwise).
TOLERANCES = {np.dtype(np.float64): (1e-12, 1e-14), np.dtype(np.float32): (1e-5, 1e-6)}


def random_arrays(shapes, dtype, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.array(rng.standard_normal(shape), dtype) for shape in shapes]


def pair(arrays: list[np.ndarray]) -> tuple[list[Tensor], list[torch.Tensor]]:
    """Our parameters and torch's, each a copy of `arrays`."""
    return (
        [Tensor(a.copy(), requires_grad=True) for a in arrays],
        [torch.tensor(a.copy(), requires_grad=True) for a in arrays],
    )


def set_grads(ours: list[Tensor], theirs: list[torch.Tensor], grads: list[np.ndarray | None]) -> None:
    for p, q, g in zip(ours, theirs, grads):
        p.grad = None if g is None else Tensor(g.copy())
        q.grad = None if g is None else torch.tensor(g.copy())


def to_torch(state_dict: dict[str, Any]) -> dict[str, Any]:
    """Our optimizer state dict with its arrays as torch tensors (torch.optim loads no numpy arrays)."""
    return {
        "state": {
            k: {n: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for n, v in s.items()}
            for k, s in state_dict["state"].items()
        },
        "param_groups": copy.deepcopy(state_dict["param_groups"]),
    }


def assert_params_close(ours: list[Tensor], theirs: list[torch.Tensor], dtype) -> None:
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    for i, (p, q) in enumerate(zip(ours, theirs)):
        assert p.dtype == np.dtype(dtype)
        np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=rtol, atol=atol, err_msg=f"param {i}")


def assert_states_close(ours: optim.Optimizer, theirs: torch.optim.Optimizer, dtype) -> None:
    """Same groups (every option, by torch's keys), same state entries, values within the tolerance."""
    rtol, atol = TOLERANCES[np.dtype(dtype)]
    mine, torchs = ours.state_dict(), theirs.state_dict()
    assert mine["param_groups"] == torchs["param_groups"]
    assert mine["state"].keys() == torchs["state"].keys()
    for index, state in torchs["state"].items():
        assert mine["state"][index].keys() == state.keys(), index
        for name, value in state.items():
            ours_value = mine["state"][index][name]
            assert isinstance(ours_value, np.ndarray) and ours_value.dtype == value.numpy().dtype, (index, name)
            np.testing.assert_allclose(ours_value, value.numpy(), rtol=rtol, atol=atol, err_msg=f"{index} {name}")
