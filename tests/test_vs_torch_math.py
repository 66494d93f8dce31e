"""Element-wise math against torch (tests/torch_compare.py): values, dtypes, gradients and second derivatives in
float32 and float64, on random inputs inside each function's domain, on edge values (signed zeros, infinities,
nan, ties) and on empty tensors; torch's dtype rules for integer and bool inputs; bitwise ops."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402

from .torch_compare import EDGES, compare, normal, uniform  # noqa: E402

# ---- one input ------------------------------------------------------------------------------------------

# inputs inside each function's domain (standard normal elsewhere)
DOMAINS = {
    "asin": uniform(-0.95, 0.95, 3, 4),
    "acos": uniform(-0.95, 0.95, 3, 4),
    "atanh": uniform(-0.95, 0.95, 3, 4),
    "acosh": uniform(1.1, 4.0, 3, 4),
    "log": uniform(0.1, 4.0, 3, 4),
    "log2": uniform(0.1, 4.0, 3, 4),
    "log10": uniform(0.1, 4.0, 3, 4),
    "log1p": uniform(-0.9, 4.0, 3, 4),
    "sqrt": uniform(0.1, 4.0, 3, 4),
    "rsqrt": uniform(0.1, 4.0, 3, 4),
    "reciprocal": uniform(0.5, 4.0, 3, 4) * np.sign(normal(3, 4)),
}
UNARY = [
    *("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh"),
    *("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal", "square"),
    *("abs", "sign", "floor", "ceil", "round", "trunc", "frac", "sigmoid", "erf", "erfc", "relu"),
]


@pytest.mark.parametrize("name", UNARY)
def test_unary_inside_the_domain(name):
    compare(lambda m, x: getattr(m, name)(x), DOMAINS.get(name, normal(3, 4)))


@pytest.mark.parametrize("name", UNARY)
def test_unary_at_the_edges(name):
    compare(lambda m, x: getattr(m, name)(x), EDGES)


@pytest.mark.parametrize("name", UNARY)
def test_unary_on_an_empty_tensor(name):
    compare(lambda m, x: getattr(m, name)(x), np.zeros((0, 3)))


@pytest.mark.parametrize("name", sorted(set(UNARY) - {"frac"}))
def test_unary_of_integers_follows_torch_dtypes(name):
    """A floating function of integers is float32; abs, sign, square and the rounding functions keep int64."""
    compare(lambda m, x: getattr(m, name)(x), np.arange(-3, 4))


@pytest.mark.parametrize("name", ["sin", "exp", "sqrt", "sigmoid", "square", "sign", "log1p"])
def test_unary_of_bools_follows_torch_dtypes(name):
    compare(lambda m, x: getattr(m, name)(x), np.array([True, False]))


def test_python_abs_and_methods_agree():
    x = tn.tensor([-1.5, 2.0])
    np.testing.assert_array_equal(abs(x).numpy(), x.abs().numpy())


def test_round_to_decimals():
    compare(lambda m, x: m.round(x, decimals=2), np.array([1.2345, -2.5551, 0.125, 1e3 / 7]))
    compare(lambda m, x: x.round(decimals=-1), np.array([14.0, 15.0, 25.0, -35.0]))


def test_rounding_halves_to_even():
    compare(lambda m, x: x.round(), np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4999]))


@pytest.mark.parametrize("name", ["frac", "abs"])
def test_unary_refuses_dtypes_torch_refuses(name):
    x = tn.tensor([1, 2]) if name == "frac" else tn.tensor([True])
    with pytest.raises(RuntimeError, match=name):
        getattr(x, name)()


# ---- two inputs -----------------------------------------------------------------------------------------

BINARY = {
    "maximum": lambda m, a, b: m.maximum(a, b),
    "minimum": lambda m, a, b: m.minimum(a, b),
    "max-of-two": lambda m, a, b: m.max(a, b),
    "atan2": lambda m, a, b: m.atan2(a, b),
    "logaddexp": lambda m, a, b: m.logaddexp(a, b),
    "logaddexp2": lambda m, a, b: m.logaddexp2(a, b),
    "copysign": lambda m, a, b: m.copysign(a, b),
    "hypot": lambda m, a, b: m.hypot(a, b),
    "fmod": lambda m, a, b: m.fmod(a, b),
    "remainder": lambda m, a, b: m.remainder(a, b),
    "%": lambda m, a, b: a % b,
    "div-trunc": lambda m, a, b: a.div(b, rounding_mode="trunc"),
    "div-floor": lambda m, a, b: m.div(a, b, rounding_mode="floor"),
    "lerp": lambda m, a, b: m.lerp(a, b, 0.3),
    "lerp-far": lambda m, a, b: a.lerp(b, 0.75),
    "clamp-tensor-bounds": lambda m, a, b: m.clamp(a, min=b, max=b + 0.5),
    "clamp-min-tensor": lambda m, a, b: a.clamp(min=b),
    "clamp-max-tensor": lambda m, a, b: m.clamp(a, max=b),
}


# Second derivatives where torch's differ from the exact ones (gradgradcheck checks ours): copysign's gradient
# is dy·(y / a), whose derivative torch takes literally (rounding noise, nan at 0) where it is exactly 0; atan2's
# gradient is 0 at the origin in both, but torch's second derivative there is nan.
SECOND_ORDER_DIFFERS = {"copysign": "everywhere", "atan2": "at the origin"}


@pytest.mark.parametrize("name", BINARY)
def test_binary_broadcasting(name):
    compare(BINARY[name], normal(3, 1), normal(1, 4, seed=1), second=name != "copysign")


@pytest.mark.parametrize("name", BINARY)
def test_binary_at_the_edges(name):
    """Every pair of edge values: EDGES as a column against EDGES as a row."""
    compare(BINARY[name], EDGES[:, None], EDGES[None, :], second=name not in SECOND_ORDER_DIFFERS)


@pytest.mark.parametrize("name", BINARY)
def test_binary_ties(name):
    a = np.array([1.0, -2.0, 0.0, 3.0])
    compare(BINARY[name], a, a.copy(), second=name not in SECOND_ORDER_DIFFERS)


@pytest.mark.parametrize("name", BINARY)
def test_binary_on_empty_tensors(name):
    compare(BINARY[name], np.zeros((0, 3)), np.zeros((1, 3)))


def test_lerp_with_a_tensor_weight():
    compare(lambda m, a, b, w: m.lerp(a, b, w), normal(3, 4), normal(3, 4, seed=1), uniform(-0.5, 1.5, 3, 4, seed=2))


def test_clamp_where_the_bounds_cross_gives_max_its_gradient():
    x, low = np.array([0.0, 1.0, 2.0, 5.0, 1.0]), np.array([1.0, 1.0, 3.0, 0.0, 2.0])
    high = np.array([2, 0.5, 2.5, 5, 2])
    compare(lambda m, x, lo, hi: m.clamp(x, lo, hi), x, low, high)


def test_clamp_needs_a_bound():
    with pytest.raises(RuntimeError, match="At least one"):
        tn.tensor([1.0]).clamp()


@pytest.mark.parametrize("name", ["fmod", "remainder", "%", "div-trunc", "div-floor"])
def test_integer_division_and_remainders(name):
    compare(BINARY[name], np.array([-7, 7, -7, 7, 0, 6])[:, None], np.array([2, -2, 3, -3, 5])[None, :])


def test_floor_division_operator():
    """torch has no derivative for `//` (floor_divide); ours is zero, as div(rounding_mode="floor")'s."""
    compare(lambda m, a, b: a // b, np.array([-7.0, 7.0, 5.5]), np.array([2.0, -2.0, 0.5]), grad=False)
    compare(lambda m, a, b: a // b, np.array([-7, 7, 5]), np.array([2, -2, 3]))
    compare(lambda m, a: 7 // a, np.array([-2, 3]))
    compare(lambda m, a: 7.5 % a, np.array([-2.0, 3.0]), grad=False)


@pytest.mark.parametrize("op", ["//", "%", "fmod"])
def test_integer_division_by_zero_raises(op):
    a, b = tn.tensor([1, 2]), tn.tensor([1, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        {"//": lambda: a // b, "%": lambda: a % b, "fmod": lambda: a.fmod(b)}[op]()


def test_div_refuses_an_unknown_rounding_mode():
    with pytest.raises(ValueError, match="rounding_mode"):
        tn.tensor([1.0]).div(2, rounding_mode="round")


# ---- bitwise and logical ------------------------------------------------------------------------------

BITWISE = {
    "&": lambda m, a, b: a & b,
    "|": lambda m, a, b: a | b,
    "^": lambda m, a, b: a ^ b,
    "bitwise_and": lambda m, a, b: m.bitwise_and(a, b),
    "bitwise_or": lambda m, a, b: a.bitwise_or(b),
    "bitwise_xor": lambda m, a, b: m.bitwise_xor(a, b),
    "logical_and": lambda m, a, b: m.logical_and(a, b),
    "logical_or": lambda m, a, b: a.logical_or(b),
    "logical_xor": lambda m, a, b: m.logical_xor(a, b),
}


@pytest.mark.parametrize("name", BITWISE)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_])
def test_bitwise(name, dtype):
    a = np.array([0, 1, 5, 12, 255, 3])[:, None].astype(dtype)
    b = np.array([0, 1, 3, 6])[None, :].astype(dtype)
    compare(BITWISE[name], a, b)


@pytest.mark.parametrize("dtype", [np.int64, np.int16, np.bool_])
def test_invert_and_not(dtype):
    a = np.array([0, 1, 5, -3 if dtype != np.bool_ else 0]).astype(dtype)
    compare(lambda m, a: ~a, a)
    compare(lambda m, a: m.bitwise_not(a), a)
    compare(lambda m, a: m.logical_not(a), a)


def test_shifts():
    a, b = np.array([1, 3, -8, 100]), np.array([0, 1, 2, 3])
    compare(lambda m, a, b: a << b, a, b)
    compare(lambda m, a, b: a >> b, a, b)
    compare(lambda m, a, b: m.bitwise_left_shift(a, b), a, b)
    compare(lambda m, a: 1 << a, b)


def test_bitwise_with_python_scalars():
    compare(lambda m, a: (a & 1, 6 | a, a ^ True), np.array([True, False]))
    compare(lambda m, a: (a & 1, 6 | a, 3 ^ a), np.array([1, 2, 7]))


@pytest.mark.parametrize("op", ["&", "|", "^", "~", "<<"])
def test_bitwise_refuses_floats(op):
    x = tn.tensor([1.5])
    ops = {"&": lambda: x & x, "|": lambda: x | 1, "^": lambda: x ^ x, "~": lambda: ~x, "<<": lambda: x << 1}
    with pytest.raises(RuntimeError, match="integer or bool"):
        ops[op]()


# ---- predicates -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
def test_predicates(name):
    compare(lambda m, x: getattr(m, name)(x), EDGES, grad=False)


def test_isclose_and_allclose():
    a = np.array([1.0, np.inf, -np.inf, np.nan, 1e-9, 100.0, 0.0])
    b = np.array([1.0 + 1e-6, np.inf, np.inf, np.nan, 0.0, 100.001, -0.0])
    for nan in (False, True):
        compare(lambda m, a, b, nan=nan: m.isclose(a, b, equal_nan=nan), a, b, grad=False)
        compare(lambda m, a, b, nan=nan: a.isclose(b, rtol=1e-3, atol=0.0, equal_nan=nan), a, b, grad=False)
        compare(lambda m, a, b, nan=nan: m.allclose(a, b, equal_nan=nan), a[[0, 1, 3]], b[[0, 1, 3]], grad=False)


def test_remainder_of_a_number_by_a_tensor():
    """torch has no derivative for remainder(number, tensor): values only."""
    compare(lambda m, x: (m.remainder(5, x), m.remainder(-2.5, x)), np.array([3.0, -2.0, 0.75]), grad=False)


def test_maximum_and_minimum_take_tensors_only():
    for m in (tn, torch):
        with pytest.raises(TypeError, match="must be Tensor"):
            m.maximum(m.tensor([1.0]), 2)
        with pytest.raises(TypeError, match="must be Tensor"):
            m.tensor([1.0]).minimum(2.0)


def test_dtype_conversion_methods():
    compare(lambda m, x: (x.int(), x.long(), x.bool(), x.float(), x.double()), np.array([0.0, 1.7, -2.5]))
    assert tn.tensor([1.5]).half().dtype == np.float16


def test_operator_names():
    compare(
        lambda m, a, b: (
            m.add(a, b, alpha=2),
            a.sub(b, alpha=0.5),
            m.subtract(a, 1.5),
            m.mul(a, b),
            a.multiply(3),
            m.pow(a.abs() + 0.5, b),
            m.pow(2.0, a),
            a.pow(2),
            m.neg(a),
            a.negative(),
            m.positive(a),
            m.rsub(a, b),
            m.rsub(a, 2.0, alpha=3),
        ),
        normal(2, 3),
        normal(3, seed=1),
    )


def test_more_binary_math():
    a = np.array([0.0, 1.5, -2.0, np.nan, 3.0, 0.0, np.inf])
    b = np.array([2.0, np.nan, -2.0, 1.0, 0.5, 0.0, 1.0])
    compare(lambda m, a, b: (m.fmax(a, b), a.fmin(b)), a, b)
    compare(lambda m, a, b: m.xlogy(a, b.abs()), np.delete(a, 5), np.delete(b, 5))
    # at self = other = 0 torch's gradient of other is 0 / 0 = nan; ours is 0, as that of self
    x, y = tn.zeros(1, requires_grad=True), tn.zeros(1, requires_grad=True)
    out = x.xlogy(y)
    out.backward(tn.ones(1))
    assert out.tolist() == [0.0] and x.grad.tolist() == [0.0] and y.grad.tolist() == [0.0]
    compare(
        lambda m, a, b, c: (m.addcmul(a, b, c, value=0.5), a.addcdiv(b, c.abs() + 1, value=-2)),
        *(normal(4, seed=i) for i in range(3)),
    )


def test_logit_sgn_nan_to_num():
    p = np.array([0.0, 0.3, 0.5, 0.99, 1.0])
    compare(lambda m, p: (m.logit(p[1:4]), p[1:4].logit(eps=0.05), m.logit(p[1:4], 0.3)), p)
    # clamped by eps: torch's second derivative outside [eps, 1 - eps] is nan, ours 0 (the clamp is flat there)
    compare(lambda m, p: (p.logit(eps=0.05), m.logit(p, 0.3)), p, second=False)
    compare(lambda m, x: (x.sgn(), m.nan_to_num(x), x.nan_to_num(nan=1.0, posinf=2.0, neginf=-3.0)), EDGES)
    compare(lambda m, x: m.nan_to_num(x), np.array([1, -2, 3]))


def test_angles_float_power_signbit():
    compare(lambda m, x: (x.deg2rad(), m.rad2deg(x), m.float_power(x.abs(), 1.5), x.float_power(2)), normal(5))
    compare(lambda m, x: m.signbit(x), EDGES, grad=False)
    assert tn.zeros(2, 3).ndimension() == 2
