"""weight_norm / remove_weight_norm: torch's parameter names and numbers, the recomputation before every
forward, gradients through g and v, and a zero slice of v."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import Tensor
from tinygrad_norm.nn.utils import remove_weight_norm, weight_norm

# (layer, constructor args, input shape)
LAYERS = [("Linear", (5, 4), (3, 5)), ("Conv2d", (3, 4, 3), (2, 3, 6, 6))]


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _torch_pair(torch, name: str, args: tuple, dim: int | None):
    from .torch_helpers import copy_params_from_torch

    torch.manual_seed(0)
    theirs = torch.nn.utils.weight_norm(getattr(torch.nn, name)(*args).double(), dim=dim)
    ours = weight_norm(getattr(nn, name)(*args).double(), dim=dim)
    copy_params_from_torch(ours, theirs)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:.*torch.nn.utils.weight_norm.*:FutureWarning")
@pytest.mark.parametrize("dim", [0, 1, None, -1])
@pytest.mark.parametrize(("name", "args", "shape"), LAYERS)
def test_matches_torch_names_output_and_gradients(torch, name, args, shape, dim):
    from .torch_helpers import compare_forward_backward

    ours, theirs = _torch_pair(torch, name, args, dim)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    x = np.random.default_rng(0).standard_normal(shape)
    compare_forward_backward(ours, theirs, x)
    with torch.no_grad():  # one SGD step on g and v: the next forward must use the recomputed weight
        for param in theirs.parameters():
            param -= 0.1 * param.grad
    for param in ours.parameters():
        param.data -= 0.1 * param.grad.data
    compare_forward_backward(ours, theirs, x * 2)


@pytest.mark.filterwarnings("ignore:.*torch.nn.utils.weight_norm.*:FutureWarning")
def test_remove_weight_norm_matches_torch(torch):
    from .torch_helpers import compare_forward_backward

    ours, theirs = _torch_pair(torch, "Linear", (5, 4), 0)
    ours, theirs = remove_weight_norm(ours), torch.nn.utils.remove_weight_norm(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["bias", "weight"]
    assert isinstance(ours.weight, nn.Parameter)
    compare_forward_backward(ours, theirs, np.random.default_rng(1).standard_normal((3, 5)))


def test_weight_is_g_times_the_direction_of_v():
    layer = weight_norm(nn.Linear(4, 3).double())
    g, v = layer.weight_g.numpy(), layer.weight_v.numpy()
    assert g.shape == (3, 1)
    np.testing.assert_allclose(g[:, 0], np.linalg.norm(v, axis=1))  # g starts as the norm: weight unchanged
    layer.weight_g.data[...] = [[1.0], [2.0], [3.0]]
    layer(Tensor(np.ones((1, 4))))
    np.testing.assert_allclose(np.linalg.norm(layer.weight.numpy(), axis=1), [1.0, 2.0, 3.0])


def test_gradcheck_and_gradgradcheck_float64_through_g_and_v():
    layer = weight_norm(nn.Linear(3, 2).double(), dim=0)
    x = Tensor(np.random.default_rng(2).standard_normal((4, 3)), requires_grad=True)
    assert tn.gradcheck(lambda x, *params: layer(x), x, *layer.parameters())
    assert tn.gradgradcheck(lambda x, *params: layer(x), x, *layer.parameters())


def test_zero_row_of_v_raises_naming_the_row():
    layer = nn.Linear(3, 4)
    layer.weight.data[2] = 0
    with pytest.raises(ValueError, match=r"indices \[2\] along dim 0"):
        weight_norm(layer)
    layer = weight_norm(nn.Linear(3, 4))
    layer.weight_v.data[1] = 0  # e.g. set by hand or by an optimizer step after creation
    with pytest.raises(ValueError, match=r"indices \[1\] along dim 0"):
        layer(Tensor(np.ones((2, 3), np.float32)))


def test_registering_twice_raises_and_an_unknown_name_cannot_be_removed():
    layer = weight_norm(nn.Linear(3, 4))
    with pytest.raises(RuntimeError, match="two weight_norm"):
        weight_norm(layer)
    with pytest.raises(ValueError, match="not found"):
        remove_weight_norm(nn.Linear(3, 4))


def test_weight_and_bias_can_both_be_normalized_and_removed_in_any_order():
    layer = nn.Linear(3, 4).double()
    x = Tensor(np.random.default_rng(3).standard_normal((2, 3)))
    expected = layer(x).numpy()
    weight_norm(weight_norm(layer, "weight"), "bias")
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    remove_weight_norm(layer, "weight")
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)
    remove_weight_norm(layer, "bias")
    assert "forward" not in layer.__dict__ and not layer._forward_pre_hooks
    assert list(layer.state_dict()) == ["weight", "bias"]
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:.*torch.nn.utils.weight_norm.*:FutureWarning")
def test_it_is_a_forward_pre_hook_as_torch_so_other_pre_hooks_see_the_weight_in_order(torch):
    seen = {}
    for name, framework_nn in (("ours", nn), ("torch", torch.nn)):
        layer = framework_nn.Linear(3, 2)
        layer.register_forward_pre_hook(lambda m, args, name=name: seen.setdefault(name, []).append("before"))
        layer = (weight_norm if name == "ours" else torch.nn.utils.weight_norm)(layer)
        layer.register_forward_pre_hook(lambda m, args, name=name: seen[name].append(tuple(m.weight.shape)))
        assert "forward" not in layer.__dict__
        layer(tn.ones(1, 3) if name == "ours" else torch.ones(1, 3))
    assert seen["ours"] == seen["torch"] == ["before", (2, 3)]


def test_dim_out_of_range_raises():
    with pytest.raises(ValueError, match="out of range"):
        weight_norm(nn.Linear(3, 4), dim=2)
