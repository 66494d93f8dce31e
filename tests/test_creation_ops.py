"""Constructors against torch: eye, linspace, logspace (the same values to the last bit, by torch's two-sided
rule), randint and randperm (range, shape, dtype, the global seed), one_hot, tril/triu as functions."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402
from tinygrad_norm.nn import functional as F  # noqa: E402


def _same(ours: tn.Tensor, theirs) -> None:
    expected = theirs.numpy()
    assert ours.dtype == expected.dtype, (ours.dtype, expected.dtype)
    np.testing.assert_array_equal(ours.numpy(), expected)


@pytest.mark.parametrize("args", [(3,), (2, 4), (4, 2), (0,), (0, 3)], ids=str)
@pytest.mark.parametrize("dtype", [None, "float64", "int64", "bool"])
def test_eye(args, dtype):
    _same(tn.eye(*args, dtype=dtype and getattr(tn, dtype)), torch.eye(*args, dtype=dtype and getattr(torch, dtype)))


@pytest.mark.parametrize(
    "args", [(0, 1, 5), (-3.5, 7.25, 11), (1, 0, 4), (2, 2, 3), (0, 1, 1), (0, 1, 0), (-1e6, 1e-6, 7)], ids=str
)
@pytest.mark.parametrize("dtype", ["float32", "float64", "int64"])
def test_linspace_and_logspace(args, dtype):
    """The ends exactly; inside, torch's vectorized kernel rounds by the CPU's vector width (see linspace), so
    the values agree to a few units in the last place."""
    ours, theirs = tn.linspace(*args, dtype=getattr(tn, dtype)), torch.linspace(*args, dtype=getattr(torch, dtype))
    if dtype == "int64" or len(theirs) < 2:
        _same(ours, theirs)
        return
    assert ours.dtype == theirs.numpy().dtype
    _same(ours[[0, -1]], theirs[[0, -1]])
    ulp = np.finfo(dtype).eps * max(abs(args[0]), abs(args[1]))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=4 * ulp)
    start, end, steps = args
    if abs(start) < 100 and abs(end) < 100 and dtype != "int64":
        for base in (10.0, 2.0):
            ours = tn.logspace(start, end, steps, base=base, dtype=getattr(tn, dtype))
            theirs = torch.logspace(start, end, steps, base=base, dtype=getattr(torch, dtype))
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=2e-7 if dtype == "float32" else 1e-15)


def test_linspace_default_dtype_and_errors():
    assert tn.linspace(0, 1, 3).dtype == np.float32
    with pytest.raises(RuntimeError, match="number of steps"):
        tn.linspace(0, 1, -1)
    with pytest.raises(RuntimeError):
        tn.eye(-1)


def test_randint_and_randperm():
    tn.manual_seed(0)
    draws = tn.randint(3, 7, (50, 4))
    assert draws.shape == (50, 4) and draws.dtype == np.int64
    assert draws.numpy().min() == 3 and draws.numpy().max() == 6
    assert tn.randint(5, size=(3,)).numpy().max() < 5
    assert tn.randint(0, 2, (2,), dtype=tn.float32).dtype == np.float32
    perm = tn.randperm(20)
    assert perm.dtype == np.int64 and sorted(perm.tolist()) == list(range(20))
    assert tn.randperm(0).shape == (0,)
    tn.manual_seed(0)
    assert tn.randint(3, 7, (50, 4)).tolist() == draws.tolist()
    with pytest.raises(RuntimeError):
        tn.randint(5, 5, (2,))
    with pytest.raises(TypeError):
        tn.randint(5)


def test_randint_like():
    x = tn.zeros(2, 3, dtype=tn.int64)
    drawn = tn.randint_like(x, 4)
    assert drawn.shape == (2, 3) and drawn.dtype == np.int64 and drawn.numpy().max() < 4
    assert tn.randint_like(x.float(), 2, 5).numpy().min() >= 2


def test_one_hot():
    index = np.array([[0, 3], [2, 2]])
    _same(F.one_hot(tn.tensor(index)), torch.nn.functional.one_hot(torch.tensor(index)))
    _same(F.one_hot(tn.tensor(index), 6), torch.nn.functional.one_hot(torch.tensor(index), 6))
    _same(F.one_hot(tn.zeros(0, dtype=tn.int64), 3), torch.nn.functional.one_hot(torch.zeros(0, dtype=torch.long), 3))
    for bad in (lambda m: m.tensor([0.0]), lambda m: m.tensor([-1]), lambda m: m.tensor([4])):
        with pytest.raises(RuntimeError):
            torch.nn.functional.one_hot(bad(torch), 3)
        with pytest.raises(RuntimeError):
            F.one_hot(bad(tn), 3)


def test_tril_and_triu_as_functions():
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    for k in (-1, 0, 2):
        _same(tn.tril(tn.tensor(x), k), torch.tril(torch.tensor(x), k))
        _same(tn.triu(tn.tensor(x), diagonal=k), torch.triu(torch.tensor(x), diagonal=k))
