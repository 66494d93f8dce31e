"""The matrix products of the training-step workloads: tinygrad_norm's `matmul` kernel (blocks of BLAS calls on
Numba's threads) against numpy's matmul with BLAS on one thread (the thread policy) and on every core.

    python bench/bench_matmul.py

float32, medians in ms of 50 calls after 5 warm-up calls, each product into a preallocated output; the three run
one after the other for each product.
"""

from __future__ import annotations

import os
import statistics
import time

import numpy as np
import threadpoolctl
from tinygrad_norm.kernels import cpu

import tinygrad_norm  # noqa: F401  (the thread policy: BLAS on one thread)

# (what, M, K, N, a transposed, b transposed)
PRODUCTS = [
    ("W1 Linear 784->512 forward, x Wᵀ", 128, 784, 512, False, True),
    ("W1 its weight gradient, gᵀ x", 512, 128, 784, True, False),
    ("W2 Linear 784->512 weight gradient, batch 16", 512, 16, 784, True, False),
    ("W4 Linear 1024->1024 forward", 64, 1024, 1024, False, True),
    ("W4 its weight gradient", 1024, 64, 1024, True, False),
    ("W3 conv 16->32 forward, W X", 32, 144, 12544, False, False),
    ("W3 its input gradient, Wᵀ dY", 144, 32, 12544, True, False),
    ("W3 its weight gradient, dY Xᵀ", 32, 12544, 144, False, True),
    ("W3 conv 1->16 forward", 16, 9, 50176, False, False),
    ("W3 its weight gradient", 16, 50176, 9, False, True),
    ("W6 conv 1->32 forward", 32, 9, 4096, False, False),
]
CALLS, WARMUP = 50, 5


def operand(rng, rows, cols, transposed):
    return rng.standard_normal((cols, rows), dtype=np.float32).T if transposed else rng.standard_normal(
        (rows, cols), dtype=np.float32)


def median_ms(function, *args) -> float:
    for _ in range(WARMUP):
        function(*args)
    times = []
    for _ in range(CALLS):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    cores = os.cpu_count()
    print(f"float32, median ms of {CALLS} calls, {cores} cores\n")
    print(f"| product (M×K by K×N) | numpy, BLAS on 1 thread | numpy, BLAS on {cores} | tinygrad_norm matmul | "
          "1 thread / ours |")
    print("| --- | --- | --- | --- | --- |")
    for what, M, K, N, transpose_a, transpose_b in PRODUCTS:
        a, b = operand(rng, M, K, transpose_a), operand(rng, K, N, transpose_b)
        out = np.empty((M, N), np.float32)
        one = median_ms(np.matmul, a, b, out)
        with threadpoolctl.threadpool_limits(cores, user_api="blas"):
            every = median_ms(np.matmul, a, b, out)
        ours = median_ms(cpu.matmul, a, b, out)
        print(f"| {what} ({M}×{K} by {K}×{N}) | {one:.3f} | {every:.3f} | {ours:.3f} | {one / ours:.2f} |")


if __name__ == "__main__":
    main()
