"""One copy rule for every input (the CuPy side is in test_cuda_arrays.py): the constructor and `tensor` copy,
`from_numpy`, `from_dlpack` and `as_tensor` share; creation functions and `*_like` place their result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tinygrad_norm as tn


def test_the_constructor_copies_and_as_tensor_and_from_dlpack_share():
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    copies = [tn.Tensor(array), tn.tensor(array), tn.Tensor(array, device="cpu"), tn.as_tensor(array, dtype="float64")]
    shared = [tn.as_tensor(array), tn.as_tensor(array, device="cpu"), tn.from_numpy(array), tn.from_dlpack(array)]
    array[0, 0] = 100
    assert [t[0, 0].item() for t in copies] == [0, 0, 0, 0]
    assert [t[0, 0].item() for t in shared] == [100, 100, 100, 100]
    again = tn.Tensor(shared[0])
    array[0, 1] = -1
    assert again[0, 1].item() == 1
    assert tn.as_tensor(shared[0]) is shared[0] and tn.as_tensor(shared[0], device="cpu") is shared[0]


def test_dlpack_shares_with_torch_both_ways():
    theirs = torch.zeros(3)
    ours = tn.from_dlpack(theirs)
    theirs[1] = 5
    assert ours.tolist() == [0, 5, 0] and ours.device == "cpu"
    back = torch.from_dlpack(ours)
    ours.data[2] = 7
    assert back.tolist() == [0, 5, 7] and np.from_dlpack(ours).tolist() == [0, 5, 7]
    with pytest.raises(RuntimeError, match="require gradient"):
        torch.from_dlpack(tn.zeros(2, requires_grad=True))
    with pytest.raises(TypeError, match="expected an array or tensor with __dlpack__"):
        tn.from_dlpack([1, 2])


def test_creation_functions_take_the_cpu_and_like_forms_follow_their_input():
    tn.manual_seed(3)
    default = tn.randn(4)
    tn.manual_seed(3)
    placed = tn.randn(4, device="cpu")
    assert np.array_equal(default.numpy(), placed.numpy())
    made = [tn.zeros(2, device="cpu"), tn.ones(2, device="cpu"), tn.empty(2, device="cpu"), tn.rand(2, device="cpu"),
            tn.full((2,), 3, device="cpu"), tn.arange(3, device="cpu"), tn.tensor([1], device="cpu"),
            tn.zeros_like(default), tn.randn_like(default, device="cpu"), tn.full_like(default, 2)]
    assert all(t.device == "cpu" and isinstance(t.data, np.ndarray) for t in made)
    assert tn.full((2,), 3, device="cpu").dtype == np.int64 and tn.arange(3.0, device="cpu").dtype == np.float32
