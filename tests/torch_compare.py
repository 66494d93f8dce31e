"""One expression, two frameworks: `compare(fn, *arrays)` runs `fn(tn, *tensors)` and `fn(torch, *tensors)` (the
first argument is the framework's top-level module, so `m.sin(x)`, `m.nn.functional.elu(x)` and `x.cumsum(0)`
read the same in both) and checks, in float32 and in float64:

- every output: shape, dtype and values (nan where torch has nan, infinities where it has them);
- the first derivatives of Σ v·output for seeded random weights v, input by input;
- the second derivatives: the gradient of Σ u·(first derivatives) taken through create_graph.

A gradient torch leaves undefined (None) must be None or zero on our side. Import after
`pytest.importorskip("torch")`.
"""

from __future__ import annotations

import numpy as np
import torch

import tinygrad_norm as tn

# rounding of a few float ops on O(1) values, by the dtype both sides run in
TOLERANCES = {np.dtype(np.float32): (2e-5, 1e-6), np.dtype(np.float64): (1e-9, 1e-12)}

# edge values of float ops: signed zeros, small and large magnitudes, infinities, nan
EDGES = np.array([0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 1e-30, 40.0, -40.0, np.inf, -np.inf, np.nan])


def normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def uniform(low: float, high: float, *shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, shape)


def compare(
    fn,
    *arrays,
    dtypes=(np.float32, np.float64),
    grad: bool = True,
    second: bool = True,
    tolerance: tuple[float, float] | None = None,
    seed: int = 0,
) -> None:
    """Check `fn` against torch (see the module docstring). Floating arrays are cast to each dtype of `dtypes`
    and differentiated (when `grad`); other arrays are passed as they are, each once."""
    floating = any(np.asarray(a).dtype.kind == "f" for a in arrays)
    for dtype in dtypes if floating else (None,):
        ours = [_ours(a, dtype, grad) for a in arrays]
        theirs = [_theirs(a, dtype, grad) for a in arrays]
        label = f"{getattr(dtype, '__name__', dtype)}"
        out, expected = _outputs(fn(tn, *ours)), _outputs(fn(torch, *theirs))
        assert len(out) == len(expected), f"{label}: {len(out)} outputs, torch gives {len(expected)}"
        for i, (a, b) in enumerate(zip(out, expected)):
            check(a, b, tolerance, f"{label} output {i}")
        wrt = [(t, e) for t, e in zip(ours, theirs) if isinstance(e, torch.Tensor) and e.requires_grad]
        pairs = [(a, b) for a, b in zip(out, expected) if isinstance(b, torch.Tensor) and b.requires_grad]
        if wrt and pairs:
            _compare_derivatives(wrt, pairs, second, tolerance, np.random.default_rng(seed), label)


def _weighted_sums(pairs, rng):
    """Σ v·a on our side and Σ v·b on torch's, for seeded random weights v (one per pair (a, b))."""
    weights = [rng.standard_normal(tuple(b.shape)) for _, b in pairs]
    ours = sum(((a * tn.tensor(w, dtype=a.dtype)).sum() for (a, _), w in zip(pairs, weights) if a is not None), start=0)
    theirs = sum((b * torch.tensor(w, dtype=b.dtype)).sum() for (_, b), w in zip(pairs, weights))
    return ours, theirs


def _compare_derivatives(wrt, pairs, second: bool, tolerance, rng, label: str) -> None:
    """First derivatives of Σ v·output with respect to every input of `wrt` ((ours, torch's) pairs), and when
    `second`, the derivatives of Σ u·(first derivatives)."""
    inputs, expected_inputs = [t for t, _ in wrt], [e for _, e in wrt]
    loss, expected_loss = _weighted_sums(pairs, rng)
    grads = tn.autograd.grad(loss, inputs, create_graph=second, allow_unused=True)
    expected_grads = torch.autograd.grad(expected_loss, expected_inputs, create_graph=second, allow_unused=True)
    for i, (g, e) in enumerate(zip(grads, expected_grads)):
        check(g, e, tolerance, f"{label} gradient of input {i}")
    used = [(g, e) for g, e in zip(grads, expected_grads) if e is not None and e.requires_grad]
    if not second or not used:
        return
    total, expected_total = _weighted_sums(used, rng)
    if isinstance(total, tn.Tensor) and total.requires_grad:
        seconds = tn.autograd.grad(total, inputs, allow_unused=True)
    else:
        seconds = [None] * len(inputs)
    expected_seconds = torch.autograd.grad(expected_total, expected_inputs, allow_unused=True)
    for i, (g, e) in enumerate(zip(seconds, expected_seconds)):
        check(g, e, tolerance, f"{label} second derivative of input {i}")


def check(actual, expected, tolerance: tuple[float, float] | None, name: str) -> None:
    """Same shape, dtype and values (nan matching nan), within `tolerance` (rtol, atol) or TOLERANCES of the
    dtype. A gradient that is None on either side must be zero on the other."""
    if isinstance(expected, torch.Tensor) and expected._is_zerotensor():  # torch's symbolic zeros
        expected = torch.zeros(expected.shape, dtype=expected.dtype)
    if actual is None and expected is None:
        return
    if actual is None or expected is None:
        present = actual if actual is not None else expected
        values = present.numpy() if isinstance(present, tn.Tensor) else present.detach().numpy()
        assert not np.any(values), f"{name}: one side has no gradient, the other {values}"
        return
    if isinstance(expected, torch.Tensor):
        assert isinstance(actual, tn.Tensor), f"{name}: got {type(actual).__name__}, torch gives a tensor"
        expected_dtype = np.dtype(str(expected.dtype).removeprefix("torch.").replace("bool", "bool_"))
        assert actual.dtype == expected_dtype, f"{name}: dtype {actual.dtype}, torch gives {expected_dtype}"
        actual, expected = actual.numpy(), expected.detach().numpy()
        assert actual.shape == expected.shape, f"{name}: shape {actual.shape}, torch gives {expected.shape}"
        if actual.dtype.kind in "biu":
            np.testing.assert_array_equal(actual, expected, err_msg=name)
        else:
            rtol, atol = tolerance or TOLERANCES[actual.dtype]
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)
    else:
        assert actual == expected, f"{name}: {actual!r}, torch gives {expected!r}"


def _outputs(result) -> list:
    """The outputs of an op as a list: a tensor, the fields of a named pair, or the items of a tuple."""
    return list(result) if isinstance(result, tuple | list) else [result]


def _ours(array, dtype, grad: bool):
    if not isinstance(array, np.ndarray):
        return array
    if array.dtype.kind == "f":
        return tn.tensor(array.astype(dtype), requires_grad=grad)
    return tn.tensor(array)


def _theirs(array, dtype, grad: bool):
    if not isinstance(array, np.ndarray):
        return array
    if array.dtype.kind == "f":
        return torch.tensor(array.astype(dtype), requires_grad=grad)
    return torch.tensor(array)
