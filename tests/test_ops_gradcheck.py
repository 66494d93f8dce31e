"""Every differentiable op against float64 central differences (`tinygrad_norm.gradcheck`).

Shapes are tiny: gradcheck runs two forwards per input element. Random inputs are seeded and keep
away from the kinks of abs/relu/clip/max, where central differences are not a derivative.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import GradcheckError, Tensor, gradcheck
from tinygrad_norm.autograd import Function
from tinygrad_norm.nn import functional


def _inputs(shapes, positive: bool = False, seed: int = 0) -> list[Tensor]:
    """float64 leaves that require grad: standard normal, or uniform in [0.5, 2) where `positive`."""
    rng = np.random.default_rng(seed)
    draw = (lambda shape: rng.uniform(0.5, 2.0, shape)) if positive else rng.standard_normal
    return [Tensor(draw(shape), requires_grad=True) for shape in shapes]


def case(fn, *shapes, positive: bool = False, id: str):
    return pytest.param(fn, shapes, positive, id=id)


def _check(fn, shapes, positive: bool) -> None:
    assert gradcheck(fn, *_inputs(shapes, positive))


# ---- element-wise ----------------------------------------------------------------------------

ELEMENTWISE = [
    case(lambda a, b: a + b, (2, 3), (3,), id="add-broadcast"),
    case(lambda a, b: a - b, (2, 1), (1, 3), id="sub-outer-broadcast"),
    case(lambda a, b: a * b, (4, 1, 3), (2, 3), id="mul-broadcast"),
    case(lambda a, b: a / b, (2, 3), (2, 1), positive=True, id="div-broadcast"),
    case(lambda a: 3.0 - a, (2, 3), id="rsub-scalar"),
    case(lambda a: 2.0 / a, (2, 3), positive=True, id="rdiv-scalar"),
    case(lambda a: a / 4, (2, 3), id="div-int-scalar"),
    case(lambda a: -a, (2, 3), id="neg"),
    case(lambda a: a**3, (2, 3), id="pow-int-exponent"),
    case(lambda a: a**-1.5, (2, 3), positive=True, id="pow-negative-exponent"),
    case(lambda a: a**0.5, (2, 3), positive=True, id="pow-fractional-exponent"),
    case(lambda a, b: a**b, (2, 3), (2, 3), positive=True, id="pow-tensor-exponent"),
    case(lambda a, b: a**b, (2, 3), (3,), positive=True, id="pow-tensor-exponent-broadcast"),
    case(lambda a: 2.0**a, (2, 3), id="rpow-scalar-base"),
    case(lambda a: a.exp(), (2, 3), id="exp"),
    case(lambda a: a.log(), (2, 3), positive=True, id="log"),
    case(lambda a: a.sqrt(), (2, 3), positive=True, id="sqrt"),
    case(lambda a: a.rsqrt(), (2, 3), positive=True, id="rsqrt"),
    case(lambda a: a.abs(), (2, 3), id="abs"),
    case(lambda a: a.clip(-0.5, 0.5), (3, 4), id="clip"),
    case(lambda a: a.clip(min=0.2), (3, 4), id="clip-min-only"),
    case(lambda a: a.clamp(max=-0.1), (3, 4), id="clamp-max-only"),
    case(lambda a: a.tanh(), (2, 3), id="tanh"),
    case(lambda a: a.sigmoid(), (2, 3), id="sigmoid"),
    case(lambda a: (a * 20).sigmoid(), (2, 3), id="sigmoid-saturated"),
    case(lambda a: a.relu(), (3, 4), id="relu"),
    case(lambda a: a.leaky_relu(0.1), (3, 4), id="leaky_relu"),
    case(lambda a: a.gelu(), (3, 4), id="gelu-exact"),
    case(lambda a: a.gelu(approximate="tanh"), (3, 4), id="gelu-tanh"),
    case(lambda a, b: tn.where(a.data > 0, a, b), (2, 3), (3,), id="where-broadcast"),
    case(lambda a: tn.where(a.data > 0, a * 2, 0.5), (2, 3), id="where-scalar"),
]


@pytest.mark.parametrize(("fn", "shapes", "positive"), ELEMENTWISE)
def test_elementwise(fn, shapes, positive):
    _check(fn, shapes, positive)


def test_astype_round_trip():
    """Through float32 and back: a linear function, so a large eps gives exact differences even
    though the forward rounds to float32; the gradient must come back in the leaf's float64."""
    (x,) = _inputs([(2, 3)])
    assert gradcheck(lambda t: t.astype(np.float32).astype(np.float64) * 3, x, eps=1e-2)
    assert x.grad.dtype == np.float64


# ---- matmul ----------------------------------------------------------------------------------

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((2, 3), (3, 4)),
    ((2, 2, 3), (3,)),
    ((3,), (2, 3, 4)),
    ((2, 2, 3), (2, 3, 4)),
    ((2, 1, 2, 3), (3, 3, 2)),
    ((1, 2, 3), (2, 1, 3, 2)),
]


@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES, ids=str)
def test_matmul(a_shape, b_shape):
    _check(lambda a, b: a @ b, (a_shape, b_shape), positive=False)


LINEAR_X_SHAPES = [(3,), (2, 3), (2, 2, 3), (0, 3)]  # x (*, in) for W (4, in)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape", LINEAR_X_SHAPES, ids=str)
def test_linear(x_shape, bias):
    shapes = (x_shape, (4, 3), (4,)) if bias else (x_shape, (4, 3))
    _check(functional.linear, shapes, positive=False)


def test_linear_with_a_1d_weight():
    _check(functional.linear, ((2, 3), (3,)), positive=False)


# ---- reductions and the softmax family ------------------------------------------------------

REDUCTIONS = {
    "sum": lambda x, axis, keepdims: x.sum(axis, keepdims=keepdims),
    "mean": lambda x, axis, keepdims: x.mean(axis, keepdims=keepdims),
    "var-correction0": lambda x, axis, keepdims: x.var(axis, correction=0, keepdims=keepdims),
    "var-correction1": lambda x, axis, keepdims: x.var(axis, correction=1, keepdims=keepdims),
    "std-correction0": lambda x, axis, keepdims: x.std(axis, correction=0, keepdims=keepdims),
    "std-correction1": lambda x, axis, keepdims: x.std(axis, correction=1, keepdims=keepdims),
    "amax": lambda x, axis, keepdims: x.amax(axis, keepdims=keepdims),
    "amin": lambda x, axis, keepdims: x.amin(axis, keepdims=keepdims),
    "logsumexp": lambda x, axis, keepdims: x.logsumexp(axis, keepdims=keepdims),
}


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, -1, (0, 2), (-1, 0)], ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction(name, axis, keepdims):
    reduce = REDUCTIONS[name]
    _check(lambda x: reduce(x, axis, keepdims), [(2, 3, 2)], positive=False)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_values_along_a_dim(name, dim, keepdim):
    _check(lambda x: getattr(x, name)(dim, keepdim=keepdim).values, [(2, 3, 2)], positive=False)


@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, axis):
    _check(lambda x: getattr(x, name)(axis), [(2, 3, 2)], positive=False)


# ---- movement and indexing -------------------------------------------------------------------

_MASK = np.array([[True, False, True], [False, False, True]])
_REPEATED = np.array([0, 2, 0, 0])

MOVEMENT = [
    case(lambda x: x.reshape(3, 2), (2, 3), id="reshape"),
    case(lambda x: x.view(-1), (2, 3), id="view-minus-one"),
    case(lambda x: x.flatten(1), (2, 3, 2), id="flatten"),
    case(lambda x: x.transpose(0, 2), (2, 3, 2), id="transpose"),
    case(lambda x: x.permute(2, 0, 1), (2, 3, 2), id="permute"),
    case(lambda x: x.T, (2, 3), id="T"),
    case(lambda x: x.unsqueeze(1), (2, 3), id="unsqueeze"),
    case(lambda x: x.unsqueeze(-1), (2, 3), id="unsqueeze-negative"),
    case(lambda x: x.squeeze(1), (2, 1, 3), id="squeeze-dim"),
    case(lambda x: x.squeeze(), (1, 3, 1), id="squeeze-all"),
    case(lambda x: x.squeeze((0, 1, -1)), (1, 3, 1), id="squeeze-dims-skipping-non-1"),
    case(lambda x: x.expand(2, 4, 3), (2, 1, 3), id="expand"),
    case(lambda x: x.expand(2, -1, 3), (4, 3), id="expand-new-axis"),
    case(lambda x: x.pad(((1, 0), (2, 1)), value=0.5), (2, 3), id="pad"),
    case(lambda x: x[1:, ::2], (3, 4), id="getitem-slices"),
    case(lambda x: x[::-1, ::-2], (3, 4), id="getitem-negative-steps"),
    case(lambda x: x[None, ..., 1], (3, 4), id="getitem-none-ellipsis"),
    case(lambda x: x[1], (3, 4), id="getitem-int"),
    case(lambda x: x[_REPEATED], (3, 4), id="getitem-repeated-indices"),
    case(lambda x: x[Tensor(_REPEATED), Tensor(_REPEATED[::-1])], (3, 4), id="getitem-repeated-index-pairs"),
    case(lambda x: x[1:, [2, 2, 0]], (3, 4), id="getitem-slice-and-repeated"),
    case(lambda x: x[np.array([[0, 1], [1, 1]]), 1:], (3, 4), id="getitem-2d-index-array-and-slice"),
    case(lambda x: x[_MASK], (2, 3), id="getitem-bool-mask"),
    case(lambda x: x[Tensor(_MASK[0])], (3, 2), id="getitem-bool-mask-tensor"),
    case(lambda a, b: tn.cat([a, b, a], axis=0), (2, 3), (1, 3), id="cat-axis0-repeated-input"),
    case(lambda a, b: tn.cat([a, b], axis=-1), (2, 3), (2, 1), id="cat-negative-axis"),
    case(lambda a, b: tn.stack([a, b]), (2, 3), (2, 3), id="stack"),
    case(lambda a, b: tn.stack([a, b, b], axis=-1), (2, 3), (2, 3), id="stack-negative-axis"),
]


@pytest.mark.parametrize(("fn", "shapes", "positive"), MOVEMENT)
def test_movement(fn, shapes, positive):
    _check(fn, shapes, positive)


# ---- losses ----------------------------------------------------------------------------------

_TARGETS = np.array([0, 2, 1, 2])
_IGNORED = np.array([0, -100, 1, -100])
_WEIGHT = Tensor(np.array([0.2, 1.0, 3.0]))
_SPATIAL_TARGETS = np.array([[0, 2], [1, -100]])

LOSSES = [
    case(lambda x: functional.cross_entropy(x, _TARGETS), (4, 3), id="cross_entropy"),
    case(lambda x: functional.cross_entropy(x, _TARGETS, reduction="sum"), (4, 3), id="cross_entropy-sum"),
    case(lambda x: functional.cross_entropy(x, _TARGETS, reduction="none"), (4, 3), id="cross_entropy-none"),
    case(lambda x: functional.cross_entropy(x, _TARGETS, label_smoothing=0.2), (4, 3), id="cross_entropy-smoothing"),
    case(lambda x: functional.cross_entropy(x, _TARGETS, weight=_WEIGHT), (4, 3), id="cross_entropy-weight"),
    case(lambda x: functional.cross_entropy(x, _IGNORED), (4, 3), id="cross_entropy-ignore-default"),
    case(lambda x: functional.cross_entropy(x, _TARGETS, ignore_index=2), (4, 3), id="cross_entropy-ignore-class"),
    case(lambda x: functional.cross_entropy(x, _SPATIAL_TARGETS), (2, 3, 2), id="cross_entropy-NCd"),
    case(lambda x: functional.cross_entropy(x, np.array(1), label_smoothing=0.1), (3,), id="cross_entropy-unbatched"),
    case(
        lambda x: functional.cross_entropy(x, _SPATIAL_TARGETS, weight=_WEIGHT, label_smoothing=0.1),
        (2, 3, 2),
        id="cross_entropy-NCd-weight-ignore-smoothing",
    ),
    case(
        lambda x: functional.cross_entropy(x, _IGNORED, weight=_WEIGHT, label_smoothing=0.3, reduction="sum"),
        (4, 3),
        id="cross_entropy-weight-ignore-smoothing-sum",
    ),
    case(
        lambda x: functional.cross_entropy(x, _SPATIAL_TARGETS, weight=_WEIGHT, label_smoothing=0.1, reduction="none"),
        (2, 3, 2),
        id="cross_entropy-NCd-weight-ignore-smoothing-none",
    ),
    case(
        lambda x: functional.nll_loss(x.log_softmax(1), _IGNORED, weight=_WEIGHT), (4, 3), id="nll_loss-weight-ignore"
    ),
    case(lambda x: functional.nll_loss(x, _TARGETS, reduction="none"), (4, 3), id="nll_loss-none"),
    case(lambda x: functional.mse_loss(x, np.ones((2, 3))), (2, 3), id="mse_loss"),
    case(lambda x, t: functional.mse_loss(x, t, reduction="sum"), (2, 3), (2, 3), id="mse_loss-sum-both-inputs"),
    case(lambda x, t: functional.mse_loss(x, t, reduction="none"), (2, 3), (2, 3), id="mse_loss-none"),
    case(
        lambda x, t: functional.binary_cross_entropy_with_logits(x * 4, t.sigmoid()),
        (2, 3),
        (2, 3),
        id="bce_with_logits-both-inputs",
    ),
    case(
        lambda x, w: functional.binary_cross_entropy_with_logits(
            x * 4, _MASK.astype(np.float64), weight=w, reduction="sum"
        ),
        (2, 3),
        (3,),
        id="bce_with_logits-weight",
    ),
    case(
        lambda x, p: functional.binary_cross_entropy_with_logits(x * 4, _MASK.astype(np.float64), pos_weight=p.abs()),
        (2, 3),
        (3,),
        id="bce_with_logits-pos_weight",
    ),
    case(
        lambda x: functional.binary_cross_entropy_with_logits(
            x, _MASK.astype(np.float64), reduction="none", pos_weight=_WEIGHT
        ),
        (2, 3),
        id="bce_with_logits-pos_weight-none",
    ),
]


@pytest.mark.parametrize(("fn", "shapes", "positive"), LOSSES)
def test_loss(fn, shapes, positive):
    _check(fn, shapes, positive)


# ---- graphs that reuse inputs ----------------------------------------------------------------

GRAPHS = [
    case(lambda x: x * x, (2, 3), id="x*x"),
    case(lambda x: x @ x.T, (2, 3), id="x@x.T"),
    case(lambda x: (x + x * x).sum() + x.mean() * x.amax(), (2, 3), id="x-used-four-times"),
    case(lambda x, y: (x * y).softmax(-1) * y - x.exp().log_softmax(0), (2, 3), (3,), id="shared-branches"),
    case(
        lambda x, w1, b1, w2, b2: functional.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, _TARGETS[:3]),
        (3, 4),
        (4, 5),
        (5,),
        (5, 3),
        (3,),
        id="two-layer-mlp",
    ),
]


@pytest.mark.parametrize(("fn", "shapes", "positive"), GRAPHS)
def test_graph(fn, shapes, positive):
    _check(fn, shapes, positive)


# ---- gradcheck itself ------------------------------------------------------------------------

WRONG_BACKWARDS = {
    "missing-factor": lambda x, grad: grad * x,  # d(x²)/dx is 2x
    "nan": lambda x, grad: grad * np.nan,
}


@pytest.mark.parametrize("name", WRONG_BACKWARDS)
def test_gradcheck_catches_a_wrong_backward(name):
    wrong_rule = WRONG_BACKWARDS[name]

    class WrongSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return wrong_rule(self.x, grad)

    x = Tensor(np.array([0.5, -3.0, 1.5]), requires_grad=True)
    with pytest.raises(GradcheckError) as error:
        gradcheck(lambda t: WrongSquare.apply(t).sum(), x)
    message = str(error.value)
    match = re.search(r"input 0 .* at index \((\d+),\): backward gave (\S+), central differences give (\S+)", message)
    assert match, message
    index, analytic, numerical = int(match[1]), float(match[2]), float(match[3])
    if name == "nan":
        assert np.isnan(analytic)
    else:
        assert index == 1  # the largest |x|, so the largest absolute error
        assert numerical == pytest.approx(2 * analytic, rel=1e-6)


def test_gradcheck_needs_float64_inputs_that_require_grad():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda t: t * 2, Tensor(np.ones(2, np.float32), requires_grad=True))
    with pytest.raises(ValueError, match="no input requires grad"):
        gradcheck(lambda t: t * 2, Tensor(np.ones(2)))
