"""Tensor and Module hooks against torch: which hooks are called, in what order, with what arguments, and what a
returned value replaces; handles; torch's errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402
from tinygrad_norm import Tensor, nn  # noqa: E402

from .nn.torch_helpers import copy_params_from_torch, to_numpy  # noqa: E402

X = np.linspace(-1.5, 1.2, 6).reshape(2, 3)


def _both(array: np.ndarray = X) -> list[tuple[str, Tensor | torch.Tensor]]:
    """("ours", a leaf of ours) and ("torch", torch's), holding copies of `array` and requiring grad."""
    ours, theirs = Tensor(array.copy(), requires_grad=True), torch.tensor(array.copy(), requires_grad=True)
    return [("ours", ours), ("torch", theirs)]


def _arrays(values) -> list:
    """Hook arguments as arrays (None kept), so calls from both frameworks compare."""
    return [None if v is None else to_numpy(v) for v in values]


def _assert_same_calls(ours: list, theirs: list) -> None:
    """The same hooks in the same order, each called with the same arrays."""
    assert [call[0] for call in ours] == [call[0] for call in theirs]
    for (name, our_args), (_, their_args) in zip(ours, theirs):
        assert len(our_args) == len(their_args), name
        for ours_arg, theirs_arg in zip(our_args, their_args):
            if ours_arg is None or theirs_arg is None:
                assert ours_arg is None and theirs_arg is None, name
            else:
                np.testing.assert_allclose(ours_arg, theirs_arg, rtol=1e-6, atol=1e-7, err_msg=name)


# ---- a two-layer net with every kind of hook -------------------------------------------------------------------


def _hooked_net_run(framework, layers, x, log: list) -> None:
    """Register a forward pre-hook, forward hook and full backward hook on each layer, a hook on each parameter
    and on the hidden activations, then run forward and backward, logging (hook, arguments) in call order."""
    for name, layer in layers.named_children():
        layer.register_forward_pre_hook(lambda m, args, name=name: log.append((f"pre {name}", _arrays(args))))
        layer.register_forward_hook(lambda m, args, out, name=name: log.append((f"forward {name}", _arrays([out]))))
        layer.register_full_backward_hook(
            lambda m, gi, go, name=name: log.append((f"backward {name}", _arrays(gi) + _arrays(go)))
        )
    for name, param in layers.named_parameters():
        param.register_hook(lambda g, name=name: log.append((f"param {name}", _arrays([g]))))
    h = layers[0](x)
    h.register_hook(lambda g: log.append(("h", _arrays([g]))))
    a = layers[1](h)
    a.register_hook(lambda g: log.append(("a", _arrays([g]))))
    (layers[2](a) * framework.tensor(np.array([1.0, -2.0]))).sum().backward()


def test_hooks_on_a_two_layer_net_are_called_in_torch_order_with_torch_arguments():
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    copy_params_from_torch(ours, theirs)
    our_log, their_log = [], []
    (_, x), (_, x_t) = _both()
    _hooked_net_run(tn, ours, x, our_log)
    _hooked_net_run(torch, theirs, x_t, their_log)
    assert len(our_log) == 15
    _assert_same_calls(our_log, their_log)
    np.testing.assert_allclose(x.grad.numpy(), x_t.grad.numpy(), rtol=1e-12)


# ---- tensor hooks ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("leaf", [True, False], ids=["leaf", "non-leaf"])
def test_tensor_hooks_chain_their_replacements_and_change_what_flows_on(leaf):
    results = {}
    for name, t in _both():
        watched = t if leaf else t * 2
        calls = []
        watched.register_hook(lambda g, calls=calls: calls.append(("first", _arrays([g]))) or g * 3)
        watched.register_hook(lambda g, calls=calls: calls.append(("second", _arrays([g]))))  # None: unchanged
        watched.register_hook(lambda g, calls=calls: calls.append(("third", _arrays([g]))) or g + 1)
        if not leaf:
            watched.retain_grad()
        (watched * watched).sum().backward()  # a leaf used twice: its hooks see the sum, once
        results[name] = calls, t.grad, watched.grad
    _assert_same_calls(results["ours"][0], results["torch"][0])
    for ours, theirs in zip(results["ours"][1:], results["torch"][1:]):
        np.testing.assert_allclose(to_numpy(ours), to_numpy(theirs), rtol=1e-12)


def test_a_removed_hook_is_not_called_and_a_handle_works_as_a_context_manager():
    x = Tensor(X.copy(), requires_grad=True)
    calls = []
    handle = x.register_hook(lambda g: calls.append("removed"))
    with x.register_hook(lambda g: calls.append("kept for the block")):
        handle.remove()
        handle.remove()  # twice is harmless, as torch
        (x * 1).sum().backward()
    (x * 1).sum().backward()
    assert calls == ["kept for the block"]


def test_hooks_registered_before_an_in_place_op_see_the_old_values_gradient_as_torch():
    grads = {}
    for name, x in _both():
        y = x * 2
        seen = []
        y.register_hook(lambda g, seen=seen: seen.append(("before", _arrays([g]))))
        y.mul_(3)
        y.register_hook(lambda g, seen=seen: seen.append(("after", _arrays([g]))))
        (y * 5).sum().backward()
        grads[name] = seen
    _assert_same_calls(grads["ours"], grads["torch"])


def test_a_hook_on_the_root_sees_the_first_gradient():
    for x in (Tensor(X.copy(), requires_grad=True), Tensor(X.copy(), requires_grad=True).sum()):
        seen = []
        x.register_hook(lambda g, seen=seen: seen.append(g.numpy().copy()))
        x.backward(np.full(x.shape, 2.0))
        np.testing.assert_array_equal(seen[0], np.full(x.shape, 2.0))


@pytest.mark.parametrize(
    ("hook", "error", "message"),
    [
        (lambda g: 3, TypeError, "expected Tensor, but hook returned 'int'"),
        (lambda g: tn.ones(3, dtype=tn.float64), RuntimeError, "has changed the size of value"),
        (lambda g: g.float(), RuntimeError, "has changed the type of value"),
    ],
    ids=["not-a-tensor", "size", "dtype"],
)
def test_a_hook_that_returns_something_else_raises_as_torch(hook, error, message):
    x = Tensor(X.copy(), requires_grad=True)
    y = x * 2
    y.register_hook(hook)
    with pytest.raises(error, match=message):
        y.sum().backward()


def test_no_hook_on_a_tensor_that_does_not_require_grad():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        tn.ones(2).register_hook(lambda g: g)


# ---- module hooks ----------------------------------------------------------------------------------------------


class _Ours(nn.Module):
    def forward(self, a, k, b, c):
        return a * b * k, c * 2


class _Theirs(torch.nn.Module):
    def forward(self, a, k, b, c):
        return a * b * k, c * 2


@pytest.mark.parametrize("requires", [(True, False, True), (False, True, False)])
def test_full_backward_hook_arguments_match_torch(requires):
    """grad_input: one entry per positional argument (zeros for a tensor without a gradient, None for a number);
    grad_output: one per output (None for one that got no gradient)."""
    calls = {}
    for name, module, make in (("ours", _Ours(), Tensor), ("torch", _Theirs(), torch.tensor)):
        log = []
        module.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("hook", _arrays(gi) + _arrays(go))))
        a, b, c = (make(v, requires_grad=r) for v, r in zip((X[0], X[:, :1], X[1]), requires))
        y, _ = module(a, 3.0, b, c)
        (y * y).sum().backward()
        calls[name] = log
    assert len(calls["ours"]) == 1
    _assert_same_calls(calls["ours"], calls["torch"])


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
def test_full_backward_hook_when_no_input_requires_grad_matches_torch():
    theirs = torch.nn.Linear(3, 2).double()
    ours = nn.Linear(3, 2).double()
    copy_params_from_torch(ours, theirs)
    calls = {}
    for name, layer, make in (("ours", ours, Tensor), ("torch", theirs, torch.tensor)):
        log = []
        layer.register_full_backward_hook(lambda m, gi, go, log=log: log.append(("hook", _arrays(gi) + _arrays(go))))
        (layer(make(X.copy())) ** 2).sum().backward()
        calls[name] = log
    assert len(calls["ours"]) == 1
    _assert_same_calls(calls["ours"], calls["torch"])


def test_full_backward_hook_replaces_grad_input_and_runs_again_on_a_retained_graph():
    grads = {}
    for name, layer in (("ours", nn.Tanh()), ("torch", torch.nn.Tanh())):
        x = (Tensor if name == "ours" else torch.tensor)(X.copy(), requires_grad=True)
        layer.register_full_backward_hook(lambda m, gi, go: (gi[0] * 10,))
        y = layer(x)
        y.sum().backward(retain_graph=True)
        (y * 2).sum().backward()
        grads[name] = x.grad
    np.testing.assert_allclose(to_numpy(grads["ours"]), to_numpy(grads["torch"]), rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Full backward hook is firing")
@pytest.mark.parametrize(
    ("requires_grad", "result", "message"),
    [
        (True, lambda gi: (gi[0], gi[0]), "invalid number of grad_input, got 2, but expected 1"),
        (False, lambda gi: (tn.ones(2),), "no input requires gradient should always return None"),
    ],
)
def test_full_backward_hook_errors_as_torch(requires_grad, result, message):
    layer = nn.Linear(2, 2)
    layer.register_full_backward_hook(lambda m, gi, go: result(gi))
    with pytest.raises(RuntimeError, match=message):
        layer(tn.ones(1, 2, requires_grad=requires_grad)).sum().backward()


def test_forward_pre_hook_and_forward_hook_replace_args_and_output_with_kwargs_and_prepend():
    calls = {}
    for name, framework, layer in (("ours", tn, nn.Identity()), ("torch", torch, torch.nn.Identity())):
        log = []
        layer.register_forward_pre_hook(lambda m, args, log=log: log.append(("pre", _arrays(args))) or args[0] * 2)
        layer.register_forward_pre_hook(
            lambda m, args, kwargs, log=log: log.append(("pre first", _arrays(args))),
            prepend=True,
            with_kwargs=True,
        )
        layer.register_forward_pre_hook(
            lambda m, args, kwargs, log=log: log.append(("pre kwargs", _arrays(args))) or ((args[0] + 1,), kwargs),
            with_kwargs=True,
        )
        layer.register_forward_hook(lambda m, args, out, log=log: log.append(("forward", _arrays([*args, out]))))
        handle = layer.register_forward_hook(lambda m, args, out: out * 100)
        layer.register_forward_hook(
            lambda m, args, kwargs, out, log=log: log.append(("kwargs", _arrays([out]))) or out - 1,
            prepend=True,
            with_kwargs=True,
        )
        outputs = [to_numpy(layer(framework.tensor(X.copy())))]
        handle.remove()
        outputs.append(to_numpy(layer(framework.tensor(X.copy()))))
        calls[name] = log, outputs
    _assert_same_calls(calls["ours"][0], calls["torch"][0])
    for ours, theirs in zip(calls["ours"][1], calls["torch"][1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_a_pre_hook_with_kwargs_that_returns_something_else_raises_as_torch():
    layer = nn.Identity()
    layer.register_forward_pre_hook(lambda m, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\), but got 5"):
        layer(tn.ones(2))


def test_no_backward_hook_nodes_under_no_grad_and_none_without_hooks():
    layer = nn.Tanh()
    x = tn.ones(2, requires_grad=True)
    assert type(layer(x).grad_fn).__name__ == "Tanh"
    layer.register_full_backward_hook(lambda m, gi, go: None)
    assert type(layer(x).grad_fn).__name__ == "BackwardHookOutput"
    with tn.no_grad():
        assert layer(x).grad_fn is None
