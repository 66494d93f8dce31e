"""The torch habits people reach for, each against torch: clone, detach_, dim, t/T/mT, grad_fn, the *_like
constructors, from_numpy/as_tensor, dtype objects, max/min along a dim; and construction that refuses
what is not a number or not a shape."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor

torch = pytest.importorskip("torch")

VALUES = np.array([[1.0, 5.0, 5.0], [-2.0, 0.5, 3.0]])


def _leaves(array: np.ndarray = VALUES):
    return tn.tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True)


# ---- copies and the graph ------------------------------------------------------------------------------------


def test_clone_is_a_differentiable_copy():
    for x in _leaves():
        copy = x.clone()
        assert copy.data_ptr() != x.data_ptr() if isinstance(x, torch.Tensor) else copy.data is not x.data
        (copy * copy).sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.tolist()), 2 * VALUES)
    assert tn.ones(2, requires_grad=True).clone().grad_fn.name() == "Clone"


def test_detach_in_place_cuts_the_tensor_from_the_graph():
    for x in _leaves():
        y = x * 2
        assert y.detach_() is y and y.is_leaf and not y.requires_grad and y.grad_fn is None
    for x in _leaves():
        with pytest.raises(RuntimeError, match="Can't detach views in-place"):
            (x * 2)[0].detach_()


def test_grad_fn_and_next_functions_lead_back_to_the_leaves():
    x, w = tn.ones(2, 3, requires_grad=True), tn.ones(3, requires_grad=True)
    loss = ((x * w).sum() + 1).exp()
    assert loss.grad_fn.name() == "Exp" and repr(loss.grad_fn).startswith("<Exp at tape position")
    ((add, _),) = loss.grad_fn.next_functions
    (total, _), (constant, _) = add.next_functions
    assert add.name() == "Add" and total.name() == "Sum" and constant is None
    ((mul, _),) = total.next_functions
    (to_x, _), (to_w, _) = mul.next_functions
    assert to_x.name() == "AccumulateGrad" and to_x.variable is x and to_w.variable is w
    assert x.grad_fn is None
    their = torch.ones(3, requires_grad=True)
    assert len((their * 2).sum().grad_fn.next_functions) == len((w * 2).sum().grad_fn.next_functions) == 1


# ---- shape ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_dim_and_t_match_torch(shape):
    ours, theirs = tn.zeros(shape), torch.zeros(shape)
    assert ours.dim() == theirs.dim()
    assert ours.t().shape == tuple(theirs.t().shape)


def test_t_mT_and_T_on_more_dimensions_match_torch():
    ours, theirs = tn.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    assert ours.mT.shape == tuple(theirs.mT.shape) == (2, 4, 3)
    for lib_tensor in (ours, theirs):
        with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions"):
            lib_tensor.t()
        with pytest.warns(UserWarning, match="deprecated"):
            assert tuple(lib_tensor.T.shape) == (4, 3, 2)
    for lib in (tn, torch):
        with pytest.raises(RuntimeError, match="only supported on matrices"):
            _ = lib.zeros(3).mT


def test_transposes_are_differentiable_views():
    x = tn.tensor(VALUES.copy(), requires_grad=True)
    (x.mT * tn.tensor([[1.0, 2.0]])).sum().backward()
    assert x.grad.tolist() == [[1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]
    with tn.no_grad():
        x.t()[0, 1].fill_(9.0)
    assert x.tolist()[1][0] == 9.0


# ---- max and min along a dim ---------------------------------------------------------------------------------


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_along_a_dim_return_torchs_named_pair(name, dim, keepdim):
    ours, theirs = _leaves()
    mine, expected = getattr(ours, name)(dim, keepdim=keepdim), getattr(theirs, name)(dim=dim, keepdim=keepdim)
    assert type(mine).__name__ == name and mine._fields == ("values", "indices")
    values, indices = mine
    assert values.tolist() == expected.values.tolist() and indices.tolist() == expected.indices.tolist()
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.sum().backward()
    expected.values.sum().backward()
    assert ours.grad.tolist() == theirs.grad.tolist()  # the gradient goes to the one returned index


def test_max_without_dim_and_on_a_0d_tensor_match_torch():
    ours, theirs = _leaves()
    assert ours.max().item() == theirs.max().item() and ours.min().item() == theirs.min().item()
    mine, expected = tn.tensor(3.0).max(0), torch.tensor(3.0).max(0)
    assert mine.values.shape == () and mine.values.item() == expected.values.item() == 3.0
    assert mine.indices.item() == expected.indices.item() == 0
    for lib in (tn, torch):
        with pytest.raises(IndexError, match="non-zero size"):
            lib.zeros(0, 3).max(0)


# ---- constructors ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["zeros_like", "ones_like", "empty_like", "randn_like", "rand_like"])
@pytest.mark.parametrize("dtype", [None, "float64"])
def test_like_constructors_take_shape_and_dtype_as_torch(name, dtype):
    source = tn.zeros(2, 3, dtype=tn.float64)
    made = getattr(tn, name)(source, **({} if dtype is None else {"dtype": getattr(tn, dtype)}))
    their = getattr(torch, name)(torch.zeros(2, 3, dtype=torch.float64))
    assert made.shape == tuple(their.shape) and made.dtype == np.float64 and not made.requires_grad
    if name in ("zeros_like", "ones_like"):
        assert made.tolist() == their.tolist()
    assert getattr(tn, name)(source, requires_grad=True).requires_grad


def test_full_like_and_like_errors_match_torch():
    ints = tn.tensor([1, 2])
    assert tn.full_like(ints, 2.7).tolist() == torch.full_like(torch.tensor([1, 2]), 2.7).tolist() == [2, 2]
    assert tn.full_like(ints, 2.7, dtype=tn.float32).dtype == np.float32
    with pytest.raises(TypeError, match="must be a Tensor"):
        tn.zeros_like([1.0, 2.0])
    with pytest.raises(TypeError, match="floating"):
        tn.randn_like(ints)


def test_from_numpy_shares_memory_as_torch():
    array = np.zeros(3, np.float64)
    ours, theirs = tn.from_numpy(array), torch.from_numpy(array)
    array[0] = 5.0
    with tn.no_grad():
        ours.add_(1)
    assert ours.dtype == np.float64 and ours.tolist() == theirs.tolist() == array.tolist() == [6.0, 1.0, 1.0]
    with pytest.raises(TypeError, match=r"expected np.ndarray \(got list\)"):
        tn.from_numpy([1, 2])
    with pytest.raises(TypeError, match="numeric"):
        tn.from_numpy(np.array(["a"]))


def test_as_tensor_shares_when_it_can():
    x = tn.ones(2, requires_grad=True)
    assert tn.as_tensor(x) is x
    array = np.zeros(2)
    shared = tn.as_tensor(array)
    shared.add_(1)
    assert array.tolist() == [1.0, 1.0] and shared.dtype == np.float64
    converted = tn.as_tensor(array, dtype=tn.float32)
    converted.add_(1)
    assert array.tolist() == [1.0, 1.0] and converted.dtype == np.float32
    assert tn.as_tensor([1.0, 2.0]).dtype == np.float32 == np.dtype(str(torch.as_tensor([1.0]).dtype)[6:])


# ---- dtype objects -------------------------------------------------------------------------------------------

DTYPE_NAMES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool", "complex64"]
DTYPE_NAMES += ["complex128", "half", "float", "double", "short", "int", "long", "cfloat", "cdouble"]


@pytest.mark.parametrize("name", DTYPE_NAMES)
def test_dtype_objects_have_torchs_names_and_work_wherever_a_dtype_string_does(name):
    dtype = getattr(tn, name)
    assert np.dtype(dtype).itemsize == getattr(torch, name).itemsize
    assert tn.zeros(2, dtype=dtype).dtype == dtype
    assert tn.tensor([1, 0], dtype=dtype).dtype == dtype
    assert tn.tensor([1, 0]).to(dtype).dtype == dtype
    assert tn.tensor([1, 0]).astype(dtype).dtype == str(np.dtype(dtype))


def test_modules_cast_with_dtype_objects():
    layer = tn.nn.Linear(2, 2).to(tn.float64)
    assert layer.weight.dtype == tn.float64
    assert layer.to("cpu", tn.float32).weight.dtype == tn.float32


# ---- construction refuses what is not a number or a shape -----------------------------------------------------


@pytest.mark.parametrize(
    "data", [["a"], "1", [None], None, np.array(["a", "b"]), np.array([1, None], dtype=object), [b"1"]], ids=repr
)
def test_non_numeric_data_is_refused_at_construction(data):
    with pytest.raises(TypeError, match="numeric"):
        tn.tensor(data)
    with pytest.raises(TypeError, match="numeric"):
        tn.tensor(data, dtype=tn.float32)  # not parsed from strings either


def test_numbers_in_an_object_array_are_refused_as_torch_does():
    with pytest.raises(TypeError):
        torch.tensor(np.array([1, 2], dtype=object))
    with pytest.raises(TypeError, match="numeric"):
        tn.tensor(np.array([1, 2], dtype=object))


@pytest.mark.parametrize("make", ["zeros", "ones", "empty", "randn", "rand"])
@pytest.mark.parametrize("shape", [(2.5,), ((2, 2.5),), (True,), ("3",)], ids=repr)
def test_a_shape_must_hold_ints(make, shape):
    with pytest.raises(TypeError, match="size must be a tuple of ints"):
        getattr(tn, make)(*shape)
    with pytest.raises(TypeError):
        getattr(torch, make)(*shape)


def test_a_negative_size_is_refused_and_numpy_ints_are_sizes():
    with pytest.raises(ValueError, match="negative"):
        tn.randn(-1)
    assert tn.randn(np.int64(2), 3).shape == (2, 3)
    assert tn.full((2, np.int32(1)), 1.0).shape == (2, 1)


def test_reshape_still_takes_minus_one_and_a_shape_tuple():
    t = Tensor(np.arange(6.0))
    assert t.reshape(-1, 2).shape == (3, 2) and t.view((2, 3)).shape == (2, 3)
    with pytest.raises(TypeError, match="ints"):
        t.reshape(2.0, 3)


def test_new_constructors_type_as_and_contiguous():
    for m in (tn, torch):
        x = m.ones(2, 3, dtype=m.int64)
        assert x.new_zeros(2, 2).tolist() == [[0, 0], [0, 0]] and x.new_ones((1,)).dtype == x.dtype
        assert x.new_full((2,), 2.7).tolist() == [2, 2]
        assert x.new_tensor([1.5, 2]).tolist() == [1, 2]
        assert x.new_zeros(2, dtype=m.float64).dtype == m.float64
        assert x.new_empty((0, 3)).shape == (0, 3)
        assert x.float().type_as(x).dtype == x.dtype
        assert not x.T.is_contiguous() and x.T.contiguous().is_contiguous() and x.contiguous() is x
        assert x.T.ravel().tolist() == [1] * 6
    y = tn.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (y.T.contiguous() * tn.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert y.grad.tolist() == [[1.0, 3.0], [2.0, 4.0]]
