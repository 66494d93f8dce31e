"""Higher-order gradients: `autograd.grad` and `backward(create_graph=True)` against torch, the rules of the
engine (retain_graph's default, pruning, accumulation, allow_unused, version checks), and the checks that catch
a wrong graph backward."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import GradcheckError, Tensor, autograd, gradgradcheck
from tinygrad_norm.autograd import Function

torch = pytest.importorskip("torch")


def _leaf(*shape, seed: int = 0) -> Tensor:
    return Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


def _torch(t: Tensor) -> torch.Tensor:
    return torch.tensor(t.numpy(), requires_grad=t.requires_grad)


def _f(x, w):
    """A small smooth function of two tensors, written the same way for both frameworks."""
    return ((x @ w).tanh() * x.sum(-1, keepdim=True).exp()).sum()


# ---- autograd.grad -----------------------------------------------------------------------------------------


def test_grad_returns_gradients_and_leaves_dot_grad_alone():
    x, w = _leaf(3, 4), _leaf(4, 2, seed=1)
    gx, gw = autograd.grad(_f(x, w), (x, w))
    tx, tw = _torch(x), _torch(w)
    ex, ew = torch.autograd.grad(_f(tx, tw), (tx, tw))
    np.testing.assert_allclose(gx.numpy(), ex.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), ew.numpy(), rtol=1e-12)
    assert x.grad is None and w.grad is None
    assert not gx.requires_grad


def test_second_and_third_derivatives_match_torch():
    x, w = _leaf(3, 4), _leaf(4, 2, seed=1)
    tx, tw = _torch(x), _torch(w)
    (gx,) = autograd.grad(_f(x, w), x, create_graph=True)
    (ex,) = torch.autograd.grad(_f(tx, tw), tx, create_graph=True)
    assert gx.requires_grad and gx.grad_fn is not None
    weights = np.random.default_rng(2).standard_normal(gx.shape)
    ggx, ggw = autograd.grad((gx * Tensor(weights)).sum(), (x, w), create_graph=True)
    egx, egw = torch.autograd.grad((ex * torch.tensor(weights)).sum(), (tx, tw), create_graph=True)
    np.testing.assert_allclose(ggx.numpy(), egx.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ggw.numpy(), egw.detach().numpy(), rtol=1e-10)
    (third,) = autograd.grad(ggw.sum(), w)
    (expected,) = torch.autograd.grad(egw.sum(), tw)
    np.testing.assert_allclose(third.numpy(), expected.numpy(), rtol=1e-10)


def test_fourth_power():
    x = Tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
    g = (x**4).sum()
    derivatives = []
    for _ in range(4):
        (g,) = autograd.grad(g.sum(), x, create_graph=True)
        derivatives.append(g.numpy())
    xs = x.numpy()
    for got, expected in zip(derivatives, (4 * xs**3, 12 * xs**2, 24 * xs, 24 + 0 * xs)):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_retain_graph_defaults_to_create_graph():
    x = _leaf(3)
    y = (x.exp() * x).sum()
    autograd.grad(y, x)
    with pytest.raises(RuntimeError, match="second time"):
        autograd.grad(y, x)
    y = (x.exp() * x).sum()
    first = autograd.grad(y, x, create_graph=True)[0].numpy()
    np.testing.assert_array_equal(autograd.grad(y, x)[0].numpy(), first)


def test_grad_with_respect_to_an_intermediate_tensor_runs_only_the_nodes_on_its_path():
    log = []

    class Logged(Function):
        def forward(self, x):
            return x

        def backward(self, grad):
            log.append("ran")
            return grad

    x = _leaf(3)
    h = Logged.apply(x) * 2
    (gh,) = autograd.grad((h**2).sum(), h)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    assert log == []


def test_several_outputs_with_their_gradients():
    x = _leaf(2, 3)
    a, b = x.exp(), (x * x).sum(1)
    va, vb = np.ones((2, 3)), np.array([2.0, -1.0])
    (g,) = autograd.grad([a, b], x, [Tensor(va), Tensor(vb)])
    np.testing.assert_allclose(g.numpy(), va * np.exp(x.numpy()) + 2 * x.numpy() * vb[:, None])


def test_the_gradient_of_an_output_with_respect_to_itself_is_its_weight():
    x = _leaf(3)
    y = x * 2
    v = Tensor(np.array([1.0, 2.0, 3.0]))
    gy, gx = autograd.grad(y, (y, x), v)
    np.testing.assert_array_equal(gy.numpy(), v.numpy())
    np.testing.assert_array_equal(gx.numpy(), 2 * v.numpy())


def test_unused_inputs_raise_unless_allowed():
    x, unused = _leaf(3), _leaf(2)
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        autograd.grad((x * 2).sum(), (x, unused))
    gx, gu = autograd.grad((x * 2).sum(), (x, unused), allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx.numpy(), [2.0, 2.0, 2.0])


def test_grad_argument_errors_as_torch():
    x = _leaf(3)
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * 2).sum(), Tensor(np.ones(3)))
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad(Tensor(np.ones(1)), x)
    with pytest.raises(RuntimeError, match="scalar outputs"):
        autograd.grad(x * 2, x)


# ---- backward(create_graph=True) ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")  # torch's note on memory
def test_backward_create_graph_leaves_a_differentiable_grad():
    x = _leaf(3)
    tx = _torch(x)
    (x**3).sum().backward(create_graph=True)
    (tx**3).sum().backward(create_graph=True)
    assert x.grad.requires_grad
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.detach().numpy())
    (g2,) = autograd.grad(x.grad.sum(), x)
    (e2,) = torch.autograd.grad(tx.grad.sum(), tx)
    np.testing.assert_allclose(g2.numpy(), e2.numpy())


def test_backward_create_graph_accumulates_out_of_place():
    x = _leaf(3)
    (x**3).sum().backward(create_graph=True)
    first = x.grad
    (x**2).sum().backward(create_graph=True)
    assert x.grad is not first
    np.testing.assert_allclose(x.grad.numpy(), 3 * x.numpy() ** 2 + 2 * x.numpy())
    (g2,) = autograd.grad(x.grad.sum(), x)
    np.testing.assert_allclose(g2.numpy(), 6 * x.numpy() + 2)


def test_one_gradient_for_two_leaves_is_not_shared():
    a, b = _leaf(3), _leaf(3, seed=1)
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad and a.grad.data is not b.grad.data


def test_backward_into_chosen_inputs_only():
    x, w = _leaf(3, 4), _leaf(4, 2, seed=1)
    _f(x, w).backward(inputs=[w])
    assert x.grad is None
    (expected,) = autograd.grad(_f(x, w), w)
    np.testing.assert_allclose(w.grad.numpy(), expected.numpy())


def test_create_graph_records_even_under_no_grad_as_torch():
    x = _leaf(3)
    y = (x**3).sum()
    with tn.no_grad():
        (g,) = autograd.grad(y, x, create_graph=True)
    assert g.requires_grad


def test_float32_stays_float32():
    x = Tensor(np.array([0.5, 1.5], np.float32), requires_grad=True)
    (g,) = autograd.grad((x.sigmoid() * x).sum(), x, create_graph=True)
    (g2,) = autograd.grad(g.sum(), x)
    assert g.dtype == g2.dtype == np.float32


# ---- version checks ---------------------------------------------------------------------------------------------


def test_a_graph_backward_refuses_an_input_changed_in_place_since():
    """Exp's plain backward reads its output and is fine (as torch); its graph backward recomputes exp from the
    input, which has changed."""
    x = _leaf(3)
    h = x * 1
    y = h.exp()
    h.add_(1)
    np.testing.assert_allclose(autograd.grad(y.sum(), x, retain_graph=True)[0].numpy(), y.numpy())
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        autograd.grad(y.sum(), x, create_graph=True)


def test_linear_ops_read_no_input_and_need_no_check():
    x = _leaf(3)
    h = x * 1
    y = (h + 2) ** 2  # Add is linear: a later change of h is harmless to its backward
    h.mul_(3)
    (g,) = autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(), 2 * (x.numpy() + 2))


# ---- the checks themselves --------------------------------------------------------------------------------------


def test_gradgradcheck_catches_a_wrongly_linear_op():
    class Square(Function):
        linear = True  # wrong: the backward reads x, so a graph backward treats x as a constant

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return grad * 2 * self.x

    x = _leaf(3)
    assert tn.gradcheck(lambda t: Square.apply(t), x)
    with pytest.raises(GradcheckError, match="second derivatives"):
        gradgradcheck(lambda t: Square.apply(t), x)


def test_gradgradcheck_catches_a_composed_formula_that_is_not_the_op():
    class Double(Function):
        def forward(self, x):
            return x * 2

        def backward(self, grad):
            return grad * 2

        def composed(self, x):
            return x * 3

    with pytest.raises(GradcheckError, match="graph backward"):
        gradgradcheck(lambda t: Double.apply(t), _leaf(3))


def test_a_tensor_hook_sees_and_replaces_a_recorded_gradient():
    x = tn.tensor([1.0, 2.0], dtype=tn.float64, requires_grad=True)
    y = x * x
    seen = []
    y.register_hook(lambda g: seen.append(g.requires_grad) or g * 3)
    (gx,) = tn.autograd.grad(y.sum(), x, create_graph=True)
    assert seen == [False]
    np.testing.assert_allclose(gx.numpy(), 6 * x.numpy())
    (ggx,) = tn.autograd.grad(gx.sum(), x)
    np.testing.assert_allclose(ggx.numpy(), [6.0, 6.0])


def test_a_leaf_hook_runs_once_in_a_graph_backward():
    x = tn.tensor([1.0, 2.0], dtype=tn.float64, requires_grad=True)
    calls = []
    x.register_hook(lambda g: calls.append(1) or g * 2)
    (x * x + x).sum().backward(create_graph=True)
    assert calls == [1]
    np.testing.assert_allclose(x.grad.numpy(), 2 * (2 * x.numpy() + 1))
    assert x.grad.requires_grad


def test_detect_anomaly_watches_a_graph_backward():
    x = tn.tensor([0.0, 1.0], dtype=tn.float64, requires_grad=True)
    with np.errstate(divide="ignore"), tn.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="returned (nan|inf) values"):
            tn.autograd.grad(x.sqrt().sum(), x, create_graph=True)
