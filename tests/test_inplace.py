"""In-place ops and version counters against torch: values, gradients through recorded in-place ops, torch's
errors (leaf, view, cast, version), and the `.data` setter and the update idioms that broke parameters."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor

torch = pytest.importorskip("torch")

from .torch_compare import compare  # noqa: E402

RNG = np.random.default_rng(0)
X, W = RNG.standard_normal((2, 3)), RNG.standard_normal(3)


def _both(run):
    """run(lib, x, w) in both frameworks on float64 leaves; returns [(output, x.grad, w.grad)] per framework."""
    results = []
    for lib in (tn, torch):
        x, w = lib.tensor(X.copy(), requires_grad=True), lib.tensor(W.copy(), requires_grad=True)
        out = run(lib, x, w)
        out.sum().backward()
        results.append([np.asarray(t.tolist()) if t is not None else None for t in (out, x.grad, w.grad)])
    return results


def _assert_same(run):
    ours, theirs = _both(run)
    for name, mine, expected in zip(("output", "x.grad", "w.grad"), ours, theirs):
        if expected is None:
            assert mine is None, name
        else:
            np.testing.assert_allclose(mine, expected, rtol=1e-12, atol=1e-12, err_msg=name)


# ---- values --------------------------------------------------------------------------------------------------

VALUE_CASES = {
    "add_": lambda t, o: t.add_(o),
    "add_-alpha": lambda t, o: t.add_(o, alpha=-2.5),
    "sub_": lambda t, o: t.sub_(o),
    "sub_-alpha": lambda t, o: t.sub_(o, alpha=3),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o),
    "+=": lambda t, o: t.__iadd__(o),
    "-=": lambda t, o: t.__isub__(o),
    "*=": lambda t, o: t.__imul__(o),
    "/=": lambda t, o: t.__itruediv__(o),
    "scalar": lambda t, o: t.mul_(0.5).add_(2),
    "zero_": lambda t, o: t.zero_(),
    "fill_": lambda t, o: t.fill_(-1.5),
    "copy_-broadcast": lambda t, o: t.copy_(o),
    "clamp_": lambda t, o: t.clamp_(-0.5, 0.25),
    "clamp_-min": lambda t, o: t.clamp_(min=0.0),
}


@pytest.mark.parametrize("op", VALUE_CASES.values(), ids=VALUE_CASES.keys())
def test_in_place_values_and_versions_equal_torch(op):
    ours, theirs = Tensor(X.copy()), torch.tensor(X.copy())
    our_array = ours.data
    assert op(ours, Tensor(W.copy())) is ours
    op(theirs, torch.tensor(W.copy()))
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)
    assert ours.data is our_array  # changed in place: views and numpy() see it
    assert ours._version == theirs._version >= 1


def test_in_place_ops_keep_the_dtype_and_follow_torchs_casting_rule():
    t = Tensor(np.ones(3, np.float32))
    t.add_(Tensor(np.full(3, 0.5)))  # float64 operand, float32 result (as torch)
    assert t.dtype == np.float32 and t.tolist() == [1.5, 1.5, 1.5]
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type int64"):
        tn.tensor([1, 2]).add_(1.5)
    with pytest.raises(RuntimeError, match="can't be cast"):
        tn.tensor([4, 2]).div_(2)  # true division gives floats
    with pytest.raises(RuntimeError, match="can't be cast to the desired output type bool"):
        tn.tensor([True]).add_(1)
    counts = tn.tensor([1, 2])
    counts += 3
    assert counts.tolist() == [4, 5] and counts.dtype == np.int64


def test_an_in_place_op_cannot_grow_a_tensor_or_write_a_broadcast_view():
    with pytest.raises(RuntimeError, match="does not broadcast"):
        tn.zeros(3).add_(tn.ones(2, 3))
    with pytest.raises(RuntimeError, match="does not broadcast"):
        tn.zeros(2, 3).copy_(tn.ones(4))
    with pytest.raises(RuntimeError, match="clone"):
        tn.zeros(3).expand(2, 3).add_(1)


def test_argument_errors():
    with pytest.raises(RuntimeError, match="At least one of 'min' or 'max'"):
        tn.zeros(2).clamp_()
    with pytest.raises(RuntimeError, match="0-dimension"):
        tn.zeros(2).fill_(tn.ones(1))
    with pytest.raises(TypeError, match="Tensor"):
        tn.zeros(2).copy_(np.ones(2))
    with pytest.raises(TypeError, match="floating"):
        tn.tensor([1, 2]).normal_()
    with pytest.raises(ValueError, match="std"):
        tn.zeros(2).normal_(0.0, -1.0)
    with pytest.raises(ValueError, match="from"):
        tn.zeros(2).uniform_(2.0, 1.0)


def test_random_fills_follow_the_seed_and_their_distribution():
    tn.manual_seed(7)
    first = tn.zeros(20000, dtype=tn.float64).normal_(1.0, 2.0)
    uniform = tn.empty(20000).uniform_(-1.0, 3.0)
    tn.manual_seed(7)
    assert tn.zeros(20000, dtype=tn.float64).normal_(1.0, 2.0).tolist() == first.tolist()
    assert abs(first.numpy().mean() - 1.0) < 0.06 and abs(first.numpy().std() - 2.0) < 0.06
    assert uniform.dtype == np.float32 and -1.0 <= uniform.numpy().min() and uniform.numpy().max() < 3.0


# ---- the tape ------------------------------------------------------------------------------------------------

TAPE_CASES = {
    # every in-place op on a non-leaf, recorded: the gradient is torch's
    "chain": lambda lib, x, w: (x * 2).add_(w).mul_(w).div_(3).sub_(x, alpha=2).clamp_(-1.0, 1.0),
    "operators": lambda lib, x, w: _operators(x * 1, w),
    "mul_-by-itself": lambda lib, x, w: (x + 0).mul_(x),
    "zero_": lambda lib, x, w: (x * w).zero_() + x,
    "fill_-with-a-0d-tensor": lambda lib, x, w: (x * 1).fill_(w.sum()),
    "copy_-from-a-tensor-that-requires-grad": lambda lib, x, w: (x * 3).copy_(w * w) * x,
    "a-leaf-without-grad-joins-the-graph": lambda lib, x, w: lib.ones(2, 3, dtype=lib.float64).mul_(w).add_(x),
    "an-earlier-consumer-keeps-the-old-node": lambda lib, x, w: _consume_then_change(x * 2, w),
}


def _operators(y, w):
    y += w
    y *= w
    y -= 1
    y /= 2
    return y


def _consume_then_change(y, w):
    before = y + 1  # Add reads no values, so a later change of y does not disturb its backward
    y.mul_(w)  # y's node changes; `before` must still send its gradient to y's old node
    return before * 3 + y


@pytest.mark.parametrize("run", TAPE_CASES.values(), ids=TAPE_CASES.keys())
def test_recorded_in_place_ops_give_torchs_gradients(run):
    _assert_same(run)


def test_recorded_in_place_ops_keep_the_tensor_and_its_array():
    x = tn.ones(3, requires_grad=True)
    y = x * 2
    array = y.data
    assert y.add_(1) is y and y.data is array and not y.is_leaf and y.grad_fn.name() == "Add"
    assert y._version == 1


def test_a_leaf_that_requires_grad_changes_in_place_only_under_no_grad():
    w = tn.ones(3, requires_grad=True)
    for change in (lambda: w.add_(1), lambda: w.zero_(), lambda: w.__isub__(1), lambda: w.normal_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place"):
            change()
    assert w.tolist() == [1.0, 1.0, 1.0] and w._version == 0
    with tn.no_grad():
        w -= 0.5
    assert w.tolist() == [0.5, 0.5, 0.5] and w.is_leaf and w.requires_grad and w._version == 1


def test_the_torch_update_idiom_under_no_grad_changes_the_parameter():
    model = tn.nn.Linear(3, 2)
    model(tn.randn(4, 3)).sum().backward()
    before, weight = model.weight.numpy().copy(), model.weight
    with tn.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    assert model.weight is weight and isinstance(weight.data, np.ndarray)
    np.testing.assert_allclose(weight.numpy(), before - 0.1 * weight.grad.numpy(), rtol=1e-6)
    model(tn.randn(4, 3))  # still a working layer
    assert set(model.state_dict()) == {"weight", "bias"}


# ---- version checks ------------------------------------------------------------------------------------------


def _version_error(lib, change):
    """The message of the backward that `change` breaks, in lib."""
    x, w = lib.tensor(X.copy(), requires_grad=True), lib.tensor(W.copy(), requires_grad=True)
    out = change(lib, x, w)
    with pytest.raises(RuntimeError) as error:
        out.sum().backward()
    assert x.grad is None and w.grad is None  # nothing was accumulated
    return str(error.value)


def _change_saved_output(lib, x, w):
    y = (x * 1).exp()
    y.add_(1)  # Exp's backward reads its output
    return y


def _change_saved_input(lib, x, w):
    y = x * w
    with lib.no_grad():
        w.mul_(2)  # Mul's backward reads w
    return y


@pytest.mark.parametrize(("change", "op"), [(_change_saved_output, "Exp"), (_change_saved_input, "Mul")])
def test_backward_through_a_changed_value_raises_torchs_error(change, op):
    ours, theirs = _version_error(tn, change), _version_error(torch, change)
    expected = "one of the variables needed for gradient computation has been modified by an inplace operation"
    assert expected in ours and expected in theirs
    assert "is at version 1; expected version 0 instead" in ours and "is at version 1; expected version 0" in theirs
    assert f"of {op}," in ours


def test_changing_a_value_no_backward_reads_is_allowed_as_in_torch():
    x, w = tn.ones(3, requires_grad=True), tn.ones(3, requires_grad=True)
    y = x + w  # Add reads no values
    with tn.no_grad():
        w.mul_(5)
    y.sum().backward()
    assert x.grad.tolist() == w.grad.tolist() == [1.0, 1.0, 1.0]


def test_versions_count_every_in_place_op_and_a_detached_tensor_shares_them():
    t = tn.zeros(3)
    detached = t.detach()
    t.add_(1)
    t += 1
    t.zero_()
    t.copy_(tn.ones(3))
    detached.fill_(2)
    assert t._version == detached._version == 5 and t.tolist() == [2.0, 2.0, 2.0]


# ---- views ---------------------------------------------------------------------------------------------------


def test_in_place_through_a_view_changes_the_base_and_shares_its_version():
    base = tn.zeros(2, 3)
    row, flat, transposed = base[0], base.reshape(6), base.T
    row.fill_(1)
    flat[5:].add_(7)
    transposed[0].mul_(2)
    assert base.tolist() == [[2.0, 1.0, 1.0], [0.0, 0.0, 7.0]]
    assert base._version == row._version == flat._version == transposed._version == 3


def test_in_place_on_a_view_of_a_leaf_that_requires_grad_raises_as_torch():
    for lib in (tn, torch):
        w = lib.ones(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
            w[:2].add_(1)
        with lib.no_grad():
            w[:2].add_(1)
        assert w.tolist() == [2.0, 2.0, 1.0]


def test_recording_an_in_place_op_on_a_view_is_refused():
    """torch rewrites the base's graph here; we refuse rather than leave the base's graph stale."""
    y = tn.ones(3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="view"):
        y[:2].mul_(3)
    assert y.tolist() == [2.0, 2.0, 2.0]


def test_changing_a_base_through_the_tape_invalidates_backward_through_older_views():
    x = tn.ones(3, requires_grad=True)
    y = x * 2
    head = y[:2]
    y.mul_(x)  # head now shows 2·x·x, but its graph says 2·x
    with pytest.raises(RuntimeError, match="GetItem"):
        head.sum().backward()


# ---- .data ---------------------------------------------------------------------------------------------------


def test_the_data_setter_takes_a_tensors_array_or_an_array_of_the_same_shape():
    p = tn.nn.Parameter(tn.zeros(2, 2))
    source = tn.ones(2, 2)
    p.data = source
    assert p.data is source.data and isinstance(p, tn.nn.Parameter)
    p.data = np.full((2, 2), 3.0)  # another dtype is allowed, as torch
    assert p.dtype == np.float64 and p.tolist() == [[3.0, 3.0], [3.0, 3.0]]
    with pytest.raises(TypeError, match="Tensor or an array"):
        p.data = [[1.0, 2.0], [3.0, 4.0]]
    with pytest.raises(ValueError, match="shape"):
        p.data = np.zeros(3)
    with pytest.raises(TypeError, match="floating point"):
        p.data = np.zeros((2, 2), np.int64)
    with pytest.raises(TypeError, match="numeric"):
        p.data = np.array([["a", "b"], ["c", "d"]])
    assert p.tolist() == [[3.0, 3.0], [3.0, 3.0]]


def test_the_data_update_idiom_keeps_an_array_and_a_working_layer():
    model = tn.nn.Linear(3, 2)
    model(tn.randn(4, 3)).sum().backward()
    expected = model.weight.numpy() - 0.1 * model.weight.grad.numpy()
    for p in model.parameters():
        p.data -= 0.1 * p.grad
    assert isinstance(model.weight.data, np.ndarray)
    np.testing.assert_allclose(model.weight.numpy(), expected, rtol=1e-6)
    model(tn.randn(4, 3))
    assert model.state_dict()["weight"].shape == (2, 3)


def test_element_wise_ops_in_place_as_torch():
    """`name_` is `name` written back: values, gradients through the recorded write, and torch's dtype rule."""
    def written(m, x, y):
        outs = []
        for name, args in [("abs_", ()), ("exp_", ()), ("sigmoid_", ()), ("relu_", ()), ("pow_", (2,)), ("neg_", ())]:
            outs.append(getattr(x * 1, name)(*args))
        outs.append((x * 1).lerp_(y, 0.25))
        outs.append((x * 1).clamp_min_(0.1))
        outs.append((x * 1).addcmul_(x, y, value=2))
        outs.append((x * 1).tril_(1))
        return tuple(outs)

    rng = np.random.default_rng(0)
    compare(written, rng.standard_normal((3, 3)), rng.standard_normal((3, 3)))
    for m in (tn, torch):
        with pytest.raises(RuntimeError, match="can't be cast"):
            m.tensor([1, 2]).sqrt_()
        x = m.tensor([4, 9])
        assert x.abs_() is x


def test_element_wise_in_place_on_a_leaf_that_requires_grad_raises():
    with pytest.raises(RuntimeError, match="leaf"):
        tn.ones(2, requires_grad=True).exp_()
