"""Models on a GPU: Module.to/cuda/cpu, state dicts in host memory, optimizers updating in place on the device,
and checkpoints that move between a GPU and a CPU-only machine. Every test needs a GPU (bench/gpu_check.sh runs
them there)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import cuda, nn, optim

from .gpu import requires_cuda

pytestmark = requires_cuda
ROOT = Path(__file__).resolve().parents[2]

OPTIMIZERS = {
    "sgd": lambda params: optim.SGD(params, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda params: optim.Adam(params, lr=0.01, amsgrad=True),
    "adamw": lambda params: optim.AdamW(params, lr=0.01),
    "rmsprop": lambda params: optim.RMSprop(params, lr=0.01, momentum=0.5, centered=True),
    "adagrad": lambda params: optim.Adagrad(params, lr=0.1),
}


def model(seed: int = 0) -> nn.Module:
    """A float64 network with every layer an optimizer sees."""
    tn.manual_seed(seed)
    # no bias before the BatchNorm: its gradient would be rounding noise, which Adam's normalization amplifies
    layers = nn.Linear(6, 8, bias=False), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 3)
    return nn.Sequential(*layers).double()


def train(net: nn.Module, optimizer: optim.Optimizer, device: str, steps: int = 3) -> None:
    rng = np.random.default_rng(1)
    tn.manual_seed(5)  # the same dropout masks on both devices
    for _ in range(steps):
        x = tn.tensor(rng.standard_normal((16, 6)), device=device)
        y = tn.tensor(rng.integers(0, 3, 16), device=device)
        optimizer.zero_grad()
        nn.functional.cross_entropy(net(x), y).backward()
        optimizer.step()


def test_module_moves_in_place_and_its_state_dict_is_in_host_memory():
    net = model()
    params = list(net.parameters())
    assert net.cuda() is net and list(net.parameters()) == params  # the same Parameter objects
    assert all(t.device.type == "cuda" for t in [*net.parameters(), *net.buffers()])
    assert all(isinstance(value, np.ndarray) for value in net.state_dict().values())
    net.to("cpu", tn.float32)
    assert all(t.device == "cpu" for t in net.buffers()) and net[0].weight.dtype == np.float32
    assert net[1].num_batches_tracked.dtype == np.int64  # only floating tensors are cast


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizers_update_in_place_on_the_device(name):
    on_cpu, on_gpu = model(), model().cuda()
    cpu_optimizer, gpu_optimizer = OPTIMIZERS[name](on_cpu.parameters()), OPTIMIZERS[name](on_gpu.parameters())
    memory = [p.data.data.ptr for p in on_gpu.parameters()]
    train(on_cpu, cpu_optimizer, "cpu")
    train(on_gpu, gpu_optimizer, "cuda")
    assert [p.data.data.ptr for p in on_gpu.parameters()] == memory
    for ours, theirs in zip(on_gpu.parameters(), on_cpu.parameters(), strict=True):
        np.testing.assert_allclose(ours.cpu().numpy(), theirs.numpy(), rtol=1e-8, atol=1e-10)
    state = [value for values in gpu_optimizer.state.values() for value in values.values() if hasattr(value, "shape")]
    assert all(getattr(value, "ndim", 0) == 0 or tn.as_tensor(value).device.type == "cuda" for value in state)


def test_a_gpu_checkpoint_loads_on_a_cpu_only_machine_and_back(tmp_path):
    on_gpu = model().cuda()
    optimizer = optim.Adam(on_gpu.parameters(), lr=0.01)
    train(on_gpu, optimizer, "cuda")
    path = tmp_path / "run.ckpt"
    tn.save({"model": on_gpu.state_dict(), "optimizer": optimizer.state_dict(), "tensor": on_gpu[0].weight}, path)
    # a process that sees no GPU (and never imports CuPy) loads it into a CPU model
    loader = (
        "import sys, numpy as np, tinygrad_norm as tn\n"
        "from tests.devices.test_cuda_models import model\n"
        "saved = tn.load(sys.argv[1]); net = model(); net.load_state_dict(saved['model'])\n"
        "assert not tn.cuda.is_available() and saved['tensor'].device == 'cpu'\n"
        "np.save(sys.argv[2], net[0].weight.numpy())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", loader, str(path), str(tmp_path / "weight.npy")],
        env=dict(os.environ, CUDA_VISIBLE_DEVICES=""), cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(tmp_path / "weight.npy"), on_gpu[0].weight.cpu().numpy())
    # and back onto a GPU: model and optimizer state land beside the parameters
    saved = tn.load(path)
    again = model(seed=1).cuda()
    again.load_state_dict(saved["model"])
    restored = optim.Adam(again.parameters(), lr=0.01)
    restored.load_state_dict(saved["optimizer"])
    for ours, theirs in zip(again.parameters(), on_gpu.parameters(), strict=True):
        np.testing.assert_array_equal(ours.cpu().numpy(), theirs.cpu().numpy())
    assert all(restored.state[p]["exp_avg"].device.id == cuda.current_device() for p in again.parameters())
