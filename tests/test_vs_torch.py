"""Forward values and gradients against torch in float64: the same expression in both frameworks,
the same upstream gradient sent back through each. Where our side runs in float32 (the softmax
family at extreme logits), torch's float64 result is still the reference."""

from __future__ import annotations

import itertools
import operator

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402
from tinygrad_norm import Tensor  # noqa: E402
from tinygrad_norm.nn import functional  # noqa: E402

TF = torch.nn.functional

# rounding of a few float ops on O(1) values, by the dtype our side runs in
TOLERANCES = {np.float64: {"rtol": 1e-10, "atol": 1e-12}, np.float32: {"rtol": 1e-5, "atol": 1e-6}}


def _compare(ours, theirs, *arrays: np.ndarray, seed: int = 0) -> Tensor:
    """Run ours on copies of `arrays` (floating ones require grad) and torch on float64 copies, send
    the same seeded upstream gradient back, and assert that outputs and every input gradient agree
    and that our output keeps the inputs' floating dtype."""
    our_inputs = [Tensor(a.copy(), requires_grad=a.dtype.kind == "f") for a in arrays]
    their_inputs = [torch.tensor(a.astype(np.float64) if a.dtype.kind == "f" else a) for a in arrays]
    for t in their_inputs:
        t.requires_grad_(t.dtype == torch.float64)
    out, expected = ours(*our_inputs), theirs(*their_inputs)
    assert out.dtype == next(a.dtype for a in arrays if a.dtype.kind == "f")
    tolerance = TOLERANCES[out.dtype.type]
    np.testing.assert_allclose(out.numpy(), expected.detach().numpy(), **tolerance, err_msg="forward")
    upstream = np.random.default_rng(seed).standard_normal(out.shape)
    out.backward(Tensor(upstream.astype(out.dtype)))
    expected.backward(torch.from_numpy(upstream))
    for i, (mine, theirs_) in enumerate(zip(our_inputs, their_inputs)):
        if theirs_.requires_grad:
            np.testing.assert_allclose(mine.grad.numpy(), theirs_.grad.numpy(), **tolerance, err_msg=f"grad {i}")
    return out


def _normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def _positive(*shape: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.5, 2.0, shape)


def same(expression, *arrays, id: str):
    """A case whose expression reads the same in both frameworks."""
    return pytest.param(expression, expression, arrays, id=id)


def pair(ours, theirs, *arrays, id: str):
    return pytest.param(ours, theirs, arrays, id=id)


_REPEATED = np.array([[0, 2], [2, 2]])
_MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, False]])
# exactly on the kinks of relu/abs/clip, where the subgradient is a convention to match
_KINKS = np.array([-2.0, -0.5, -0.25, 0.0, 0.25, 0.5, 3.0])
_EXTREMES = np.array([-1000.0, -50.0, -3.0, 0.0, 3.0, 50.0, 1000.0])

CASES = [
    same(lambda a, b: a * b + a / b - b**2 + 1 / a, _positive(2, 3), _positive(3), id="arithmetic-broadcast"),
    same(lambda a, b: a**b, _positive(2, 3), _normal(2, 1), id="pow-tensor-exponent"),
    # torch's limits: d/da is 0 where b == 0 (also at a == 0), d/db is 0 where a == 0 and b >= 0
    same(lambda a, b: a**b, np.array([0.0, 0.0, 2.0, -2.0]), np.array([0.0, 2.0, 0.0, 0.0]), id="pow-at-zero"),
    same(lambda a, b: a @ b, _normal(2, 1, 2, 3), _normal(3, 3, 2), id="matmul-batch-broadcast"),
    same(lambda a, b: a @ b, _normal(3), _normal(2, 3, 4), id="matmul-vector-batch"),
    same(lambda a, b: a @ b, _normal(2, 2, 3), _normal(3), id="matmul-batch-vector"),
    same(lambda a, b: a @ b, _normal(3), _normal(3), id="matmul-dot"),
    same(lambda x: x @ x.T, _normal(3, 2), id="matmul-x-xT"),
    same(lambda x: x.var(dim=1, correction=0, keepdim=True), _normal(2, 3, 4), id="var-correction0"),
    same(lambda x: x.std(dim=(0, 2)), _normal(2, 3, 4), id="std-correction1"),
    same(lambda x: x.mean(dim=-1) + x.sum(dim=0).sum(), _normal(3, 4), id="mean-sum"),
    same(lambda x: x.logsumexp(dim=1), _normal(2, 3, 4), id="logsumexp"),
    same(lambda x: x.softmax(dim=-1), _normal(2, 3, 4), id="softmax"),
    same(lambda x: x.log_softmax(dim=0), _normal(2, 3, 4), id="log_softmax"),
    same(lambda x: x.amax(1), np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), id="amax-ties"),
    same(lambda x: x.amin((0, 1)), np.array([[1.0, -3.0], [-3.0, -3.0]]), id="amin-ties"),
    # max(dim)/min(dim) pass the gradient to the one index they return, the first of tied elements
    same(lambda x: x.max(1).values, np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), id="max-dim-ties"),
    same(lambda x: x.min(0, keepdim=True).values, np.array([[1.0, -3.0], [-3.0, -3.0]]), id="min-dim-ties"),
    same(lambda x: x.max(), np.array([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]]), id="max-all-ties"),
    same(lambda x: x.permute(2, 0, 1).reshape(4, -1).T.unsqueeze(0).expand(2, -1, -1), _normal(2, 3, 4), id="movement"),
    same(lambda x: x.flatten(0, 1).squeeze().transpose(0, 1), _normal(1, 1, 3, 4), id="flatten-squeeze-transpose"),
    same(lambda x: x.clone() * x + x.t() @ x, _normal(3, 3), id="clone-t"),
    same(lambda x: x.mT @ x, _normal(2, 3, 4), id="mT"),
    same(lambda x: (x * 2).add_(x).mul_(x).clamp_(-1.0, 1.0), _normal(2, 3), id="in-place-on-a-non-leaf"),
    pair(lambda x: x[_REPEATED], lambda x: x[torch.from_numpy(_REPEATED)], _normal(3, 4), id="getitem-repeated"),
    same(lambda x: x[1:, [3, 3, 0]] * x[[0, 0, 2], [1, 1, 3]].sum(), _normal(3, 4), id="getitem-mixed-repeated"),
    pair(lambda x: x[::-1, 1::2], lambda x: x.flip(0)[:, 1::2], _normal(3, 4), id="getitem-negative-step"),
    pair(lambda x: x[_MASK], lambda x: x[torch.from_numpy(_MASK)], _normal(3, 4), id="getitem-bool-mask"),
    pair(
        lambda x: x.pad(((0, 0), (2, 1)), value=0.5),
        lambda x: TF.pad(x, (2, 1), value=0.5),
        _normal(2, 3),
        id="pad",
    ),
    pair(
        lambda a, b: tn.cat([a, b, a], dim=1) * tn.stack([b, b], dim=0).sum(),
        lambda a, b: torch.cat([a, b, a], dim=1) * torch.stack([b, b], dim=0).sum(),
        _normal(2, 3),
        _normal(2, 3, seed=1),
        id="cat-stack",
    ),
    pair(
        lambda a, b: tn.where(a.data > 0, a, b),
        lambda a, b: torch.where(a > 0, a, b),
        _normal(2, 3),
        _normal(3),
        id="where",
    ),
    same(lambda x: x.exp() + x.abs().log() + x.abs().sqrt() + x.abs().rsqrt(), _normal(2, 3), id="exp-log-sqrt"),
    same(lambda x: x.abs() + x.clip(-0.5, 0.25) + x.relu(), _KINKS, id="kinks"),
    pair(lambda x: x.leaky_relu(0.1), lambda x: TF.leaky_relu(x, 0.1), _KINKS, id="leaky_relu"),
    same(lambda x: x.tanh() * x.sigmoid(), _EXTREMES, id="tanh-sigmoid-extremes"),
    pair(lambda x: x.gelu(), lambda x: TF.gelu(x), np.concatenate([_KINKS, _EXTREMES]), id="gelu-exact"),
    pair(
        lambda x: x.gelu(approximate="tanh"),
        lambda x: TF.gelu(x, approximate="tanh"),
        np.concatenate([_KINKS, _EXTREMES]),
        id="gelu-tanh",
    ),
]


@pytest.mark.parametrize(("ours", "theirs", "arrays"), CASES)
def test_op(ours, theirs, arrays):
    _compare(ours, theirs, *arrays)


# ---- type promotion -----------------------------------------------------------------------------

_OPERANDS = {
    "f32": np.array([1.5, 2.0], np.float32),
    "f64": np.array([1.5, 2.0], np.float64),
    "f16": np.array([1.5, 2.0], np.float16),
    "i64": np.array([1, 2], np.int64),
    "i8": np.array([1, 2], np.int8),
    "u8": np.array([1, 2], np.uint8),
    "bool": np.array([True, False]),
    "f64-0d": np.array(2.0),
    "i64-0d": np.array(3),
    "float": 2.5,
    "int": 3,
    "bool-scalar": True,
}


def _both(operand):
    """Our tensor and torch's for an array, or the Python scalar itself."""
    if isinstance(operand, np.ndarray):
        return Tensor(operand), torch.from_numpy(operand)
    return operand, operand


_PROMOTION_PAIRS = [
    ("f32", "f64"),
    ("f32", "i64"),
    ("i64", "f32"),
    ("f16", "i64"),
    ("i64", "float"),
    ("bool", "int"),
    ("bool", "float"),
    ("u8", "i8"),
    ("i8", "int"),
    ("f32", "f64-0d"),
    ("i64", "f64-0d"),
    ("i8", "i64-0d"),
    ("f32", "float"),
    ("i64", "bool-scalar"),
]


@pytest.mark.parametrize(
    ("left", "right", "op"),
    [
        (left, right, op)
        for op in ["add", "mul", "truediv", "pow", "where"]
        for left, right in _PROMOTION_PAIRS
        if not (op == "pow" and "bool" in left + right)  # torch has no pow for bool
    ],
)
def test_result_dtype_follows_torch_promotion(left, right, op):
    (our_left, their_left), (our_right, their_right) = _both(_OPERANDS[left]), _both(_OPERANDS[right])
    if op == "where":
        ours = tn.where(np.array([True, False]), our_left, our_right)
        theirs = torch.where(torch.tensor([True, False]), their_left, their_right)
    else:
        ours = getattr(operator, op)(our_left, our_right)
        theirs = getattr(operator, op)(their_left, their_right)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_allclose(ours.numpy().astype(np.float64), theirs.numpy().astype(np.float64), rtol=1e-3)


@pytest.mark.parametrize("other", ["i64", "f64"])
def test_cat_promotes_as_torch(other):
    ours = tn.cat([Tensor(_OPERANDS["f32"]), Tensor(_OPERANDS[other])])
    theirs = torch.cat([torch.from_numpy(_OPERANDS["f32"]), torch.from_numpy(_OPERANDS[other])])
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")


# ---- the softmax family at extreme logits ------------------------------------------------------

_HUGE_LOGITS = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4], [1e4, 1e4, 0.0]])

EXTREME = {
    "softmax": (lambda x: x.softmax(dim=-1), lambda x: x.softmax(dim=-1)),
    "log_softmax": (lambda x: x.log_softmax(dim=-1), lambda x: x.log_softmax(dim=-1)),
    "logsumexp": (lambda x: x.logsumexp(dim=0), lambda x: x.logsumexp(dim=0)),
    "cross_entropy": (
        lambda x: functional.cross_entropy(x, np.array([1, 2, 0])),
        lambda x: TF.cross_entropy(x, torch.tensor([1, 2, 0])),
    ),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", EXTREME)
def test_softmax_family_stays_finite_at_extreme_logits(name, dtype):
    ours, theirs = EXTREME[name]
    out = _compare(ours, theirs, _HUGE_LOGITS.astype(dtype))
    assert np.isfinite(out.numpy()).all()


# ---- losses ------------------------------------------------------------------------------------

_WEIGHT = np.array([0.3, 1.0, 2.5])
_TARGETS = {"NC": np.array([0, 2, 1, 2, 1]), "NCd": np.array([[0, 2, 1], [2, 1, 1]])}
_SCORES = {"NC": _normal(5, 3), "NCd": _normal(2, 3, 3)}


def _with_ignored(targets: np.ndarray, ignore_index: int) -> np.ndarray:
    """Mark the first and last targets ignored."""
    flat = targets.copy().reshape(-1)
    flat[[0, -1]] = ignore_index
    return flat.reshape(targets.shape)


@pytest.mark.parametrize("layout", ["NC", "NCd"])
@pytest.mark.parametrize("ignore_index", [None, -100, 1], ids=["no-ignore", "ignore-default", "ignore-class"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    ("loss", "label_smoothing"), [("cross_entropy", 0.0), ("cross_entropy", 0.25), ("nll_loss", 0.0)]
)
def test_class_losses(loss, label_smoothing, reduction, weighted, ignore_index, layout):
    targets = _TARGETS[layout] if ignore_index is None else _with_ignored(_TARGETS[layout], ignore_index)
    options = {"reduction": reduction, "ignore_index": -100 if ignore_index is None else ignore_index}
    if loss == "cross_entropy":
        options["label_smoothing"] = label_smoothing
    ours, theirs = getattr(functional, loss), getattr(TF, loss)
    our_weight, their_weight = (Tensor(_WEIGHT), torch.tensor(_WEIGHT)) if weighted else (None, None)
    _compare(
        lambda x, t: ours(x, t, weight=our_weight, **options),
        lambda x, t: theirs(x, t, weight=their_weight, **options),
        _SCORES[layout],
        targets,
    )


@pytest.mark.parametrize("layout", ["NC", "NCd"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_with_probability_targets(label_smoothing, reduction, weighted, layout):
    scores = _SCORES[layout]
    probabilities = np.random.default_rng(5).dirichlet(np.ones(3), scores.shape[:1] + scores.shape[2:])
    probabilities = np.moveaxis(probabilities, -1, 1)
    our_weight, their_weight = (Tensor(_WEIGHT), torch.tensor(_WEIGHT)) if weighted else (None, None)
    options = {"reduction": reduction, "label_smoothing": label_smoothing}
    _compare(
        lambda x, p: functional.cross_entropy(x, p, weight=our_weight, **options),
        lambda x, p: TF.cross_entropy(x, p, weight=their_weight, **options),
        scores,
        probabilities,
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_cross_entropy_with_every_target_ignored_is_nan_with_zero_gradients(label_smoothing):
    scores = Tensor(_normal(4, 3), requires_grad=True)
    loss = functional.cross_entropy(scores, np.full(4, -100), label_smoothing=label_smoothing)
    loss.backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(scores.grad.numpy(), np.zeros((4, 3)))


def test_mse_loss_warns_when_shapes_broadcast_as_torch():
    with pytest.warns(UserWarning, match="target size"):
        TF.mse_loss(torch.zeros(2, 3), torch.zeros(3))
    with pytest.warns(UserWarning, match="target shape"):
        functional.mse_loss(Tensor(np.zeros((2, 3))), Tensor(np.zeros(3)))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_loss(reduction):
    _compare(
        lambda x, t: functional.mse_loss(x, t, reduction=reduction),
        lambda x, t: TF.mse_loss(x, t, reduction=reduction),
        _normal(2, 3),
        _normal(2, 3, seed=1),
    )


@pytest.mark.parametrize(("weighted", "pos_weighted"), list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction, weighted, pos_weighted):
    weight, pos_weight = _positive(3, seed=2), _positive(3, seed=3)

    def options(to_tensor):
        return {
            "weight": to_tensor(weight) if weighted else None,
            "pos_weight": to_tensor(pos_weight) if pos_weighted else None,
            "reduction": reduction,
        }

    _compare(
        lambda x, t: functional.binary_cross_entropy_with_logits(x * 30, t, **options(Tensor)),
        lambda x, t: TF.binary_cross_entropy_with_logits(x * 30, t, **options(torch.tensor)),
        _normal(2, 3),
        np.random.default_rng(4).uniform(0, 1, (2, 3)),
    )
