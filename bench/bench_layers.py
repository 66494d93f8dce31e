"""Forward + backward of each norm and dropout layer module, against its bare kernel calls and against torch.nn.

    python bench/bench_layers.py

For each layer (float32, default arguments, training mode) at the kernels' benchmark shapes, the best of REPEATS
runs after WARMUP runs of:

    kernels  the active backend's forward and backward kernels, called on preallocated arrays: the floor;
    module   x.grad = None; layer(x).backward(dy) through the tape (output allocation, views, running-stat update);
    torch    the same with the torch.nn module, on 2 threads.

The table gives the module's overhead over its kernels (target: under 10%) and the module's time over torch's.
Torch and Numba each bring an OpenMP runtime, so torch is timed in a block of its own after a pause.

Where the module's time goes beyond the kernels: about 25 us of Python per forward + backward (the module call,
the tape, the op's views and checks), which is most of the time at the small shapes, and fresh memory. Each call
allocates new y and dx arrays; glibc hands freed blocks above its trim threshold back to the OS, so at the 16 MiB
shapes every call's arrays page-fault again (about 2 ms for LayerNorm (4096, 1024)). To see the module's own cost
without the page faults, run with the allocator told to keep its memory:

    MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432 python bench/bench_layers.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

import tinygrad_norm.nn as nn
from tinygrad_norm import Tensor, backend

WARMUP, REPEATS, PAUSE_S = 3, 15, 2.0
EPS = 1e-5
Run = Callable[[], None]


def best_ms(*runs: Run) -> list[float]:
    """The best of REPEATS timings of each run, in ms. The runs alternate, so a busy spell of a shared machine
    falls on all of them alike, and the best time is the one least disturbed by other processes."""
    for _ in range(WARMUP):
        for run in runs:
            run()
    best = [float("inf")] * len(runs)
    for _ in range(REPEATS):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return [1e3 * t for t in best]


# ---- the bare kernel calls of each layer, on preallocated arrays -------------------------------------------------


def row_norm_kernels(view: tuple[int, int, int], groups: int, center: bool, affine: bool, bias: bool, eps: float):
    def prepare(k, x: np.ndarray, dy: np.ndarray) -> Run:
        x, dy = x.reshape(view), dy.reshape(view)  # (B, C, S)
        channels = view[1]
        weight = np.ones(channels, np.float32) if affine else None
        shift = np.zeros(channels, np.float32) if affine and bias else None
        y, dx = np.empty_like(x), np.empty_like(x)
        mean, rstd = np.empty((view[0], groups)), np.empty((view[0], groups))
        dweight = None if weight is None else np.empty_like(weight)
        dbias = None if shift is None else np.empty_like(shift)

        def run() -> None:
            k.row_norm_forward(x, weight, shift, groups, eps, center, y, mean, rstd)
            k.row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias)

        return run

    return prepare


def channel_norm_kernels(view: tuple[int, int, int]):
    def prepare(k, x: np.ndarray, dy: np.ndarray) -> Run:
        x, dy = x.reshape(view), dy.reshape(view)  # (N, C, S)
        channels = view[1]
        weight, bias = np.ones(channels, np.float32), np.zeros(channels, np.float32)
        y, dx = np.empty_like(x), np.empty_like(x)
        mean, rstd, var_unbiased = np.empty(channels), np.empty(channels), np.empty(channels)
        dweight, dbias = np.empty_like(weight), np.empty_like(bias)

        def run() -> None:
            k.channel_norm_forward(x, weight, bias, EPS, y, mean, rstd, var_unbiased)
            k.channel_norm_backward(dy, x, mean, rstd, weight, True, dx, dweight, dbias)

        return run

    return prepare


def dropout_kernels(p: float):
    def prepare(k, x: np.ndarray, dy: np.ndarray) -> Run:
        x, dy = x.reshape(-1, 1), dy.reshape(-1, 1)  # (numel, 1): one draw per element
        y, dx = np.empty_like(x), np.empty_like(x)

        def run() -> None:
            k.dropout_forward(x, p, 0, 0, y)
            k.dropout_backward(dy, p, 0, 0, dx)

        return run

    return prepare


# ---- the cases ---------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    shape: tuple[int, ...]
    ours: Callable[[], nn.Module]
    torch_name: str  # the torch.nn class, built with the same arguments
    args: tuple
    kernels: Callable


def _s(shape: tuple[int, ...]) -> int:
    return int(np.prod(shape[2:]))


IMAGE, LAYERNORM_SHAPES = (32, 64, 32, 32), [(4096, 1024), (64, 768)]
CASES = [
    Case(
        "BatchNorm2d",
        IMAGE,
        lambda: nn.BatchNorm2d(64),
        "BatchNorm2d",
        (64,),
        channel_norm_kernels((32, 64, _s(IMAGE))),
    ),
    Case(
        "BatchNorm1d",
        (256, 256),
        lambda: nn.BatchNorm1d(256),
        "BatchNorm1d",
        (256,),
        channel_norm_kernels((256, 256, 1)),
    ),
    *[
        Case(
            "LayerNorm",
            shape,
            lambda n=shape[1]: nn.LayerNorm(n),
            "LayerNorm",
            (shape[1],),
            row_norm_kernels((shape[0], shape[1], 1), 1, True, True, True, EPS),
        )
        for shape in LAYERNORM_SHAPES
    ],
    *[
        Case(
            "RMSNorm",
            shape,
            lambda n=shape[1]: nn.RMSNorm(n),
            "RMSNorm",
            (shape[1],),
            row_norm_kernels((shape[0], shape[1], 1), 1, False, True, False, float(np.finfo(np.float32).eps)),
        )
        for shape in LAYERNORM_SHAPES
    ],
    Case(
        "GroupNorm(8)",
        IMAGE,
        lambda: nn.GroupNorm(8, 64),
        "GroupNorm",
        (8, 64),
        row_norm_kernels((32, 64, _s(IMAGE)), 8, True, True, True, EPS),
    ),
    Case(
        "InstanceNorm2d",
        IMAGE,
        lambda: nn.InstanceNorm2d(64),
        "InstanceNorm2d",
        (64,),
        row_norm_kernels((32, 64, _s(IMAGE)), 64, True, False, False, EPS),
    ),
    Case("Dropout(0.5)", (4096, 1024), lambda: nn.Dropout(0.5), "Dropout", (0.5,), dropout_kernels(0.5)),
]


def module_run(layer, x: np.ndarray, dy: np.ndarray, tensor: Callable) -> Run:
    """x.grad = None; layer(x).backward(dy), with `tensor` making the framework's tensors (ours or torch's)."""
    x, dy = tensor(x), tensor(dy)
    x.requires_grad_()

    def run() -> None:
        x.grad = None
        layer.zero_grad()
        layer(x).backward(dy)

    return run


def main() -> None:
    rng = np.random.default_rng(0)
    data = {
        case.shape: (rng.standard_normal(case.shape, np.float32), rng.standard_normal(case.shape, np.float32))
        for case in CASES
    }
    kernels = backend.kernels()
    ours = {}
    for case in CASES:  # the numba block
        x, dy = data[case.shape]
        ours[case.name, case.shape] = best_ms(
            case.kernels(kernels, x, dy), module_run(case.ours(), x, dy, lambda a: Tensor(a))
        )

    time.sleep(PAUSE_S)
    import torch  # the torch block, after a pause

    torch.set_num_threads(2)
    theirs = {}
    for case in CASES:
        x, dy = data[case.shape]
        (theirs[case.name, case.shape],) = best_ms(
            module_run(getattr(torch.nn, case.torch_name)(*case.args), x, dy, torch.from_numpy)
        )

    print(
        f"backend {backend.get_backend_name()}, float32, forward + backward, best ms of {REPEATS}; "
        f"torch {torch.__version__} on {torch.get_num_threads()} threads"
    )
    header = f"{'layer':<15} {'shape':<17} {'kernels':>8} {'module':>8} {'overhead':>9} {'torch':>8} {'vs torch':>9}"
    print(header)
    print("-" * len(header))
    for case in CASES:
        bare, module = ours[case.name, case.shape]
        torch_ms = theirs[case.name, case.shape]
        print(
            f"{case.name:<15} {str(case.shape):<17} {bare:8.2f} {module:8.2f} {module / bare - 1:9.1%} "
            f"{torch_ms:8.2f} {module / torch_ms:8.2f}x"
        )


if __name__ == "__main__":
    main()
