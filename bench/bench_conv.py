"""Convolution and pooling kernels: numba (cpu_conv, cpu_pool) against the numpy reference (reference_conv) and torch.

    python bench/bench_conv.py [--threads N]

For each op and shape (float32) it prints the forward and the forward+backward medians in ms of the numba and numpy
backends and of torch.nn.functional, and the ratios numpy / numba and torch / numba of the
forward+backward times (above 1: numba is faster). The backward computes every gradient (dx, dweight and dbias for a
convolution), on every backend. The shapes are those of a small CNN (1 -> 16 and 16 -> 32 channels at 28x28 and
14x14, batch 64, each followed by a 2x2 max pool) and of a wider layer (64 -> 64 channels at 32x32, batch 32).

Numba and torch each bring an OpenMP runtime, so torch is timed in a block of its own after a pause.
``--threads N`` runs Numba, BLAS (``tinygrad_norm.set_num_threads``) and torch on N threads (default 2); with 1, a
busy neighbour process on a 2-core machine barely moves the numbers, while a parallel kernel waits for the
scheduler's time slice whenever one of its threads lands on the busy core.
"""

import argparse
import os
import time
from dataclasses import dataclass

import numba
import numpy as np
from roofline import THREADS, median_ms
from tinygrad_norm.kernels import cpu, reference

import tinygrad_norm

PADDING = ((1, 1), (1, 1))


@dataclass(frozen=True)
class Case:
    op: str  # conv2d, max_pool2d or avg_pool2d
    x_shape: tuple  # (N, C, H, W)
    out_channels: int = 0  # conv2d: O of a 3x3 kernel, padding 1
    kernel: tuple = (2, 2)  # pooling: kernel = stride, no padding

    def labels(self):
        """(op with its kernel, x shape) for the table."""
        c = self.x_shape[1]
        kernel = f"{c}->{self.out_channels} 3x3" if self.op == "conv2d" else "x".join(map(str, self.kernel))
        return f"{self.op} {kernel}", "x".join(map(str, self.x_shape))


CASES = [
    Case("conv2d", (64, 1, 28, 28), 16),
    Case("conv2d", (64, 16, 14, 14), 32),
    Case("conv2d", (32, 64, 32, 32), 64),
    Case("max_pool2d", (64, 16, 28, 28)),
    Case("max_pool2d", (32, 64, 32, 32)),
    Case("avg_pool2d", (64, 16, 28, 28)),
    Case("avg_pool2d", (32, 64, 32, 32)),
]


def make_data(case, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(case.x_shape, dtype=np.float32)
    if case.op != "conv2d":
        return (x,)
    c = case.x_shape[1]
    bound = 1 / np.sqrt(9 * c)
    weight = rng.uniform(-bound, bound, (case.out_channels, c, 3, 3)).astype(np.float32)
    return x, weight, rng.uniform(-bound, bound, case.out_channels).astype(np.float32)


def kernel_calls(module, case, x, weight=None, bias=None):
    """(forward, forward + backward) closures calling a kernel module (cpu or reference)."""
    n, c, h, w = x.shape
    if case.op == "conv2d":
        ones = (1, 1)
        y = np.empty((n, case.out_channels, h, w), np.float32)
        dy = np.random.default_rng(1).standard_normal(y.shape, dtype=np.float32)
        dx, dweight, dbias = np.empty_like(x), np.empty_like(weight), np.empty_like(bias)

        def forward():
            module.conv2d_forward(x, weight, bias, ones, PADDING, ones, 1, y)

        def backward():
            module.conv2d_backward(dy, x, weight, ones, PADDING, ones, 1, dx, dweight, dbias)
    else:
        out = (n, c, h // case.kernel[0], w // case.kernel[1])
        y, dx = np.empty(out, np.float32), np.empty_like(x)
        dy = np.random.default_rng(1).standard_normal(out, dtype=np.float32)
        no_padding = ((0, 0), (0, 0))
        if case.op == "max_pool2d":
            indices = np.empty(out, np.int64)

            def forward():
                module.max_pool2d_forward(x, case.kernel, case.kernel, no_padding, (1, 1), False, y, indices)

            def backward():
                module.max_pool2d_backward(dy, indices, dx)
        else:

            def forward():
                module.avg_pool2d_forward(x, case.kernel, case.kernel, no_padding, False, True, None, y)

            def backward():
                module.avg_pool2d_backward(dy, case.kernel, case.kernel, no_padding, False, True, None, dx)

    return forward, lambda: (forward(), backward())


def torch_calls(torch, case, x, weight=None, bias=None):
    F = torch.nn.functional
    xt = torch.from_numpy(x).requires_grad_()
    if case.op == "conv2d":
        wt, bt = torch.from_numpy(weight).requires_grad_(), torch.from_numpy(bias).requires_grad_()
        inputs = (xt, wt, bt)

        def forward():
            return F.conv2d(xt, wt, bt, padding=1)
    else:
        inputs = (xt,)
        pool = F.max_pool2d if case.op == "max_pool2d" else F.avg_pool2d

        def forward():
            return pool(xt, case.kernel)

    dy = torch.from_numpy(np.random.default_rng(1).standard_normal(forward().shape, dtype=np.float32))
    return forward, lambda: torch.autograd.grad(forward(), inputs, dy)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=THREADS, help="threads of Numba, BLAS and torch")
    threads = parser.parse_args().threads
    tinygrad_norm.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    load = os.getloadavg()[0]
    rows = {}
    for case in CASES:
        data = make_data(case)
        for backend, module in (("numba", cpu), ("numpy", reference)):
            forward, both = kernel_calls(module, case, *data)
            rows[case, backend] = (median_ms(forward), median_ms(both))
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        time.sleep(1.0)  # let Numba's worker threads go idle before torch's OpenMP pool spins up
        torch.set_num_threads(threads)
        for case in CASES:
            forward, both = torch_calls(torch, case, *make_data(case))
            rows[case, "torch"] = (median_ms(forward), median_ms(both))
    print(f"float32, medians in ms, {threads} thread(s); load average {load:.1f} at the start\n")
    header = (f"{'op':<22}{'x shape':<14}{'numba fwd':>10}{'fwd+bwd':>9}{'numpy fwd':>10}{'fwd+bwd':>9}"
              f"{'torch fwd':>10}{'fwd+bwd':>9}{'numpy/numba':>12}{'torch/numba':>12}")
    print(header)
    print("-" * len(header))
    for case in CASES:
        name, shape = case.labels()
        numba_fwd, numba_both = rows[case, "numba"]
        numpy_fwd, numpy_both = rows[case, "numpy"]
        line = f"{name:<22}{shape:<14}{numba_fwd:10.3f}{numba_both:9.3f}{numpy_fwd:10.3f}{numpy_both:9.3f}"
        if (case, "torch") in rows:
            torch_fwd, torch_both = rows[case, "torch"]
            line += f"{torch_fwd:10.3f}{torch_both:9.3f}{numpy_both / numba_both:11.1f}x"
            line += f"{torch_both / numba_both:11.2f}x"
        else:
            line += f"{'-':>10}{'-':>9}{numpy_both / numba_both:11.1f}x{'-':>12}"
        print(line)
    print("ratios: forward+backward time of numpy or torch / that of numba")


if __name__ == "__main__":
    main()
