"""Times the numba.cuda kernels on a CUDA GPU, beside torch.nn.functional on the same GPU when torch has CUDA.

    python bench/gpu_bench.py --out DIR      # writes DIR/gpu_table.txt and prints it

For each layer: the median time of one forward call and of one forward + backward, and the bandwidth that
time reaches against the fewest bytes the call must move (float32; weights and statistics neglected):

    norm forward              read x, write y                 2 * numel * 4 bytes
    norm forward+backward     and read dy, x, write dx        5 * numel * 4 bytes
    dropout forward           read x, write y                 2 * numel * 4 bytes
    dropout forward+backward  and read dy, write dx           4 * numel * 4 bytes

Every call is timed on its own between two device synchronizations, after a warm-up call that compiles the
kernels, so the times include the Python-side launch overhead a caller pays. Before timing, our forward output is
compared with torch's (the last column; n/a for dropout, whose random streams differ).
"""

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EPS = 1e-5
GROUPS = 8  # GroupNorm
P = 0.1  # dropout probability
SEED = 1234


@dataclass(frozen=True)
class Layer:
    name: str
    shape: tuple  # the input as torch takes it
    family: str  # "row", "channel" or "dropout"
    torch_forward: Callable  # (torch.nn.functional, x, weight, bias) -> y
    groups: int = 0  # a row norm over channel groups (GroupNorm, InstanceNorm); 0: over the last dimension
    center: bool = True  # False: RMSNorm

    def kernel_shape(self):
        """x as the kernels take it: (B, C, S) for a norm, (R, S) for dropout."""
        numel = math.prod(self.shape)
        if self.family == "dropout":
            return (numel, 1)
        if self.family == "row" and not self.groups:
            return (numel // self.shape[-1], self.shape[-1], 1)
        return (self.shape[0], self.shape[1], numel // (self.shape[0] * self.shape[1]))

    def bytes_moved(self, backward):
        passes = (2, 4) if self.family == "dropout" else (2, 5)
        return passes[backward] * math.prod(self.shape) * 4


def batch_norm(functional, x, weight, bias):
    return functional.batch_norm(x, None, None, weight, bias, training=True, eps=EPS)


LAYERS = [
    Layer("BatchNorm2d", (32, 64, 32, 32), "channel", batch_norm),
    Layer("BatchNorm1d", (256, 256), "channel", batch_norm),
    *(Layer("LayerNorm", shape, "row",
            lambda functional, x, w, b: functional.layer_norm(x, x.shape[-1:], w, b, EPS))
      for shape in ((4096, 1024), (64, 768))),
    *(Layer("RMSNorm", shape, "row",
            lambda functional, x, w, b: functional.rms_norm(x, x.shape[-1:], w, EPS), center=False)
      for shape in ((4096, 1024), (64, 768))),
    Layer(f"GroupNorm({GROUPS})", (32, 64, 32, 32), "row",
          lambda functional, x, w, b: functional.group_norm(x, GROUPS, w, b, EPS), groups=GROUPS),
    Layer("InstanceNorm2d", (32, 64, 32, 32), "row",
          lambda functional, x, w, b: functional.instance_norm(x, weight=w, bias=b, eps=EPS), groups=64),
    Layer(f"Dropout({P})", (4096, 1024), "dropout",
          lambda functional, x, w, b: functional.dropout(x, P, training=True)),
]


@dataclass
class Run:
    forward: Callable[[], None]
    forward_backward: Callable[[], None]
    output: Callable[[], np.ndarray]  # y of the last forward, on the host, in the layer's shape
    synchronize: Callable[[], None]


def ours(layer, kernels, cuda, x_host, dy_host):
    """Our kernels on device arrays, outputs allocated once."""
    shape = layer.kernel_shape()
    x, dy = cuda.to_device(x_host.reshape(shape)), cuda.to_device(dy_host.reshape(shape))
    y, dx = cuda.device_array(shape, np.float32), cuda.device_array(shape, np.float32)
    if layer.family == "dropout":
        forward, backward = dropout(kernels, x, dy, y, dx)
    else:
        forward, backward = norm(layer, kernels, cuda, x, dy, y, dx)

    def forward_backward():
        forward()
        backward()

    return Run(forward, forward_backward, lambda: y.copy_to_host().reshape(layer.shape), cuda.synchronize)


def dropout(kernels, x, dy, y, dx):
    def forward():
        kernels.dropout_forward(x, P, SEED, 0, y)

    def backward():
        kernels.dropout_backward(dy, P, SEED, 0, dx)

    return forward, backward


def norm(layer, kernels, cuda, x, dy, y, dx):
    """(forward, backward) of a row or channel norm, with weight and bias (RMSNorm: weight only)."""
    B, C, _ = x.shape
    weight, dweight = cuda.to_device(np.ones(C, np.float32)), cuda.device_array(C, np.float32)
    bias = dbias = None  # RMSNorm has a weight only
    if layer.center:
        bias, dbias = cuda.to_device(np.zeros(C, np.float32)), cuda.device_array(C, np.float32)
    if layer.family == "channel":
        mean, rstd, var_unbiased = (cuda.device_array(C, np.float64) for _ in range(3))

        def forward():
            kernels.channel_norm_forward(x, weight, bias, EPS, y, mean, rstd, var_unbiased)

        def backward():
            kernels.channel_norm_backward(dy, x, mean, rstd, weight, True, dx, dweight, dbias)

        return forward, backward

    groups = layer.groups or 1
    mean, rstd = (cuda.device_array((B, groups), np.float64) for _ in range(2))

    def forward():
        kernels.row_norm_forward(x, weight, bias, groups, EPS, layer.center, y, mean, rstd)

    def backward():
        kernels.row_norm_backward(dy, x, mean, rstd, weight, groups, layer.center, dx, dweight, dbias)

    return forward, backward


def theirs(layer, torch, x_host, dy_host):
    """torch.nn.functional on CUDA tensors; forward+backward takes the gradients of x, weight and bias."""
    x = torch.tensor(x_host, device="cuda", requires_grad=True)
    dy = torch.tensor(dy_host, device="cuda")
    C = layer.kernel_shape()[1]
    weight = torch.ones(C, device="cuda", requires_grad=True)
    bias = torch.zeros(C, device="cuda", requires_grad=True)
    last = []

    def forward():
        last[:] = [layer.torch_forward(torch.nn.functional, x, weight, bias)]

    def forward_backward():
        x.grad = weight.grad = bias.grad = None
        layer.torch_forward(torch.nn.functional, x, weight, bias).backward(dy)

    return Run(forward, forward_backward, lambda: last[0].detach().cpu().numpy(), torch.cuda.synchronize)


def median_ms(call, synchronize, repeats):
    call()  # warm-up: compiles on first use
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        synchronize()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def cuda_torch():
    """torch, if it is installed with CUDA; else None."""
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for gpu_table.txt")
    parser.add_argument("--repeats", type=int, default=50, help="timed calls per measurement (median)")
    args = parser.parse_args()

    from numba import cuda

    if not cuda.is_available():
        raise SystemExit("no CUDA GPU: this benchmark needs one")
    from tinygrad_norm.kernels import cuda as kernels

    torch = cuda_torch()
    device = cuda.get_current_device().name
    header = f"{'layer':<16}{'input':<18}" + "".join(
        f"{label:>18}" for label in ("ours fwd", "ours fwd+bwd", "torch fwd", "torch fwd+bwd", "max |y - torch|")
    )
    units = " " * 34 + f"{'ms':>10} {'GB/s':>7}" * 4
    lines = [f"{device.decode() if isinstance(device, bytes) else device}, float32, median of {args.repeats} calls",
             "", header, units, "-" * len(header)]
    rng = np.random.default_rng(0)
    for layer in LAYERS:
        x_host, dy_host = rng.standard_normal((2, *layer.shape), dtype=np.float32)
        runs = [ours(layer, kernels, cuda, x_host, dy_host)]
        if torch is not None:
            runs.append(theirs(layer, torch, x_host, dy_host))
        error = "n/a"
        if torch is not None and layer.family != "dropout":
            for run in runs:
                run.forward()
            ours_y, torch_y = (run.output() for run in runs)
            error = f"{np.max(np.abs(ours_y - torch_y)):.2e}"
        cells = []
        for run in runs:
            for backward, call in enumerate((run.forward, run.forward_backward)):
                ms = median_ms(call, run.synchronize, args.repeats)
                cells.append(f"{ms:10.3f} {layer.bytes_moved(backward) / ms / 1e6:7.1f}")
        cells += ["n/a"] * (4 - len(cells)) + [error]
        lines.append(f"{layer.name:<16}{'x'.join(map(str, layer.shape)):<18}" + "".join(f"{c:>18}" for c in cells))
    if torch is None:
        lines += ["", "torch with CUDA is not installed here: its columns are n/a"]
    table = "\n".join(lines) + "\n"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_table.txt").write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
