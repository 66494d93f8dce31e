"""One optimizer step on the parameters of Linear(1024, 1024) + Linear(1024, 1024) (2.1 M float32), ours against
torch.optim.

    python bench/bench_optim.py

For Adam and SGD with momentum 0.9: the median of REPEATS calls of `optimizer.step()` after WARMUP calls (the
gradients stay set; only the update is timed), ours on the "numba" and "numpy" backends (alternating, so a busy
spell of a shared machine falls on both), then torch on 2 threads in a block of its own after a pause (torch and
Numba each bring an OpenMP runtime). GB/s counts the least memory traffic of the update: Adam reads param, grad,
exp_avg, exp_avg_sq and writes three of them back (28 bytes per float32 element), SGD with momentum reads param,
grad, momentum_buffer and writes two (20 bytes).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import numpy as np

from tinygrad_norm import Tensor, optim, use_backend

WARMUP, REPEATS, PAUSE_S = 3, 21, 2.0
SHAPES = [(1024, 1024), (1024,), (1024, 1024), (1024,)]  # weight, bias of each Linear(1024, 1024)
BYTES_PER_ELEMENT = {"Adam": 28, "SGD": 20}
OPTIONS = {"Adam": dict(lr=1e-3), "SGD": dict(lr=1e-3, momentum=0.9)}


def median_ms(*runs: Callable[[], object]) -> list[float]:
    """Median of REPEATS timings of each run, in ms; the runs alternate."""
    for _ in range(WARMUP):
        for run in runs:
            run()
    times: list[list[float]] = [[] for _ in runs]
    for _ in range(REPEATS):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            times[i].append(time.perf_counter() - start)
    return [1e3 * statistics.median(t) for t in times]


def arrays(seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape, dtype=np.float32) * 0.02 for shape in SHAPES]


def ours(name: str, backend: str) -> Callable[[], object]:
    params = [Tensor(a, requires_grad=True) for a in arrays(0)]
    for p, g in zip(params, arrays(1)):
        p.grad = Tensor(g)
    opt = getattr(optim, name)(params, **OPTIONS[name])

    def step() -> None:
        with use_backend(backend):
            opt.step()

    return step


def main() -> None:
    elements = sum(int(np.prod(shape)) for shape in SHAPES)
    results = {name: median_ms(ours(name, "numba"), ours(name, "numpy")) for name in OPTIONS}
    time.sleep(PAUSE_S)
    import torch  # the torch block, after a pause

    torch.set_num_threads(2)
    for name in OPTIONS:
        params = [torch.tensor(a, requires_grad=True) for a in arrays(0)]
        for p, g in zip(params, arrays(1)):
            p.grad = torch.tensor(g)
        results[name] += median_ms(getattr(torch.optim, name)(params, **OPTIONS[name]).step)

    print(f"{elements / 1e6:.2f} M float32 parameters in {len(SHAPES)} tensors; median ms per step; "
          f"torch {torch.__version__} on {torch.get_num_threads()} threads")
    print(f"{'optimizer':<14} {'numba':>8} {'GB/s':>6} {'numpy':>8} {'torch':>8} {'torch/numba':>12} "
          f"{'numpy/numba':>12}")
    for name, (numba_ms, numpy_ms, torch_ms) in results.items():
        gbs = BYTES_PER_ELEMENT[name] * elements / (numba_ms * 1e-3) / 1e9
        label = "SGD momentum" if name == "SGD" else name
        print(f"{label:<14} {numba_ms:8.2f} {gbs:6.1f} {numpy_ms:8.2f} {torch_ms:8.2f} {torch_ms / numba_ms:11.2f}x "
              f"{numpy_ms / numba_ms:11.2f}x")


if __name__ == "__main__":
    main()
