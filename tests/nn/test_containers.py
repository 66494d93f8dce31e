"""ModuleDict, ParameterList and ParameterDict against torch: keys, order, registration, state_dict and the
dict and list operations; and Module.apply, named_modules and requires_grad_ beside them."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn

torch = pytest.importorskip("torch")


def _module_dict(lib_nn):
    modules = lib_nn.ModuleDict({"encoder": lib_nn.Linear(2, 3), "act": lib_nn.ReLU()})
    modules["decoder"] = lib_nn.Linear(3, 2)
    modules.update([("norm", lib_nn.LayerNorm(2)), ("act", lib_nn.Tanh())])
    popped = modules.pop("encoder")
    del modules["norm"]
    return modules, popped


def test_module_dict_operations_match_torch():
    (ours, our_popped), (theirs, their_popped) = _module_dict(nn), _module_dict(torch.nn)
    assert list(ours) == list(theirs) == list(ours.keys()) == ["act", "decoder"]
    assert [type(m).__name__ for m in ours.values()] == [type(m).__name__ for m in theirs.values()]
    assert [k for k, _ in ours.items()] == [k for k, _ in theirs.items()]
    assert type(our_popped).__name__ == type(their_popped).__name__ == "Linear"
    assert len(ours) == len(theirs) and "act" in ours and "encoder" not in ours
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    ours.clear()
    assert len(ours) == 0 and repr(ours) == repr(torch.nn.ModuleDict())


def test_module_dict_refuses_what_torch_refuses():
    modules = nn.ModuleDict()
    with pytest.raises(TypeError):
        modules["x"] = 3
    with pytest.raises(KeyError):
        modules["missing"]
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        modules["keys"] = nn.ReLU()
    with pytest.raises(ValueError, match="pair"):
        modules.update(["ab"])


def _parameter_list(lib, lib_nn):
    params = lib_nn.ParameterList([lib_nn.Parameter(lib.zeros(2, 3)), lib.ones(3, dtype=lib.float64)])
    params.append(lib.full((2,), 4.0))
    params.extend([lib_nn.Parameter(lib.ones(1))])
    params[0] = lib_nn.Parameter(lib.ones(2, 3))
    return params


def test_parameter_list_matches_torch():
    ours, theirs = _parameter_list(tn, nn), _parameter_list(torch, torch.nn)
    assert len(ours) == len(theirs) == 4
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["0", "1", "2", "3"]
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in ours)
    assert [p.tolist() for p in ours] == [p.tolist() for p in theirs]
    assert ours[1].dtype == np.float64 and ours[-1].tolist() == [1.0]
    assert isinstance(ours[1:3], nn.ParameterList) and len(ours[1:3]) == 2
    owner = nn.Module()
    owner.params = ours
    assert [name for name, _ in owner.named_parameters()] == ["params.0", "params.1", "params.2", "params.3"]
    assert repr(ours).splitlines()[1] == "    (0): Parameter containing: [float32 of size 2x3]"


def test_a_plain_tensor_becomes_a_parameter_on_the_same_array():
    source = tn.ones(2)
    params = nn.ParameterList([source])
    assert isinstance(params[0], nn.Parameter) and params[0].data is source.data
    with pytest.raises(TypeError, match="tensors"):
        params.append(3.0)


def _parameter_dict(lib, lib_nn):
    params = lib_nn.ParameterDict({"scale": lib_nn.Parameter(lib.ones(2)), "shift": lib.zeros(2)})
    params["gate"] = lib.full((1,), 0.5)
    params.update({"scale": lib_nn.Parameter(lib.full((2,), 3.0))})
    del params["shift"]
    return params


def test_parameter_dict_matches_torch():
    ours, theirs = _parameter_dict(tn, nn), _parameter_dict(torch, torch.nn)
    assert list(ours) == list(theirs) == ["scale", "gate"]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [p.tolist() for p in ours.values()] == [p.tolist() for p in theirs.values()]
    assert "gate" in ours and isinstance(ours["gate"], nn.Parameter)
    assert ours.pop("gate").tolist() == [0.5] and list(ours) == ["scale"]


# ---- traversal and modes -----------------------------------------------------------------------------------------


def _tree(lib_nn):
    return lib_nn.Sequential(lib_nn.Linear(2, 2), lib_nn.ModuleDict({"a": lib_nn.ReLU(), "b": lib_nn.Linear(2, 1)}))


def test_apply_named_modules_and_requires_grad_match_torch():
    ours, theirs = _tree(nn), _tree(torch.nn)
    assert [name for name, _ in ours.named_modules()] == [name for name, _ in theirs.named_modules()]
    assert [n for n, _ in ours.named_modules(prefix="net")] == [n for n, _ in theirs.named_modules(prefix="net")]
    visited: dict = {"ours": [], "theirs": []}
    ours.apply(lambda m: visited["ours"].append(type(m).__name__))
    theirs.apply(lambda m: visited["theirs"].append(type(m).__name__))
    assert visited["ours"] == visited["theirs"]
    assert ours.requires_grad_(False) is ours
    assert not any(p.requires_grad for p in ours.parameters())
    assert tn.ones(2).requires_grad_().requires_grad
