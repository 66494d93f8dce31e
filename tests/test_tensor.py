"""Tensor construction and dtype rules, attributes, conversions, comparisons, grad mode and seeding."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor
from tinygrad_norm.random import dropout_stream, generator

# ---- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "dtype", "expected"),
    [
        (1.5, None, np.float32),
        ([[1.0, 2.0], [3.0, 4.0]], None, np.float32),
        ([1, 2], None, np.int64),
        (3, None, np.int64),
        ([True, False], None, np.bool_),
        (np.ones(2), None, np.float64),
        (np.ones(2, np.float16), None, np.float16),
        (np.float64(2.0), None, np.float64),
        (np.arange(3, dtype=np.int32), None, np.int32),
        ([1, 2], np.float64, np.float64),
        (1.5, "float64", np.float64),
        (np.ones(2), "float32", np.float32),
    ],
)
def test_dtype_rules(data, dtype, expected):
    t = Tensor(data, dtype=dtype)
    assert t.dtype == expected
    np.testing.assert_array_equal(t.numpy(), np.asarray(data).astype(expected))


def test_tensor_function_matches_the_constructor():
    t = tn.tensor([1.0, 2.0], requires_grad=True, dtype=np.float64)
    assert t.dtype == np.float64 and t.requires_grad and t.is_leaf


def test_construction_copies_its_data():
    array = np.zeros(3)
    source = Tensor(array)
    copy = Tensor(source)
    array[0] = 5
    copy.data[1] = 5
    np.testing.assert_array_equal(source.numpy(), [0, 0, 0])


def test_an_unknown_dtype_raises():
    with pytest.raises(TypeError, match="dtype"):
        Tensor([1.0], dtype="not-a-dtype")


@pytest.mark.parametrize("data", [[1, 2], [True, False]])
def test_only_floating_tensors_can_require_grad(data):
    with pytest.raises(TypeError, match="floating point"):
        Tensor(data, requires_grad=True)
    with pytest.raises(TypeError, match="floating point"):
        Tensor(data).requires_grad_()


@pytest.mark.parametrize(
    ("make", "shape", "dtype"),
    [
        (lambda: tn.zeros(2, 3), (2, 3), np.float32),
        (lambda: tn.zeros((2, 3), dtype=np.float64), (2, 3), np.float64),
        (lambda: tn.ones(4), (4,), np.float32),
        (lambda: tn.ones(), (), np.float32),
        (lambda: tn.full((2, 2), 7.0), (2, 2), np.float32),
        (lambda: tn.full(3, 7.0, dtype=np.int32), (3,), np.int32),
        (lambda: tn.full((2,), 7), (2,), np.int64),
        (lambda: tn.full((2,), True), (2,), np.bool_),
        (lambda: tn.randn(3, 2), (3, 2), np.float32),
        (lambda: tn.rand((2,), dtype="float64"), (2,), np.float64),
        (lambda: tn.arange(5), (5,), np.int64),
        (lambda: tn.arange(0, 1, 0.25), (4,), np.float32),
        (lambda: tn.arange(2, 8, 2, dtype=np.float64), (3,), np.float64),
    ],
)
def test_constructors(make, shape, dtype):
    t = make()
    assert t.shape == shape and t.dtype == dtype and not t.requires_grad


def test_constructors_can_require_grad():
    assert tn.zeros(2, requires_grad=True).requires_grad
    assert tn.randn(2, requires_grad=True).is_leaf


# ---- attributes --------------------------------------------------------------------------------


def test_attributes():
    t = Tensor(np.zeros((2, 3, 4)))
    assert t.shape == (2, 3, 4) and t.ndim == t.dim() == 3 and t.numel() == 24
    assert t.size == 24 and t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.device == "cpu" and t.xp is np
    assert t.grad is None and t.is_leaf and not t.requires_grad and t.grad_fn is None
    with pytest.warns(UserWarning, match="deprecated"):  # as torch, for other than 2 dimensions
        assert t.T.shape == (4, 3, 2)


def test_is_leaf():
    x = Tensor(np.ones(2), requires_grad=True)
    assert x.is_leaf and not (x * 2).is_leaf
    with tn.no_grad():
        assert (x * 2).is_leaf


@pytest.mark.parametrize(
    ("t", "expected"),
    [
        (Tensor([1.0, 2.0]), "tensor([1., 2.], shape=(2,), dtype=float32)"),
        (Tensor(np.array(0.5), requires_grad=True), "tensor(0.5, shape=(), dtype=float64, requires_grad=True)"),
        (Tensor([[1, 2], [3, 4]]), "tensor([[1, 2],\n        [3, 4]], shape=(2, 2), dtype=int64)"),
    ],
)
def test_repr(t, expected):
    assert repr(t) == expected


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor(np.ones(2), requires_grad=True)
    y = x * 2
    d = y.detach()
    assert d.data is y.data and not d.requires_grad and d.is_leaf
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_requires_grad_on_a_non_leaf_raises():
    y = Tensor(np.ones(2), requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)


@pytest.mark.parametrize("t", [Tensor(3.5), Tensor([3.5]), Tensor([[3.5]])])
def test_item(t):
    value = t.item()
    assert value == 3.5 and type(value) is float


def test_item_of_many_elements_raises():
    with pytest.raises(ValueError, match="one element"):
        Tensor([1.0, 2.0]).item()


def test_results_hold_arrays_even_when_0d():
    x = Tensor(np.ones(3), requires_grad=True)
    total = (x * 2).sum() * 3
    assert isinstance(total.data, np.ndarray) and total.shape == ()
    assert isinstance(total.numpy(), np.ndarray)


def test_len_and_iter():
    t = Tensor(np.arange(6.0).reshape(3, 2))
    assert len(t) == 3
    rows = list(t)
    assert len(rows) == 3 and all(isinstance(r, Tensor) for r in rows)
    np.testing.assert_array_equal(rows[2].numpy(), [4.0, 5.0])
    with pytest.raises(TypeError, match="0-d"):
        len(Tensor(1.0))


def test_iteration_is_differentiable():
    x = Tensor(np.arange(4.0).reshape(2, 2), requires_grad=True)
    sum(row * (i + 1) for i, row in enumerate(x)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 1.0], [2.0, 2.0]])


def test_bool():
    assert bool(Tensor([1.0])) and not bool(Tensor(0.0))
    with pytest.raises(ValueError):
        bool(Tensor([1.0, 2.0]))


def test_float_and_int_of_one_element():
    assert float(Tensor([[2.5]])) == 2.5 and int(Tensor(3.7)) == 3 and int(Tensor([7])) == 7
    with pytest.raises(ValueError):
        float(Tensor([1.0, 2.0]))


# ---- operators with non-tensor operands ---------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda t: t + 1, [2.0, 3.0]),
        (lambda t: 1 + t, [2.0, 3.0]),
        (lambda t: t - 0.5, [0.5, 1.5]),
        (lambda t: 3 - t, [2.0, 1.0]),
        (lambda t: t * 2, [2.0, 4.0]),
        (lambda t: 2.0 / t, [2.0, 1.0]),
        (lambda t: t**2, [1.0, 4.0]),
        (lambda t: 2**t, [2.0, 4.0]),
        (lambda t: np.float64(2.0) * t, [2.0, 4.0]),
        (lambda t: np.array([1.0, 1.0]) + t, [2.0, 3.0]),
    ],
)
def test_python_and_numpy_operands(fn, expected):
    result = fn(Tensor([1.0, 2.0], requires_grad=True))
    assert isinstance(result, Tensor) and result.requires_grad
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-6)


def test_python_scalars_keep_the_tensor_dtype():
    t = Tensor(np.ones(2, np.float32))
    assert (t * 2.5).dtype == np.float32 and (1 - t).dtype == np.float32 and (t / 3).dtype == np.float32


@pytest.mark.parametrize(
    ("fn", "dtype", "expected"),
    [
        (lambda: tn.arange(4) / 4, np.float32, [0.0, 0.25, 0.5, 0.75]),
        (lambda: 1 / tn.arange(1, 3), np.float32, [1.0, 0.5]),
        (lambda: tn.arange(4.0) / tn.tensor([2]), np.float32, [0.0, 0.5, 1.0, 1.5]),
        (lambda: Tensor(np.ones(2)) / tn.tensor([2, 4]), np.float64, [0.5, 0.25]),
    ],
    ids=["int/int", "scalar/int", "float/int", "float64/int"],
)
def test_true_division_with_integers(fn, dtype, expected):
    result = fn()
    assert result.dtype == dtype
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-7)


def test_astype():
    x = Tensor(np.array([1.7, -2.2]), requires_grad=True)
    y = x.float()
    assert y.dtype == np.float32 and y.requires_grad
    (y * 2).sum().backward()
    assert x.grad.dtype == np.float64
    as_int = x.astype(np.int64)
    assert as_int.dtype == np.int64 and not as_int.requires_grad
    np.testing.assert_array_equal(as_int.numpy(), [1, -2])
    assert x.double() is x


@pytest.mark.parametrize(
    "fn",
    [
        lambda t: t.unsqueeze(3),
        lambda t: t.unsqueeze(-4),
        lambda t: t.squeeze(2),
        lambda t: t.flatten(0, 2),
        lambda t: t.permute(0, 2),
        lambda t: t.transpose(0, -3),
        lambda t: t.sum(2),
        lambda t: t.expand(-1, 2, 3),
    ],
)
def test_out_of_range_dimensions_raise(fn):
    with pytest.raises((ValueError, IndexError)):
        fn(Tensor(np.zeros((2, 3))))


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.bool_, np.float32])
def test_min_and_max_of_every_dtype(dtype):
    values = np.array([[0, 5], [3, 1]]).astype(dtype)
    t = Tensor(values)
    assert t.min().item() == values.min() and t.max().item() == values.max()
    np.testing.assert_array_equal(t.amin(0).numpy(), values.min(0))
    np.testing.assert_array_equal(t.min(0).values.numpy(), values.min(0))
    np.testing.assert_array_equal(t.max(1).indices.numpy(), values.argmax(1))


# ---- comparisons -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda a, b: a == b, [False, True, False]),
        (lambda a, b: a != b, [True, False, True]),
        (lambda a, b: a < b, [True, False, False]),
        (lambda a, b: a <= b, [True, True, False]),
        (lambda a, b: a > b, [False, False, True]),
        (lambda a, b: a >= b, [False, True, True]),
    ],
    ids=["eq", "ne", "lt", "le", "gt", "ge"],
)
@pytest.mark.parametrize("other", ["tensor", "array", "scalar"])
def test_comparisons_give_bool_tensors_outside_the_graph(fn, expected, other):
    a = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    b = {"tensor": Tensor(np.full(3, 2.0)), "array": np.full(3, 2.0), "scalar": 2.0}[other]
    result = fn(a, b)
    assert isinstance(result, Tensor) and result.dtype == np.bool_ and not result.requires_grad
    np.testing.assert_array_equal(result.numpy(), expected)


def test_tensors_hash_by_identity():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: 1}[a] == 1


# ---- where ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (Tensor([1.0, 2.0]), Tensor([5.0, 6.0]), [1.0, 6.0]),
        (Tensor([1.0, 2.0]), 0.0, [1.0, 0.0]),
        (0.0, Tensor([5.0, 6.0]), [0.0, 6.0]),
        (1.0, 0.0, [1.0, 0.0]),
    ],
    ids=["tensors", "scalar-b", "scalar-a", "scalars"],
)
@pytest.mark.parametrize("condition", [[True, False], np.array([1, 0]), Tensor([True, False])], ids=str)
def test_where(a, b, expected, condition):
    result = tn.where(condition, a, b)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.numpy(), expected)


# ---- torch's keyword names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("torch_style", "numpy_style"),
    [
        (lambda t: t.sum(dim=1), lambda t: t.sum(axis=1)),
        (lambda t: t.sum(dim=(0, 1), keepdim=True), lambda t: t.sum(axis=(0, 1), keepdims=True)),
        (lambda t: t.mean(dim=-1, keepdim=True), lambda t: t.mean(axis=-1, keepdims=True)),
        (lambda t: t.var(dim=0, correction=0), lambda t: t.var(axis=0, correction=0)),
        (lambda t: t.var(dim=0, unbiased=False), lambda t: t.var(axis=0, correction=0)),
        (lambda t: t.std(unbiased=True), lambda t: t.std(correction=1)),
        (lambda t: t.std(1, False, True), lambda t: t.std(axis=1, correction=0, keepdims=True)),
        (lambda t: t.std(dim=1, keepdim=True), lambda t: t.std(axis=1, keepdims=True)),
        (lambda t: t.logsumexp(dim=1), lambda t: t.logsumexp(axis=1)),
        (lambda t: t.softmax(dim=0), lambda t: t.softmax(axis=0)),
        (lambda t: t.log_softmax(dim=0), lambda t: t.log_softmax(axis=0)),
        (lambda t: t.argmax(dim=1, keepdim=True), lambda t: t.argmax(axis=1, keepdims=True)),
        (lambda t: t.argmin(dim=0), lambda t: t.argmin(axis=0)),
        (lambda t: tn.cat([t, t], dim=1), lambda t: tn.cat([t, t], axis=1)),
        (lambda t: tn.stack([t, t], dim=-1), lambda t: tn.stack([t, t], axis=-1)),
    ],
)
def test_dim_and_keepdim_are_aliases(torch_style, numpy_style):
    t = Tensor(np.array([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]]))
    expected = numpy_style(t)
    result = torch_style(t)
    assert result.shape == expected.shape
    np.testing.assert_array_equal(result.numpy(), expected.numpy())


def test_an_alias_and_its_name_together_raise():
    with pytest.raises(TypeError, match="alias"):
        Tensor([1.0]).sum(axis=0, dim=0)


@pytest.mark.parametrize("dim", [(0, 1), 1.0, True])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_take_one_int_dim(name, dim):
    """Several axes are amax/amin's job (torch's max(dim) takes one int)."""
    with pytest.raises(TypeError, match="one int"):
        getattr(Tensor(np.zeros((2, 3))), name)(dim=dim)


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda t: t.var(), np.nan),
        (lambda t: t.std(), np.nan),
        (lambda t: t.var(correction=2), np.nan),
        (lambda t: t.var(correction=0), 0.0),
        (lambda t: t[:0].mean(), np.nan),
    ],
)
def test_degenerate_divisors_give_nan_like_torch(fn, expected):
    with np.errstate(invalid="ignore"):
        result = fn(Tensor([2.0]))
    np.testing.assert_array_equal(result.numpy(), expected)


# ---- grad mode ---------------------------------------------------------------------------------


def _recorded() -> bool:
    return (Tensor([1.0], requires_grad=True) * 2).requires_grad


def test_grad_mode_context_managers_nest_and_restore():
    assert tn.is_grad_enabled()
    with tn.no_grad():
        assert not tn.is_grad_enabled() and not _recorded()
        with tn.enable_grad():
            assert tn.is_grad_enabled() and _recorded()
        assert not _recorded()
    assert _recorded()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError), tn.no_grad():
        raise KeyError
    assert tn.is_grad_enabled()


@pytest.mark.parametrize("called", [True, False], ids=["called", "bare"])
def test_grad_mode_decorators(called):
    """`@no_grad()` and, as torch allows, bare `@no_grad`."""

    def decorate(mode, fn):
        return mode()(fn) if called else mode(fn)

    without_grad, with_grad = decorate(tn.no_grad, _recorded), decorate(tn.enable_grad, _recorded)
    assert not without_grad()
    with tn.no_grad():
        assert with_grad()
    assert tn.is_grad_enabled()


def test_a_decorated_function_may_recurse():
    @tn.no_grad()
    def depth(n: int) -> int:
        assert not tn.is_grad_enabled()
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert tn.is_grad_enabled()


def test_a_grad_mode_object_can_be_entered_twice():
    mode = tn.no_grad()
    with mode:
        pass
    with mode, mode:
        assert not tn.is_grad_enabled()
    assert tn.is_grad_enabled()


# ---- random state ------------------------------------------------------------------------------


def _draws():
    return tn.randn(3).numpy(), tn.rand(2, dtype=np.float64).numpy(), generator().integers(1000), dropout_stream(5)


def test_manual_seed_reproduces_every_draw():
    tn.manual_seed(1234)
    first = _draws()
    tn.manual_seed(1234)
    second = _draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    tn.manual_seed(4321)
    assert not np.array_equal(first[0], _draws()[0])


def test_dropout_stream_moves_on():
    tn.manual_seed(0)
    seed, offset = dropout_stream(10)
    assert dropout_stream(3) == (seed, offset + 10)


@pytest.mark.parametrize("seed", [1.5, "1", True, None])
def test_manual_seed_needs_an_int(seed):
    with pytest.raises(TypeError, match="int"):
        tn.manual_seed(seed)


def test_to_takes_torch_call_forms():
    x = tn.randn(2, 3)
    assert x.to("cpu") is x
    assert x.to("float64").dtype == np.float64
    assert x.to("cpu:0", np.float16).dtype == np.float16
    assert x.to(device="cpu", dtype="float64").dtype == np.float64
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        x.to("gpu")
