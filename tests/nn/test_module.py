"""The module system against torch.nn.Module: registration, traversal order, state_dict keys and
loading, train/eval, casting, containers and repr; and the parameter utilities in nn.utils."""

import copy
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm.nn import utils

torch = pytest.importorskip("torch")

from .torch_helpers import (  # noqa: E402
    assert_close,
    compare_forward_backward,
    copy_params_from_torch,
    copy_params_to_torch,
    to_numpy,
)


def make_net(lib, nn):
    """The same nested architecture in either framework (lib: tinygrad_norm or torch)."""

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 3, 3, padding=1)
            self.register_buffer("scale", lib.ones(3))
            self.register_buffer("steps", lib.tensor(0))  # int64, 0-d
            self.register_buffer("cache", lib.zeros(2), persistent=False)
            self.gate = nn.Parameter(lib.zeros(3))

        def forward(self, x):
            return self.conv(x).relu() * (self.scale + self.gate).reshape(1, 3, 1, 1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = Block()
            self.pool = nn.MaxPool2d(2)
            self.heads = nn.ModuleList([nn.Linear(12, 4), nn.Linear(12, 4, bias=False)])
            self.out = nn.Sequential(nn.ReLU(), nn.Linear(4, 2))

        def forward(self, x):
            h = self.pool(self.stem(x)).flatten(1)
            return self.out(self.heads[0](h) + self.heads[1](h))

    return Net()


def _pair():
    ours, theirs = make_net(tn, nn), make_net(torch, torch.nn)
    copy_params_from_torch(ours, theirs)
    return ours, theirs


def test_traversal_names_and_order_equal_torch():
    ours, theirs = _pair()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_children()] == [n for n, _ in theirs.named_children()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.stem.named_parameters(prefix="x", recurse=False)] == ["x.gate"]
    assert len(list(ours.parameters())) == len(list(theirs.parameters())) == 8
    assert [type(m).__name__ for m in ours.modules()] == [type(m).__name__ for m in theirs.modules()]
    assert [type(m).__name__ for m in ours.children()] == [type(m).__name__ for m in theirs.children()]


def test_state_dict_values_are_numpy_copies_with_torch_dtypes():
    ours, theirs = _pair()
    state = ours.state_dict()
    assert "stem.cache" not in state  # non-persistent
    for key, value in theirs.state_dict().items():
        assert isinstance(state[key], np.ndarray)
        assert state[key].dtype == to_numpy(value).dtype and state[key].shape == tuple(value.shape)
    assert state["stem.steps"].shape == () and state["stem.steps"].dtype == np.int64
    state["out.1.bias"][...] = 42.0
    assert not np.any(ours.out[1].bias.numpy() == 42.0)
    assert ours.state_dict(keep_vars=True)["out.1.bias"] is ours.out[1].bias


def test_forward_and_all_gradients_equal_torch_after_loading_its_state_dict():
    ours, theirs = _pair()
    x = np.random.default_rng(0).standard_normal((2, 2, 4, 4)).astype(np.float32)
    compare_forward_backward(ours, theirs, x, rtol=1e-5, atol=1e-5)


def test_load_state_dict_accepts_torch_tensors_and_arrays_and_casts_to_our_dtypes():
    ours, theirs = _pair()
    theirs_state = theirs.state_dict()
    theirs_state["stem.steps"] = torch.tensor(7)
    ours.double()
    result = ours.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in theirs_state.items()})
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert ours.stem.conv.weight.dtype == np.float64 and ours.stem.steps.dtype == np.int64
    assert ours.stem.steps.item() == 7
    ours.float()
    ours.load_state_dict({k: tn.tensor(v) for k, v in ours.state_dict().items()})  # our Tensors as values
    assert_close(ours.heads[0].weight, theirs.heads[0].weight, 0, 0)


def test_our_state_dict_loads_into_torch():
    ours, theirs = make_net(tn, nn), make_net(torch, torch.nn)
    copy_params_to_torch(ours, theirs)
    for key, value in theirs.state_dict().items():
        assert_close(value, ours.state_dict()[key], 0, 0, key)


def test_strict_loading_lists_every_problem_in_one_error_and_changes_nothing():
    ours, theirs = _pair()
    before = ours.state_dict()
    bad = {k: v.numpy() for k, v in theirs.state_dict().items()}
    del bad["stem.gate"], bad["out.1.bias"]
    bad["stem.conv.weight"] = np.zeros((3, 2, 2, 3), np.float32)
    bad["heads.0.bias"] = np.full(4, 9.0, np.float32)  # valid: must not be copied either
    bad["stem.extra"] = np.zeros(1)
    with pytest.raises(RuntimeError) as error:
        ours.load_state_dict(bad)
    message = str(error.value)
    for part in ('"stem.gate"', '"out.1.bias"', '"stem.extra"', "size mismatch for stem.conv.weight", "(3, 2, 2, 3)"):
        assert part in message
    assert message.index("Missing") < message.index("Unexpected") < message.index("size mismatch")
    for key, value in ours.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_non_strict_loading_reports_keys_but_still_refuses_wrong_shapes():
    ours, theirs = _pair()
    partial = {k: v.numpy() for k, v in theirs.state_dict().items() if k != "stem.gate"}
    partial["unknown.weight"] = np.zeros(2)
    missing, unexpected = ours.load_state_dict(partial, strict=False)
    assert (missing, unexpected) == (["stem.gate"], ["unknown.weight"])
    partial["heads.0.weight"] = np.zeros((1, 1))
    with pytest.raises(RuntimeError, match="size mismatch for heads.0.weight"):
        ours.load_state_dict(partial, strict=False)


def test_train_and_eval_recurse_and_return_self():
    ours, _ = _pair()
    assert all(m.training for m in ours.modules())
    assert ours.eval() is ours and not any(m.training for m in ours.modules())
    assert ours.stem.train() is ours.stem
    assert ours.stem.conv.training and not ours.training and not ours.heads[0].training
    with pytest.raises(ValueError, match="boolean"):
        ours.train("yes")


def test_zero_grad_sets_to_none_or_zeros_in_place():
    layer = nn.Linear(3, 2)
    layer(tn.ones(4, 3)).sum().backward()
    grad = layer.weight.grad
    layer.zero_grad(set_to_none=False)
    assert layer.weight.grad is grad and not np.any(grad.numpy())
    layer.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None


def test_double_and_float_cast_parameters_grads_and_float_buffers_in_place():
    ours, _ = _pair()
    weight = ours.stem.conv.weight
    ours(tn.ones(1, 2, 4, 4)).sum().backward()
    assert ours.double() is ours
    assert ours.stem.conv.weight is weight and weight.dtype == np.float64 and weight.grad.dtype == np.float64
    assert ours.stem.scale.dtype == np.float64 and ours.stem.steps.dtype == np.int64
    assert ours(tn.ones(1, 2, 4, 4, dtype=np.float64)).dtype == np.float64
    assert ours.float().stem.conv.weight.dtype == np.float32
    with pytest.raises(TypeError, match="floating point"):
        ours.to(np.int32)


def test_apply_visits_children_before_parents_as_torch():
    ours, theirs = _pair()
    seen_ours, seen_theirs = [], []
    assert ours.apply(lambda m: seen_ours.append(type(m).__name__)) is ours
    theirs.apply(lambda m: seen_theirs.append(type(m).__name__))
    assert seen_ours == seen_theirs


def test_registration_rules():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="parameter 'weight'"):
        layer.weight = tn.ones(2, 2)
    layer.bias = None  # a parameter slot may be emptied
    assert [n for n, _ in layer.named_parameters()] == ["weight"] and "bias" not in layer.state_dict()
    layer.scale = layer.weight * 2  # a computed tensor is a plain attribute, not a parameter
    assert type(layer.scale) is tn.Tensor and [n for n, _ in layer.named_parameters()] == ["weight"]
    with pytest.raises(TypeError, match="buffer"):
        layer.register_buffer("stats", np.zeros(2))
    with pytest.raises(KeyError, match="already exists"):
        layer.register_buffer("weight", tn.zeros(2))
    with pytest.raises(KeyError, match=r"\."):
        layer.register_parameter("a.b", None)
    layer.register_buffer("stats", tn.zeros(2))
    with pytest.raises(TypeError, match="buffer 'stats'"):
        layer.stats = 3.0
    del layer.stats
    assert "stats" not in layer.state_dict() and not hasattr(layer, "stats")
    with pytest.raises(AttributeError, match="no attribute 'missing'"):
        _ = layer.missing

    class Early(nn.Module):
        def __init__(self):
            self.weight = nn.Parameter(np.ones(1))

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameters_count_once_but_appear_under_every_key_as_torch():
    def tied(nn):
        first, second = nn.Linear(3, 3), nn.Linear(3, 3)
        second.weight = first.weight
        return nn.Sequential(first, second, first)

    ours, theirs = tied(nn), tied(torch.nn)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_parameter_wraps_without_copy_and_is_a_tensor():
    data = tn.ones(3)
    param = nn.Parameter(data)
    assert isinstance(param, tn.Tensor) and param.requires_grad and param.data is data.data
    assert nn.Parameter(np.zeros(2), requires_grad=False).requires_grad is False
    assert type(param * 2) is tn.Tensor
    assert repr(param).startswith("Parameter containing:\n")


def test_forward_must_be_defined():
    with pytest.raises(NotImplementedError, match="forward"):
        nn.Module()(tn.ones(1))


# ---- containers -------------------------------------------------------------------------------


def test_sequential_indexing_slicing_and_append_match_torch():
    def build(nn):
        return nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh())

    ours, theirs = build(nn), build(torch.nn)
    assert len(ours) == 4 and isinstance(ours[-1], nn.Tanh) and isinstance(ours[0], nn.Linear)
    sliced, their_sliced = ours[1:3], theirs[1:3]
    assert isinstance(sliced, nn.Sequential) and list(sliced._modules) == list(their_sliced._modules)
    assert sliced[0] is ours[1]
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
    assert ours.append(nn.Sigmoid()) is ours and list(ours._modules)[-1] == "4"
    with pytest.raises(IndexError, match="out of range"):
        ours[5]
    named = nn.Sequential(OrderedDict(encoder=nn.Linear(2, 2), act=nn.ReLU()))
    assert [n for n, _ in named.named_parameters()] == ["encoder.weight", "encoder.bias"]


def test_sequential_forward_chains_modules():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    x = tn.randn(4, 2)
    assert_close(model(x), model[2](model[1](model[0](x))), 0, 0)


def test_module_list_indexing_extend_and_setitem():
    layers = nn.ModuleList([nn.Linear(2, 2)])
    assert layers.extend([nn.ReLU(), nn.Tanh()]) is layers and len(layers) == 3
    layers.append(nn.Identity())
    assert isinstance(layers[-1], nn.Identity)
    assert isinstance(layers[1:], nn.ModuleList) and list(layers[1:]._modules) == ["0", "1", "2"]
    layers[1] = nn.Sigmoid()
    assert isinstance(layers[1], nn.Sigmoid) and list(layers._modules) == ["0", "1", "2", "3"]
    with pytest.raises(TypeError, match="integers or slices"):
        layers["0"]


@pytest.mark.parametrize("container", ["Sequential", "ModuleList"])
def test_container_list_operations_match_torch(container):
    """insert, del (index and slice), pop, += and setitem leave the same children under the same names."""

    def run(nn):
        def build(*layers):
            return nn.Sequential(*layers) if container == "Sequential" else nn.ModuleList(layers)

        modules = build(nn.ReLU(), nn.Tanh(), nn.Sigmoid())
        modules.insert(1, nn.GELU())
        modules.insert(3, nn.SiLU())
        modules += build(nn.Identity(), nn.LeakyReLU())
        del modules[0]
        popped = modules.pop(2)
        del modules[3:5]
        modules[-1] = nn.Softmax(dim=1)
        return type(popped).__name__, list(modules._modules), [repr(m) for m in modules]

    assert run(nn) == run(torch.nn)


# ---- repr -------------------------------------------------------------------------------------


def test_repr_equals_torch():
    def build(nn):
        return nn.Sequential(
            nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False),
            nn.Conv2d(8, 8, (3, 1), padding="same", dilation=2, groups=4),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),
            nn.AvgPool2d(3, stride=1, padding=1),
            nn.AdaptiveAvgPool2d((2, None)),
            nn.Flatten(),
            nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4), nn.Linear(4, 4), nn.LeakyReLU(0.2), nn.GELU("tanh")]),
            nn.Sequential(nn.SiLU(), nn.Sigmoid(), nn.Tanh(), nn.Identity(), nn.Softmax(dim=1), nn.LogSoftmax(1)),
            nn.Embedding(10, 3, padding_idx=-1),
            nn.CrossEntropyLoss(),
            nn.ModuleList(),
        )

    assert repr(build(nn)) == repr(build(torch.nn))


# ---- nn.utils ---------------------------------------------------------------------------------


def _params(lib, seed=0):
    rng = np.random.default_rng(seed)
    return [lib.tensor(rng.standard_normal(shape), requires_grad=True) for shape in [(3, 4), (5,), (2, 2, 2)]]


@pytest.mark.parametrize("penalty, reference", [
    (utils.l1_penalty, lambda ps: sum(p.abs().sum() for p in ps)),
    (utils.l2_penalty, lambda ps: sum(p.pow(2).sum() for p in ps)),
])  # fmt: skip
def test_penalties_and_their_gradients_match_the_torch_expression(penalty, reference):
    ours, theirs = _params(tn), _params(torch)
    value, expected = penalty(ours), reference(theirs)
    assert_close(value, expected, 1e-12, 1e-12)
    value.backward(), expected.backward()
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, 1e-12, 1e-12)
    assert penalty([]).item() == 0.0


def _with_grads(lib, scale):
    params = _params(lib)
    for i, p in enumerate(params):
        p.grad = lib.tensor(np.random.default_rng(10 + i).standard_normal(p.shape) * scale)
    return params


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("scale", [0.01, 10.0], ids=["below-max", "above-max"])
def test_clip_grad_norm_matches_torch(norm_type, scale):
    ours, theirs = _with_grads(tn, scale), _with_grads(torch, scale)
    total = utils.clip_grad_norm_(ours, max_norm=1.5, norm_type=norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm=1.5, norm_type=norm_type)
    assert_close(total, expected, 1e-12, 0)
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, 1e-12, 1e-15)


def test_clip_grad_norm_edge_cases():
    assert utils.clip_grad_norm_([tn.ones(2, requires_grad=True)], 1.0).item() == 0.0  # no gradients yet
    param = tn.ones(2, requires_grad=True)
    param.grad = tn.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        utils.clip_grad_norm_(param, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="norm_type"):
        utils.clip_grad_norm_(param, 1.0, norm_type=0)


def test_clip_grad_value_matches_torch():
    ours, theirs = _with_grads(tn, 2.0), _with_grads(torch, 2.0)
    grad = ours[0].grad
    utils.clip_grad_value_(ours, 0.7)
    torch.nn.utils.clip_grad_value_(theirs, 0.7)
    assert ours[0].grad is grad
    for p, q in zip(ours, theirs):
        assert_close(p.grad, q.grad, 0, 0)


def test_deepcopy_gives_an_independent_module_with_the_same_names():
    ours, _ = _pair()
    clone = copy.deepcopy(ours)
    assert list(clone.state_dict()) == list(ours.state_dict())
    assert clone.stem.conv.weight is not ours.stem.conv.weight and isinstance(clone.stem.conv.weight, nn.Parameter)
    clone.stem.conv.weight.data[...] = 0
    assert np.any(ours.stem.conv.weight.numpy() != 0)


def test_to_takes_torch_call_forms():
    layer = nn.Linear(3, 2)
    assert layer.to("cpu") is layer and layer.weight.dtype == np.float32
    layer.to("cpu", np.float64)
    assert layer.weight.dtype == np.float64 and layer.bias.dtype == np.float64
    layer.to(dtype="float32")
    assert layer.weight.dtype == np.float32
    with pytest.raises(ValueError, match="device must be 'cpu', 'cuda' or 'cuda:N'"):
        layer.to("gpu")
