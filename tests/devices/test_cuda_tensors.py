"""Tensors and models on a GPU, compared with the same calls on the CPU.

Every test that needs a GPU skips with the reason CUDA tensors are not available (cuda.unavailable_reason: no CuPy,
no driver, no device), so a machine without one reports them as skipped, never as passed; bench/gpu_check.sh runs
them on a GPU. Two tests run everywhere: the walk's table covers every public op, and every entry runs on the CPU
(so a GPU run fails only for the device's sake).
"""

from __future__ import annotations

import types

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm.nn import functional as F

from . import walk
from .gpu import requires_cuda


def public_ops() -> set[str]:
    """The public Tensor methods and operators, the module-level ops and nn.functional's functions."""
    names = {name for name in dir(tn.Tensor) if not name.startswith("_")}
    names |= {
        name
        for cls in tn.Tensor.__mro__
        for name, value in vars(cls).items()
        if name.startswith("__") and name.endswith("__") and isinstance(value, types.FunctionType)
    }
    return names | {"where", "cat", "stack"} | {f"F.{name}" for name in F.__all__}


def run(name: str, device: str):
    """OPS[name] on `device`: the output and each input's gradient (None where it has none)."""
    call, shapes = walk.OPS[name]
    rng = np.random.default_rng(0)
    tn.manual_seed(0)
    inputs = [tn.tensor(rng.standard_normal(shape), requires_grad=True, device=device) for shape in shapes]
    out = call(*inputs)
    if not out.requires_grad:
        return out, []
    out.backward(tn.tensor(rng.standard_normal(out.shape), dtype=out.dtype, device=device))
    return out, [t.grad for t in inputs]


def host(t):
    return None if t is None else t.cpu().numpy()


def test_walk_covers_every_public_op():
    missing = public_ops() - walk.OPS.keys() - walk.NOT_OPS.keys()
    assert not missing, f"add these to tests/devices/walk.py (OPS, or NOT_OPS with the reason): {sorted(missing)}"


@pytest.mark.parametrize("name", walk.OPS)
def test_every_walk_entry_runs_on_the_cpu(name):
    out, grads = run(name, "cpu")
    assert out.device == "cpu" and out.numel() > 0
    assert not out.requires_grad or any(g is not None for g in grads)


@requires_cuda
@pytest.mark.parametrize("name", walk.OPS)
def test_every_op_on_a_cuda_tensor_matches_the_cpu(name):
    expected, expected_grads = run(name, "cpu")
    out, grads = run(name, "cuda")
    assert out.device.type == "cuda" and all(g is None or g.device == out.device for g in grads)
    exact = name in walk.DROPOUT_OPS or out.dtype.kind in "biu"
    for ours, theirs in [(out, expected), *zip(grads, expected_grads, strict=True)]:
        assert (ours is None) == (theirs is None)
        if ours is None:
            continue
        if exact:
            np.testing.assert_array_equal(host(ours), host(theirs))
        else:
            np.testing.assert_allclose(host(ours), host(theirs), rtol=1e-9, atol=1e-11)
