"""pytest-benchmark of every kernel family: forward and forward+backward, float32, per op, shape and backend.

    python -m pytest bench/bench_kernels.py --benchmark-only --benchmark-group-by=param:op

The ops, shapes and calls are those of roofline.py (which adds bandwidth and compile times); torch.nn.functional
runs with 2 threads where it is installed.
"""

import pytest
from roofline import OPS, THREADS, kernel_calls, make_data, numpy_rng_dropout_calls, torch_calls
from tinygrad_norm.kernels import cpu, reference

BACKENDS = ["numba", "numpy", "numpy-rng", "torch"]


def _calls(op, backend):
    data = make_data(op)
    if backend == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(THREADS)
        return torch_calls(torch, op, *data)
    if backend == "numpy-rng":
        if op.kind != "dropout":
            pytest.skip("the numpy rng baseline is for dropout only")
        return numpy_rng_dropout_calls(*data[:2])
    return kernel_calls(cpu if backend == "numba" else reference, op, *data)


@pytest.mark.parametrize("direction", ["forward", "forward+backward"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OPS, ids=lambda op: f"{op.name}-{'x'.join(map(str, op.shape))}")
def test_kernel(benchmark, op, backend, direction):
    forward, forward_backward = _calls(op, backend)
    benchmark(forward if direction == "forward" else forward_backward)
