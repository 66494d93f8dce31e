"""CUDA tensors as arrays: copying and sharing CuPy arrays, creation on a device, moves between devices, the
device-mixing error, and the norm and dropout kernels working on CuPy's arrays, stream and memory pool. Every test
needs a GPU (bench/gpu_check.sh runs them there)."""

from __future__ import annotations

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu as cpu_kernels

import tinygrad_norm as tn
from tinygrad_norm import cuda, nn

from .gpu import requires_cuda

pytestmark = requires_cuda


@pytest.fixture
def cupy():
    return cuda.cupy()


def test_copy_semantics_on_the_gpu(cupy):
    """As for numpy: the constructor copies (on the array's device), as_tensor and from_dlpack share."""
    array = cupy.arange(6, dtype=cupy.float32).reshape(2, 3)
    copies = [tn.Tensor(array), tn.tensor(array), tn.as_tensor(array, dtype="float64"), tn.Tensor(array, device="cpu")]
    shared = [tn.as_tensor(array), tn.from_dlpack(array), tn.as_tensor(array, device=f"cuda:{array.device.id}")]
    array[0, 0] = 100
    assert [t[0, 0].item() for t in copies] == [0, 0, 0, 0]
    assert [t[0, 0].item() for t in shared] == [100, 100, 100]
    assert [t.device.type for t in copies] == ["cuda", "cuda", "cuda", "cpu"]
    again = tn.Tensor(shared[0])  # a tensor's array is copied too, on its device
    array[0, 1] = -1
    assert again[0, 1].item() == 1 and again.device == shared[0].device
    view = cupy.from_dlpack(shared[1])  # ours exported through DLPack: the same memory
    view[1, 2] = 7
    assert array[1, 2].item() == 7


def test_creation_functions_place_their_result(cupy):
    here = tn.device("cuda", cuda.current_device())
    made = [
        tn.zeros(2, 3, device="cuda"), tn.ones(2, device="cuda"), tn.empty(3, device="cuda"),
        tn.full((2, 2), 1.5, device="cuda"), tn.randn(4, device="cuda"), tn.rand(4, device="cuda"),
        tn.arange(6, device="cuda"), tn.tensor([1.0, 2.0], device="cuda"),
    ]
    assert all(t.device == here and t.xp is cupy for t in made)
    tn.manual_seed(1)
    on_gpu = tn.randn(5, device="cuda")
    tn.manual_seed(1)
    assert np.array_equal(on_gpu.cpu().numpy(), tn.randn(5).numpy())  # one generator, in host memory
    like = [tn.zeros_like(on_gpu), tn.ones_like(on_gpu), tn.full_like(on_gpu, 2), tn.randn_like(on_gpu)]
    assert all(t.device == here for t in like)
    assert tn.zeros_like(on_gpu, device="cpu").device == "cpu"
    with pytest.raises(RuntimeError, match="is not here"):
        tn.zeros(1, device=f"cuda:{cuda.device_count()}")


def test_moves_between_devices_are_differentiable():
    x = tn.randn(3, 4, dtype="float64", requires_grad=True)
    y = x.cuda()
    assert y.device.type == "cuda" and y.grad_fn is not None
    assert y.cuda() is y and y.to(y.device) is y and y.to("cuda") is y
    (y * y).sum().cpu().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * x.numpy())
    assert x.grad.device == "cpu"
    assert x.to(y.detach()).device == y.device and x.to("cuda", "float32").dtype == np.float32
    assert tn.gradcheck(lambda a: (a.cuda() * a.cuda()).exp().cpu(), x)


def test_numpy_refuses_a_cuda_tensor():
    t = tn.ones(2, device="cuda")
    with pytest.raises(TypeError, match=f"can't convert {t.device} device type tensor to numpy"):
        t.numpy()
    assert t.cpu().numpy().tolist() == t.tolist() == [1.0, 1.0] and t.sum().item() == 2.0


def test_a_cuda_tensor_prints_its_device():
    t = tn.ones(2, device="cuda")
    assert f"device='{t.device}'" in repr(t) and "device" not in repr(t.cpu())


def test_mixing_devices_raises_naming_both():
    gpu, host = tn.ones(2, 3, device="cuda"), tn.ones(2, 3)
    both = f"{gpu.device} and cpu"
    for mixed in (lambda: gpu + host, lambda: gpu @ host.T, lambda: gpu.add_(host),
                  lambda: nn.functional.layer_norm(gpu, (3,), tn.ones(3)),
                  lambda: nn.functional.cross_entropy(gpu, tn.tensor([0, 1]))):
        with pytest.raises(RuntimeError, match=f"found at least two devices, {both}!"):
            mixed()
    with pytest.raises(RuntimeError, match=f"found at least two devices, cpu and {gpu.device}!"):
        host * gpu
    # what torch allows: a 0-d CPU tensor as a scalar, and copy_ from any device
    assert (gpu * tn.tensor(2.0) + tn.tensor(1.0) * gpu).device == gpu.device
    assert gpu.clone().copy_(host * 3).sum().item() == 18


def test_norms_and_dropout_run_on_cupy_arrays_stream_and_pool(cupy, monkeypatch):
    """No numba allocation or host copy: the kernels take CuPy's arrays as they are, queue on CuPy's current
    stream and take their scratch from CuPy's pool."""
    from numba import cuda as numba_cuda

    def refuse(*args, **kwargs):
        raise AssertionError("numba allocated or copied an array")

    streams = []
    external_stream = numba_cuda.external_stream
    monkeypatch.setattr(numba_cuda, "to_device", refuse)
    monkeypatch.setattr(numba_cuda, "device_array", refuse)
    monkeypatch.setattr(numba_cuda, "external_stream", lambda ptr: streams.append(ptr) or external_stream(ptr))
    layers = [nn.BatchNorm2d(8), nn.LayerNorm((4, 4)), nn.GroupNorm(2, 8), nn.InstanceNorm2d(8, affine=True),
              nn.RMSNorm(4), nn.Dropout(0.3), nn.Dropout2d(0.5)]
    with cupy.cuda.Stream(non_blocking=True) as stream:
        x = tn.randn(4, 8, 4, 4, device="cuda", requires_grad=True)
        for layer in layers:
            layer.to("cuda")(x).sum().backward()
        layers[0].eval()(x).sum().backward()  # BatchNorm with running statistics: channel_norm_apply
    stream.synchronize()
    assert streams and set(streams) == {stream.ptr}
    assert np.isfinite(x.grad.cpu().numpy()).all()


@pytest.mark.parametrize("p", [0.0, 0.1, 1 / 3, 0.5, 1 - 2**-53, 1.0])
@pytest.mark.parametrize(("seed", "offset"), [(0, 0), (1234, 10**6), (2**64 - 1, 2**64 - 3)])
def test_gpu_dropout_masks_equal_the_cpu_ones_bit_for_bit(cupy, p, seed, offset):
    from tinygrad_norm.kernels import cuda as cuda_kernels

    ours, theirs = cupy.empty(4099, np.uint8), np.empty(4099, np.uint8)
    cuda_kernels.dropout_mask(p, seed, offset, ours)
    cpu_kernels.dropout_mask(p, seed, offset, theirs)
    np.testing.assert_array_equal(cupy.asnumpy(ours), theirs)
