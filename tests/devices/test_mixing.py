"""The tensors of one op must share a device: the error names both devices (torch's words), whatever the op.

The GPU side is played by stand-in arrays, numpy arrays whose class says what a CuPy array's says (its module, and
`.device.id`), so the check runs on any machine; the ops below refuse before they compute anything.
test_cuda_arrays.py repeats the check with real CuPy arrays.
"""

from __future__ import annotations

import re
import types

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm.nn import functional as F


def stand_in_class(index: int) -> type:
    """An ndarray subclass that the device check reads as a CuPy array on GPU `index`."""
    what_cupy_says = {"__module__": "cupy.stand_in", "device": types.SimpleNamespace(id=index)}
    return type(f"ArrayOnGpu{index}", (np.ndarray,), what_cupy_says)


def on_gpu(index: int, *shape: int) -> tn.Tensor:
    return tn.Tensor._from_array(np.ones(shape, np.float32).view(stand_in_class(index)), False)


def mixes(first: str, second: str):
    return pytest.raises(RuntimeError, match=re.escape(f"found at least two devices, {first} and {second}!"))


def test_binary_ops_name_both_devices_in_order():
    host, gpu = tn.ones(2, 3), on_gpu(1, 2, 3)
    assert gpu.device == "cuda:1" and host.device == "cpu"
    for mixed, first, second in [
        (lambda: host + gpu, "cpu", "cuda:1"),
        (lambda: gpu * host, "cuda:1", "cpu"),
        (lambda: host @ on_gpu(1, 3, 2), "cpu", "cuda:1"),
        (lambda: host < gpu, "cpu", "cuda:1"),
        (lambda: tn.cat([host, gpu]), "cpu", "cuda:1"),
        (lambda: on_gpu(0, 2, 3) + gpu, "cuda:0", "cuda:1"),
    ]:
        with mixes(first, second):
            mixed()


def test_layers_in_place_ops_and_backward_name_both_devices():
    host = tn.ones(4, 3, requires_grad=True)
    with mixes("cpu", "cuda:1"):
        F.layer_norm(host, (3,), on_gpu(1, 3))
    with mixes("cpu", "cuda:1"):  # running buffers are written in place, outside the op: checked on their own
        F.batch_norm(host, on_gpu(1, 3), on_gpu(1, 3), training=True)
    with mixes("cpu", "cuda:1"):
        tn.ones(4, 3).add_(on_gpu(1, 4, 3))
    with mixes("cpu", "cuda:0"):
        (host * 2).backward(on_gpu(0, 4, 3))
    assert host.grad is None
