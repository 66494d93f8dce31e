"""Reductions, cumulative ops and sorting against torch (tests/torch_compare.py): values, dtypes, indices,
gradients and second derivatives in float32 and float64, on random inputs, ties, zeros, infinities, nan and
empty tensors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402

from .torch_compare import EDGES, compare, normal  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf and nan inputs on purpose

TIES = np.array([[2.0, 1.0, 2.0, 1.0, 2.0], [0.0, 0.0, 3.0, -1.0, 3.0]])
ZEROS = np.array([[2.0, 0.0, 3.0, 0.0, 4.0], [1.5, -2.0, 0.0, 3.0, 0.5], [1.0, 2.0, 3.0, 4.0, 0.5]])
WITH_NAN = np.array([[3.0, np.nan, 2.0, np.nan, 1.0], [1.0, 2.0, -np.inf, np.inf, 0.0]])
INPUTS = {"random": normal(3, 5), "ties": TIES, "zeros": ZEROS, "nan-inf": WITH_NAN, "empty": np.zeros((2, 0))}

# ---- reductions -------------------------------------------------------------------------------------------

REDUCTIONS = {
    "sum": lambda m, x: (x.sum(), x.sum(1), m.sum(x, dim=(), keepdim=True), x.sum(dim=[0, 1])),
    "mean": lambda m, x: (x.mean(), x.mean(-1, keepdim=True), m.mean(x, dim=())),
    "prod": lambda m, x: (x.prod(), x.prod(1), m.prod(x, 0, keepdim=True)),
    "var": lambda m, x: (x.var(1), m.var(x, correction=0)),
    "std": lambda m, x: (x.std(0, keepdim=True), x.std(unbiased=False)),
    "var_mean": lambda m, x: m.var_mean(x, 1),
    "std_mean": lambda m, x: m.std_mean(x, dim=(0, 1), correction=0),
    "norm-2": lambda m, x: (x.norm(), m.norm(x, dim=1), x.norm(p="fro", dim=(0, 1), keepdim=True)),
    "norm-p": lambda m, x: (x.norm(p=3, dim=1), x.norm(p=0.5), x.norm(p=1.5, dim=0)),
    "norm-1-inf-0": lambda m, x: (x.norm(p=1, dim=1), x.norm(p=float("inf")), x.norm(p=-float("inf"), dim=1)),
    "amax": lambda m, x: (x.amax(), m.amax(x, dim=1), x.amin(dim=(0, 1))),
    "max-dim": lambda m, x: (*x.max(dim=1), *m.min(x, 0, keepdim=True)),
    "median": lambda m, x: (x.median(), *x.median(1), *m.median(x, dim=0, keepdim=True)),
    "logsumexp": lambda m, x: (x.logsumexp(1), m.logsumexp(x, dim=(0, 1))),
}
# reductions an empty axis leaves undefined (torch raises)
NEEDS_ELEMENTS = {"amax", "max-dim", "median", "norm-1-inf-0"}


@pytest.mark.parametrize(
    ("name", "inputs"), [(n, i) for n in REDUCTIONS for i in INPUTS if not (i == "empty" and n in NEEDS_ELEMENTS)]
)
def test_reduction(name, inputs):
    compare(REDUCTIONS[name], INPUTS[inputs])


@pytest.mark.parametrize("name", ["max", "min", "median", "kthvalue"])
def test_reductions_that_pick_an_element_refuse_an_empty_axis(name):
    x = tn.zeros(2, 0)
    with pytest.raises((IndexError, RuntimeError)):
        getattr(x, name)(1) if name != "kthvalue" else x.kthvalue(1, 1)


def test_var_over_an_empty_dim_reduces_every_axis():
    """Values as torch's; the gradient is var()'s (torch's own gradcheck fails on var(dim=()) in 2.13)."""
    x = normal(3, 5)
    compare(lambda m, x: (m.var(x, dim=(), correction=0), x.std(dim=[])), x, grad=False)
    ours = tn.tensor(x, requires_grad=True)
    assert tn.gradcheck(lambda t: t.var(dim=()), ours)
    (gradient,) = tn.autograd.grad(ours.var(dim=()), ours)
    (expected,) = tn.autograd.grad(ours.var(), ours)
    np.testing.assert_allclose(gradient.numpy(), expected.numpy(), rtol=1e-12)


def test_prod_with_one_zero_and_with_two():
    """The gradient where one element is 0 is the product of the others; with two zeros it is 0."""
    compare(lambda m, x: x.prod(1), np.array([[0.0, 2.0, 3.0], [0.0, 2.0, 0.0], [2.0, 3.0, 4.0]]))


@pytest.mark.parametrize("name", ["sum", "prod", "cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_])
def test_integer_sums_and_products_are_int64(name, dtype):
    x = np.array([[1, 0, 2], [3, 1, 1]]).astype(dtype)
    compare(lambda m, x: getattr(x, name)(0) if name.startswith("cum") else getattr(x, name)(), x)
    compare(lambda m, x: getattr(x, name)(0, dtype=m.float64), x)


def test_mean_and_norm_refuse_integers():
    for name in ("mean", "var", "norm"):
        with pytest.raises(RuntimeError, match="floating point"):
            getattr(tn.tensor([1, 2]), name)()


@pytest.mark.parametrize("name", ["any", "all"])
@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_, np.uint8])
def test_any_and_all(name, dtype):
    x = np.array([[0, 1, 2], [0, 0, 0], [1, 1, 1]]).astype(dtype)
    compare(lambda m, x: (getattr(x, name)(), getattr(m, name)(x, dim=1), getattr(x, name)(0, keepdim=True)), x)
    compare(lambda m, x: getattr(x, name)(dim=(0, 1)), x)


def test_count_nonzero_and_argmax_with_keepdim():
    x = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 5.0], [np.nan, 1.0, 1.0]])
    compare(lambda m, x: (m.count_nonzero(x), x.count_nonzero(dim=0), x.count_nonzero(dim=(0, 1))), x)
    compare(lambda m, x: (x.argmax(), x.argmax(1, keepdim=True), m.argmin(x, dim=0), x.argmax(keepdim=True)), x)


# ---- cumulative -----------------------------------------------------------------------------------------

CUMULATIVE = {
    "cumsum": lambda m, x: (x.cumsum(1), m.cumsum(x, dim=0)),
    "cumprod": lambda m, x: (x.cumprod(1), m.cumprod(x, dim=-2)),
    "cummax": lambda m, x: (*x.cummax(1), *m.cummax(x, dim=0)),
    "cummin": lambda m, x: (*x.cummin(1), *m.cummin(x, dim=0)),
    "logcumsumexp": lambda m, x: (x.logcumsumexp(1), m.logcumsumexp(x, dim=0)),
}


@pytest.mark.parametrize(
    ("name", "inputs"),
    [(n, i) for n in CUMULATIVE for i in INPUTS if (n, i) != ("logcumsumexp", "nan-inf")],  # see below
)
def test_cumulative(name, inputs):
    compare(CUMULATIVE[name], INPUTS[inputs])


def test_logcumsumexp_at_infinities():
    """Values as torch. The gradient Σ_{i>=j} exp(x_j - y_i) is exact where torch's loses digits (torch gives
    1.99999999999989 for the 1000 after a 0, where it is 2 + exp(-998)), 0 for a -inf after a finite prefix, as
    torch, and nan for a -inf with only -inf before it, as torch (exp(x_i - y_i) there is exp(nan))."""
    x = np.array([-np.inf, 0.0, 1000.0, -np.inf, 2.0])
    compare(lambda m, x: x.logcumsumexp(0), x, grad=False)
    ours = tn.tensor(x, requires_grad=True)
    ours.logcumsumexp(0).sum().backward()
    assert np.isnan(ours.grad.numpy()[0])
    np.testing.assert_allclose(ours.grad.numpy()[1:], [1.0, 3.0, 0.0, 0.0], rtol=1e-12, atol=1e-300)


def test_cumprod_of_zeros():
    compare(lambda m, x: x.cumprod(0), np.array([2.0, 0.0, 3.0, 0.0, 4.0]))
    compare(lambda m, x: x.cumprod(1), np.array([[0.0, 0.0, 1.0], [1.0, 2.0, 0.0], [0.0, 3.0, 2.0]]))


# ---- sorting --------------------------------------------------------------------------------------------

SORTING = {
    "sort": lambda m, x: (*x.sort(1), *m.sort(x, dim=0, descending=True), *x.sort(stable=True, descending=False)),
    "argsort": lambda m, x: (x.argsort(1), m.argsort(x, dim=0, descending=True)),
    "msort": lambda m, x: m.msort(x),
    "topk": lambda m, x: (*x.topk(2, 1), *m.topk(x, 1, dim=0, largest=False)),
    "kthvalue": lambda m, x: (*x.kthvalue(3, 1), *m.kthvalue(x, 1, dim=0, keepdim=True)),
}


@pytest.mark.parametrize("inputs", ["random", "zeros", "nan-inf"])
@pytest.mark.parametrize("name", SORTING)
def test_sorting(name, inputs):
    compare(SORTING[name], INPUTS[inputs])


def test_sorting_ties_are_stable():
    """Equal values keep their order, as torch's stable sort. (torch's topk and kthvalue may pick another of
    equal values: it documents no order, and its choice depends on the input's length.)"""
    compare(SORTING["sort"], TIES)
    compare(lambda m, x: x.argsort(dim=1, stable=True, descending=True), TIES)


@pytest.mark.parametrize("name", ["sort", "argsort", "topk"])
def test_sorting_empty(name):
    compare(lambda m, x: x.topk(0) if name == "topk" else getattr(x, name)(), np.zeros((3, 0)))


def test_sort_of_a_0d_tensor():
    compare(lambda m, x: (*x.sort(), *x.topk(1), *x.kthvalue(1), *x.median(0)), np.array(2.5))


def test_topk_and_kthvalue_check_k():
    x = tn.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="out of range"):
        x.topk(3)
    with pytest.raises(RuntimeError, match="out of range"):
        x.kthvalue(0)


def test_unique():
    x = np.array([[2.0, np.nan, 1.0], [np.nan, 2.0, -0.0], [0.0, 1.0, 1.0]])
    compare(lambda m, x: m.unique(x), x, grad=False)
    compare(lambda m, x: x.unique(return_inverse=True, return_counts=True), x, grad=False)
    compare(lambda m, x: m.unique(x, sorted=False, return_counts=True), np.array([3, 1, 2, 1, 3]))
    compare(lambda m, x: x.unique(dim=0, return_inverse=True), np.array([[1, 2], [0, 5], [1, 2]]))
    compare(lambda m, x: x.unique(return_inverse=True), np.zeros((0, 2)), grad=False)


# ---- edge values through the smooth reductions -----------------------------------------------------------


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "amax", "logsumexp", "cumsum", "cumprod", "sort"])
def test_edge_values(name):
    x = np.stack([EDGES, EDGES[::-1]])
    fn = {**REDUCTIONS, **CUMULATIVE, **SORTING}[name]
    compare(fn, x, second=name not in ("prod", "cumprod"))


def test_argmax_and_argmin_refuse_bools():
    for m in (tn, torch):
        for name in ("argmax", "argmin"):
            with pytest.raises(RuntimeError, match="bool"):
                getattr(m.tensor([True, False]), name)()


def test_aminmax_nansum_nanmean():
    compare(lambda m, x: (*x.aminmax(), *m.aminmax(x, dim=1, keepdim=True)), normal(3, 4))
    compare(lambda m, x: (x.nansum(), m.nansum(x, 1), x.nanmean(), m.nanmean(x, dim=0, keepdim=True)), WITH_NAN)
    # a row of nan only: nan as torch; its gradient is 0 here, nan in torch (0 / 0)
    compare(lambda m, x: m.nanmean(x, 1), np.array([[np.nan, np.nan], [1.0, np.nan]]), grad=False)
