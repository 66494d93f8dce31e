"""Activations (functions and modules) and matrix products against torch (tests/torch_compare.py): values,
gradients and second derivatives in float32 and float64, on random inputs, edge values and empty tensors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402
import tinygrad_norm.nn  # noqa: E402, F401

from .torch_compare import EDGES, TOLERANCES, compare, normal  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")  # inf and nan inputs on purpose

ELEMENTWISE = {
    "softplus": lambda f, x: (f.softplus(x), f.softplus(x, beta=2.0, threshold=1.0)),
    "elu": lambda f, x: (f.elu(x), f.elu(x, alpha=0.5)),
    "celu": lambda f, x: (f.celu(x), f.celu(x, alpha=2.0)),
    "selu": lambda f, x: f.selu(x),
    "relu6": lambda f, x: f.relu6(x * 4),
    "hardtanh": lambda f, x: (f.hardtanh(x), f.hardtanh(x, -0.5, 0.25)),
    "hardsigmoid": lambda f, x: f.hardsigmoid(x * 4),
    "hardswish": lambda f, x: f.hardswish(x * 4),
    "mish": lambda f, x: f.mish(x),
    "logsigmoid": lambda f, x: f.logsigmoid(x),
    "softsign": lambda f, x: f.softsign(x),
}

# torch 2.13 has no double backward for hardsigmoid (ours is checked by gradgradcheck in test_ops_gradcheck.py),
# and its backward scales by 1/6 rounded to float32 in every dtype, so float64 agrees to float32's rounding only
FIRST_ONLY = {"hardsigmoid"}
HARDSIGMOID_TOLERANCE = TOLERANCES[np.dtype(np.float32)]
# kinks where the one-sided derivatives differ: torch picks a side, so we compare away from them
KINKED = {"relu6", "hardtanh", "hardsigmoid", "hardswish", "elu", "celu", "selu"}


def _options(name: str) -> dict:
    return {"second": False, "tolerance": HARDSIGMOID_TOLERANCE} if name in FIRST_ONLY else {}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation(name):
    compare(lambda m, x: ELEMENTWISE[name](m.nn.functional, x), normal(3, 5), **_options(name))


@pytest.mark.parametrize("name", sorted(set(ELEMENTWISE) - KINKED))
def test_activation_at_the_edges(name):
    compare(lambda m, x: ELEMENTWISE[name](m.nn.functional, x), EDGES)


@pytest.mark.parametrize("name", sorted(KINKED))
def test_kinked_activation_at_the_kinks(name):
    """At the kinks (0, ±1/4 of ±3, 6/4) torch's one-sided choice is ours too."""
    x = np.array([0.0, -0.75, 0.75, 1.5, 0.25, -0.25, -1.0])
    compare(lambda m, x: ELEMENTWISE[name](m.nn.functional, x), x, **_options(name))


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_activation_on_an_empty_tensor(name):
    compare(lambda m, x: ELEMENTWISE[name](m.nn.functional, x), np.zeros((0, 3)), **_options(name))


def test_softmin_glu_normalize():
    compare(
        lambda m, x: (
            m.nn.functional.softmin(x, dim=1),
            m.nn.functional.glu(x[:, :4]),
            m.nn.functional.glu(x[:2], dim=0),
            m.nn.functional.normalize(x),
            m.nn.functional.normalize(x, p=1.0, dim=0),
        ),
        normal(4, 5),
    )


def test_normalize_of_a_zero_row_is_zero():
    compare(lambda m, x: m.nn.functional.normalize(x, dim=-1), np.array([[0.0, 0.0], [3.0, 4.0]]), second=False)


def test_prelu_with_one_and_with_per_channel_weights():
    compare(
        lambda m, x, w1, w: (m.nn.functional.prelu(x, w1), m.nn.functional.prelu(x, w)),
        normal(2, 3, 4),
        np.array([0.25]),
        np.array([0.1, -0.5, 2.0]),
    )


MODULES = [
    ("Softplus", {"beta": 2.0}),
    ("ELU", {"alpha": 0.3}),
    ("CELU", {}),
    ("SELU", {}),
    ("ReLU6", {}),
    ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("Hardsigmoid", {}),
    ("Hardswish", {}),
    ("Mish", {}),
    ("LogSigmoid", {}),
    ("Softsign", {}),
    ("Softmin", {"dim": 1}),
    ("GLU", {"dim": 0}),
]


@pytest.mark.parametrize(("name", "kwargs"), MODULES)
def test_activation_module(name, kwargs):
    compare(lambda m, x: getattr(m.nn, name)(**kwargs)(x), normal(4, 3), **_options(name.lower()))
    assert repr(getattr(tn.nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


def test_prelu_module_parameters_and_gradient():
    ours, theirs = tn.nn.PReLU(3, init=0.1), torch.nn.PReLU(3, init=0.1)
    assert repr(ours) == repr(theirs)
    x = normal(2, 3, 2)
    out = ours(tn.tensor(x))
    expected = theirs(torch.tensor(x, dtype=torch.float32))
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=1e-5)


# ---- matrix products --------------------------------------------------------------------------------------

PRODUCTS = {
    "bmm": lambda m, a, b: m.bmm(a, b),
    "outer": lambda m, a, b: (m.outer(a[0, 0], b[0, 0]), a[1, :, 0].outer(b[0, 1])),
    "einsum-matmul": lambda m, a, b: m.einsum("bij,bjk->bik", a, b),
    "einsum-trace-sum": lambda m, a, b: (m.einsum("bii", a[:, :, :3]), m.einsum("bij->j", b), m.einsum("bij", a)),
    "einsum-ellipsis": lambda m, a, b: m.einsum("...ij,...jk", [a, b]),
    "einsum-outer": lambda m, a, b: m.einsum("i,j->ij", a[0, 0], b[1, 1]),
    "tensordot": lambda m, a, b: (m.tensordot(a, b, dims=([2], [1])), m.tensordot(a, a[0], 2)),
    "tensordot-int": lambda m, a, b: m.tensordot(a[0], b[0], dims=1),
    "baddbmm": lambda m, a, b: (m.baddbmm(a[:, :1, :1], a, b), m.baddbmm(b[:, :3, :], a, b, beta=0.5, alpha=2)),
    "addmm": lambda m, a, b: (m.addmm(a[0, 0, :1], a[0], b[0]), a[1, :, :1].addmm(a[1], b[1], beta=0, alpha=-1)),
}


@pytest.mark.parametrize("name", PRODUCTS)
def test_product(name):
    compare(PRODUCTS[name], normal(2, 3, 4), normal(2, 4, 5, seed=1))


@pytest.mark.parametrize("name", ["bmm", "einsum-matmul", "tensordot"])
def test_product_of_empty_tensors(name):
    compare(PRODUCTS[name], np.zeros((2, 3, 0)), np.zeros((2, 0, 5)))


def test_products_check_their_arguments():
    a, b = tn.zeros(2, 3, 4), tn.zeros(3, 4, 5)
    with pytest.raises(RuntimeError):
        a.bmm(b)
    with pytest.raises(RuntimeError):
        a[0].outer(a[0, 0])
    with pytest.raises(RuntimeError):
        tn.einsum("ij,jk->ik", a[0], a[0])


def test_binary_cross_entropy_with_logits_at_zero_logits():
    """A zero-initialized head: the gradient at x = 0 is σ(0) - t, scaled by pos_weight where t = 1."""
    target = np.array([1.0, 0.0, 1.0, 0.0])
    for weights in (None, np.array([2.0, 2.0, 0.5, 0.5])):

        def loss(m, x, t, weights=weights):
            pos_weight = None if weights is None else m.tensor(weights, dtype=x.dtype)
            return m.nn.functional.binary_cross_entropy_with_logits(x, t, pos_weight=pos_weight)

        compare(loss, np.zeros(4), target)
