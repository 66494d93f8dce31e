"""Device names: parsing, printing and comparing as torch.device does; the call forms of `to()`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_norm as tn
from tinygrad_norm.devices import parse_to_args


@pytest.mark.parametrize("name", ["cpu", "cpu:0", "cuda", "cuda:0", "cuda:1", "cuda:12"])
def test_names_print_as_torch_devices(name):
    ours, theirs = tn.device(name), torch.device(name)
    assert (str(ours), repr(ours), ours.type, ours.index) == (str(theirs), repr(theirs), theirs.type, theirs.index)
    assert tn.device(theirs) == ours and tn.device(ours) == ours


def test_other_forms_and_equality():
    assert tn.device("cuda", 1) == tn.device(1) == tn.device("cuda:1") == "cuda:1"
    assert tn.device("cuda") != tn.device("cuda:0") and tn.device("cuda") != "cuda:0"  # as torch
    assert tn.device("cpu") == "cpu" and tn.device("cpu") != "cuda" and tn.device("cpu") != 0
    assert len({tn.device("cuda:1"), "cuda:1", tn.device(1)}) == 1  # hashed as its name
    assert tn.Device is tn.device


@pytest.mark.parametrize(
    ("spec", "index", "error", "words"),
    [
        ("gpu", None, ValueError, "device must be 'cpu', 'cuda' or 'cuda:N'"),
        ("cuda:x", None, ValueError, "device must be"),
        ("cuda:01", None, ValueError, "device must be"),
        (" cuda", None, ValueError, "device must be"),
        ("CUDA", None, ValueError, "device must be"),
        ("cuda:1", 2, ValueError, "already has an index"),
        ("cuda", -1, ValueError, "must not be negative"),
        (-1, None, ValueError, "must not be negative"),
        ("cpu:1", None, ValueError, "the CPU is device 'cpu'"),
        ("cuda", 1.0, TypeError, "index must be an int"),
        (1.5, None, TypeError, "device must be a device or its name"),
        (None, None, TypeError, "device must be a device or its name"),
        (True, None, TypeError, "device must be a device or its name"),
    ],
)
def test_bad_devices_are_refused(spec, index, error, words):
    with pytest.raises(error, match=words):
        tn.device(spec, index)


def test_to_call_forms():
    x = tn.randn(2, 3)
    assert parse_to_args() == (None, None)
    assert parse_to_args("float64") == (None, np.float64)
    assert parse_to_args("cuda:1", np.float16) == (tn.device("cuda:1"), np.float16)
    assert parse_to_args(1) == (tn.device("cuda:1"), None)
    assert parse_to_args(device="cpu", dtype="float32") == ("cpu", np.float32)
    assert parse_to_args(x.double()) == ("cpu", np.float64)  # a tensor: its device and dtype
    assert x.to(x.double()).dtype == np.float64 and x.to(tn.device("cpu")) is x and x.cpu() is x
    assert x.to(copy=True) is not x and np.array_equal(x.to(copy=True).numpy(), x.numpy())
    assert x.to("cpu", non_blocking=True) is x
    with pytest.raises(ValueError, match="device must be"):
        x.to("gpu")
    with pytest.raises(TypeError, match="dtype must be"):
        x.to(object)
    with pytest.raises(ValueError, match="cuda\\(\\): device must be a CUDA device"):
        x.cuda("cpu")
