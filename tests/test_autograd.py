"""The tape: order of backward, gradient accumulation, retain_graph, grad mode, retain_grad, and
that graphs are freed once nothing holds their output."""

from __future__ import annotations

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor
from tinygrad_norm.autograd import Function


def _leaf(*values) -> Tensor:
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


class Recorded(Function):
    """The identity, appending (name, incoming gradient) to `log` when its backward runs."""

    def forward(self, x, name, log):
        self.name, self.log = name, log
        return x

    def backward(self, grad):
        self.log.append((self.name, grad.copy()))
        return grad


# ---- the tape ----------------------------------------------------------------------------------


def test_tape_positions_grow_in_the_order_ops_ran():
    x = _leaf(1.0, 2.0)
    a = x * 2
    b = a.exp()
    c = a + b
    assert a._ctx.position < b._ctx.position < c._ctx.position


def test_backward_runs_newest_first_and_each_node_once_with_its_full_gradient():
    log: list = []
    x = _leaf(1.0, 2.0)
    shared = Recorded.apply(x, name="shared", log=log)
    left = Recorded.apply(shared * 2, name="left", log=log)
    right = Recorded.apply(shared * 3, name="right", log=log)
    (left + right).sum().backward()
    assert [name for name, _ in log] == ["right", "left", "shared"]
    np.testing.assert_array_equal(log[-1][1], [5.0, 5.0])
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


class FirstOnly(Function):
    """Returns its first input; its backward sends nothing to the second."""

    def forward(self, a, b):
        return a

    def backward(self, grad):
        return grad, None


def test_a_node_that_receives_no_gradient_is_skipped():
    log: list = []
    x = _leaf(1.0)
    unused = Recorded.apply(x * 5, name="unused", log=log)
    FirstOnly.apply(x * 2, unused).sum().backward()
    assert log == []
    np.testing.assert_array_equal(x.grad.numpy(), [2.0])


def test_a_node_that_receives_no_gradient_is_released_too_unless_the_graph_is_retained():
    x = _leaf(1.0)
    for retain_graph in (True, False):
        unused = (x * 5).exp()
        FirstOnly.apply(x * 2, unused).sum().backward(retain_graph=retain_graph)
        assert unused.grad_fn.released is not retain_graph
        assert hasattr(unused.grad_fn, "y") is retain_graph  # the output Exp saved for its backward


# ---- accumulation ------------------------------------------------------------------------------


def test_gradients_accumulate_across_backward_calls():
    x = _leaf(1.0, -2.0)
    for _ in range(2):
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_accumulation_keeps_the_same_grad_tensor():
    x = _leaf(1.0, -2.0)
    (x * 3).sum().backward()
    first = x.grad
    (x * 3).sum().backward()
    assert x.grad is first
    np.testing.assert_array_equal(first.numpy(), [6.0, 6.0])


@pytest.mark.parametrize(
    ("fn", "expected"),
    [
        (lambda x: x * x, lambda x: 2 * x),
        (lambda x: x + x, lambda x: np.full_like(x, 2.0)),
        (lambda x: x * x * x, lambda x: 3 * x * x),
        (lambda x: x.exp() * x, lambda x: np.exp(x) * (1 + x)),
    ],
    ids=["x*x", "x+x", "x*x*x", "exp(x)*x"],
)
def test_input_used_more_than_once(fn, expected):
    x = _leaf(1.5, -0.5)
    fn(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected(x.numpy()), rtol=1e-12)


def test_leaf_gradients_are_separate_writable_arrays():
    """`a + b` hands both inputs the same gradient array, and `sum` hands back a read-only broadcast
    view; each leaf must still get its own array that an optimizer may scale in place."""
    a, b = _leaf(1.0, 2.0), _leaf(3.0, 4.0)
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    a.grad.data *= 10
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_leaf_gradient_does_not_alias_the_given_grad():
    x = _leaf(1.0, 2.0)
    upstream = Tensor(np.array([1.0, 1.0]))
    (x + 0).backward(upstream)
    upstream.data[:] = 7
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_gradient_is_cast_to_the_leaf_dtype():
    x = Tensor(np.ones(2, np.float32), requires_grad=True)
    (x * Tensor(np.array([2.0, 3.0]))).sum().backward()  # the product is float64
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 3.0])


def test_only_inputs_that_require_grad_get_one():
    x, constant = _leaf(1.0, 2.0), Tensor(np.array([3.0, 4.0]))
    (x * constant).sum().backward()
    assert constant.grad is None
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_ops_on_a_subclass_return_plain_tensors():
    class Parameter(Tensor):
        pass

    p = Parameter(np.ones(3), requires_grad=True)
    out = (p * 2).sum()
    out.backward()
    assert type(p * 2) is Tensor and type(p.T) is Tensor
    assert type(p.grad) is Tensor


# ---- retain_graph ------------------------------------------------------------------------------


def test_second_backward_through_a_freed_graph_raises():
    x = _leaf(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward()
    before = x.grad.numpy().copy()
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), before)  # nothing was accumulated by the failed call


def test_retain_graph_allows_a_second_backward():
    x = _leaf(1.0, 2.0)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])), rtol=1e-12)
    with pytest.raises(RuntimeError, match=r"retain_graph=True"):
        y.backward()


def test_backward_frees_saved_values_while_the_output_lives():
    x = _leaf(1.0, 2.0)
    hidden = x.exp()
    node = weakref.ref(hidden._ctx)
    hidden_ref = weakref.ref(hidden)
    y = (hidden * 2).sum()
    del hidden
    y.backward()
    assert hidden_ref() is None  # the product's node let go of its inputs
    assert node() is None


# ---- backward's arguments ----------------------------------------------------------------------


def test_backward_on_a_non_scalar_needs_grad():
    y = _leaf(1.0, 2.0) * 2
    with pytest.raises(RuntimeError, match="scalar"):
        y.backward()


def test_backward_with_an_explicit_grad():
    x = _leaf(1.0, 2.0)
    (x * 3).backward(Tensor(np.array([1.0, -2.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, -6.0])


def test_backward_with_a_wrong_shaped_grad_raises():
    y = _leaf(1.0, 2.0) * 2
    with pytest.raises(ValueError, match="shape"):
        y.backward(np.ones(3))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.array(1.0)).backward()


def test_backward_from_a_leaf():
    x = _leaf(2.0)
    x.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0])


# ---- grad mode ---------------------------------------------------------------------------------


def test_nothing_is_recorded_under_no_grad():
    x = _leaf(1.0, 2.0)
    with tn.no_grad():
        y = (x * 2).exp().sum()
    assert not y.requires_grad and y.is_leaf
    assert tn.is_grad_enabled()


def test_enable_grad_inside_no_grad_records():
    x = _leaf(1.0, 2.0)
    with tn.no_grad(), tn.enable_grad():
        y = (x * 2).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


# ---- retain_grad -------------------------------------------------------------------------------


def test_retain_grad_keeps_a_non_leaf_gradient():
    x = _leaf(1.0, 2.0)
    hidden = x * 3
    hidden.retain_grad()
    other = x * 4
    out = (hidden * hidden + other).sum()
    out.retain_grad()
    out.backward()
    np.testing.assert_array_equal(hidden.grad.numpy(), 2 * hidden.numpy())
    assert other.grad is None
    np.testing.assert_array_equal(out.grad.numpy(), 1.0)
    np.testing.assert_array_equal(x.grad.numpy(), 18 * x.numpy() + 4)


def test_retain_grad_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        Tensor(np.ones(2)).retain_grad()


# ---- memory ------------------------------------------------------------------------------------


def test_dropping_the_output_frees_the_graph():
    x = _leaf(1.0, 2.0)
    hidden = x.exp()
    hidden_ref, node_ref = weakref.ref(hidden), weakref.ref(hidden._ctx)
    out = (hidden * x).sum()
    del hidden
    assert hidden_ref() is not None  # the output's graph holds it
    del out
    assert hidden_ref() is None and node_ref() is None  # freed by reference counting, no gc pass needed


def _mlp_step(x: Tensor, w1: Tensor, w2: Tensor, backward: bool) -> None:
    loss = ((x @ w1).relu() @ w2).softmax(-1).log().mean()
    if backward:
        loss.backward()


@pytest.mark.parametrize("backward", [False, True], ids=["forward-only", "forward-backward"])
def test_memory_does_not_grow_over_many_steps(backward):
    """Each step allocates about 100 KiB of activations; 100 leaked steps would be about 10 MiB."""
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((32, 64)))
    w1 = Tensor(rng.standard_normal((64, 64)), requires_grad=True)
    w2 = Tensor(rng.standard_normal((64, 16)), requires_grad=True)
    _mlp_step(x, w1, w2, backward)  # the first step allocates the .grad arrays
    gc.collect()
    tracemalloc.start()
    try:
        _mlp_step(x, w1, w2, backward)
        baseline = tracemalloc.get_traced_memory()[0]
        for _ in range(100):
            _mlp_step(x, w1, w2, backward)
        growth = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert growth < 64 * 1024, f"memory grew by {growth} bytes over 100 steps"
