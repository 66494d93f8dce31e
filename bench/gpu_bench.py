"""Times the norms and dropout on CUDA tensors against torch.nn.functional on the same GPU, with this GPU's copy
bandwidth as the ceiling.

    python bench/gpu_bench.py --out DIR      # writes DIR/copy_bandwidth.txt and DIR/gpu_table.md, and prints them

Ours is the whole framework path a training step takes: CUDA tensors (CuPy arrays), the tape, and the numba.cuda
kernels working on CuPy's arrays, stream and memory pool; forward+backward is `y = F.op(x, ...)` then
`y.backward(dy)` (gradients of x, weight and bias), and likewise for torch. Shapes: those of the CPU benchmark
(bench/roofline.py), then large ones. float32 throughout.

Timing: CUDA events recorded around each call on the stream each library uses, after --warmup calls (which
compile the kernels); the median of --repeats calls. Gradients are dropped before each call, outside the events.

Checks, before anything is timed: our y and dx against torch's (a mismatch beyond 1e-3 of the largest value marks
the row and makes the exit status 1); dropout, whose random streams differ from torch's, against its own rule
(every y is 0 or x / (1 - p) rounded once, dx uses the same mask, the kept fraction is within 5 sigma of 1 - p).

Byte model, as in bench/roofline.py: a norm's forward reads x and writes y (2 arrays), its backward reads x and
dy and writes dx (3 arrays); dropout moves 2 + 2. GB/s = bytes / median time, "% copy" compares it with a
device-to-device copy of 1 GiB (read + write counted, as for the ops). The targets (README): every norm's
forward+backward at the large shapes at least 80 % of copy bandwidth and no slower than torch; dropout at least
torch's speed.
"""

import argparse
import datetime
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

EPS = 1e-5
P = 0.1  # dropout probability
COPY_BYTES = 2**30


@dataclass(frozen=True)
class Case:
    name: str
    shape: tuple
    large: bool
    call: Callable  # (functional, x, weight, bias) -> y; the same code for our F and torch's
    affine: tuple = (True, True)  # weight, bias
    dropout: bool = False

    @property
    def channels(self):
        """The length of weight and bias: the last dimension (LayerNorm, RMSNorm) or C."""
        return self.shape[-1] if self.name in ("LayerNorm", "RMSNorm") else self.shape[1]

    def bytes_moved(self, backward: bool) -> int:
        arrays = (2, 4) if self.dropout else (2, 5)
        return arrays[backward] * math.prod(self.shape) * 4


def batch_norm(F, x, w, b):
    return F.batch_norm(x, None, None, w, b, training=True, eps=EPS)


def layer_norm(F, x, w, b):
    return F.layer_norm(x, x.shape[-1:], w, b, EPS)


def rms_norm(F, x, w, b):
    return F.rms_norm(x, x.shape[-1:], w, EPS)


def group_norm(groups):
    return lambda F, x, w, b: F.group_norm(x, groups, w, b, EPS)


def instance_norm(F, x, w, b):
    return F.instance_norm(x, weight=w, bias=b, eps=EPS)


def dropout(F, x, w, b):
    return F.dropout(x, P, training=True)


CASES = [
    Case("BatchNorm2d", (32, 64, 32, 32), False, batch_norm),
    Case("BatchNorm1d", (256, 256), False, batch_norm),
    Case("GroupNorm(8)", (32, 64, 32, 32), False, group_norm(8)),
    Case("InstanceNorm2d", (32, 64, 32, 32), False, instance_norm),
    Case("LayerNorm", (4096, 1024), False, layer_norm),
    Case("LayerNorm", (64, 768), False, layer_norm),
    Case("RMSNorm", (4096, 1024), False, rms_norm, (True, False)),
    Case(f"Dropout({P})", (4096, 1024), False, dropout, (False, False), True),
    Case("LayerNorm", (32768, 4096), True, layer_norm),
    Case("RMSNorm", (32768, 4096), True, rms_norm, (True, False)),
    Case("BatchNorm2d", (256, 64, 56, 56), True, batch_norm),
    Case("GroupNorm(32)", (64, 256, 56, 56), True, group_norm(32)),
    Case("InstanceNorm2d", (64, 256, 56, 56), True, instance_norm),
    Case(f"Dropout({P})", (32768, 4096), True, dropout, (False, False), True),
]


class Side:
    """One library's tensors for a case, and how to time a call on its stream."""

    def __init__(self, library, make, functional, events, elapsed_ms, synchronize, host):
        self.library, self.make, self.functional = library, make, functional
        self.events, self.elapsed_ms, self.synchronize, self.host = events, elapsed_ms, synchronize, host

    def setup(self, case, x, dy, weight, bias):
        self.x = self.make(x, True)
        self.dy = self.make(dy, False)
        self.params = [self.make(p, True) if on else None for p, on in zip((weight, bias), case.affine)]
        self.case = case

    def reset(self):
        for t in (self.x, *self.params):
            if t is not None:
                t.grad = None

    def forward(self):
        return self.case.call(self.functional, self.x, *self.params)

    def forward_backward(self):
        self.forward().backward(self.dy)

    def median_ms(self, call, warmup, repeats):
        for _ in range(warmup):
            self.reset()
            call()
        self.synchronize()
        times = []
        for _ in range(repeats):
            self.reset()
            start, end = self.events()
            start.record()
            call()
            end.record()
            end.synchronize()
            times.append(self.elapsed_ms(start, end))
        return statistics.median(times)


def ours(cupy):
    import tinygrad_norm as tn

    def events():
        return cupy.cuda.Event(), cupy.cuda.Event()

    return Side(
        "tinygrad_norm", lambda array, grad: tn.from_dlpack(array).requires_grad_(grad), tn.nn.functional, events,
        cupy.cuda.get_elapsed_time, cupy.cuda.Device().synchronize, lambda t: cupy.asnumpy(t.data),
    )


def theirs(torch):
    def events():
        return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

    return Side(
        "torch", lambda array, grad: torch.from_dlpack(array).requires_grad_(grad), torch.nn.functional, events,
        lambda start, end: start.elapsed_time(end), torch.cuda.synchronize, lambda t: t.detach().cpu().numpy(),
    )


def copy_bandwidth(cupy, repeats):
    """GB/s of a 1 GiB device-to-device copy, read + write counted; and the median ms."""
    source, target = cupy.ones(COPY_BYTES // 4, np.float32), cupy.empty(COPY_BYTES // 4, np.float32)
    times = []
    for i in range(repeats + 2):
        start, end = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        target.data.copy_from_device_async(source.data, COPY_BYTES)
        end.record()
        end.synchronize()
        if i >= 2:
            times.append(cupy.cuda.get_elapsed_time(start, end))
    ms = statistics.median(times)
    return 2 * COPY_BYTES / ms / 1e6, ms


def check(case, ours_side, theirs_side):
    """'ok' or what is wrong, after one forward+backward on each side."""
    ours_side.reset()
    y = ours_side.forward()
    y.backward(ours_side.dy)
    y, dx = ours_side.host(y), ours_side.host(ours_side.x.grad)
    if case.dropout:
        return check_dropout(ours_side.host(ours_side.x), ours_side.host(ours_side.dy), y, dx)
    theirs_side.reset()
    y_torch = theirs_side.forward()
    y_torch.backward(theirs_side.dy)
    problems = []
    for name, a, b in (("y", y, theirs_side.host(y_torch)), ("dx", dx, theirs_side.host(theirs_side.x.grad))):
        error = float(np.max(np.abs(a - b)))
        if not error <= 1e-3 * max(1.0, float(np.max(np.abs(b)))):
            problems.append(f"MISMATCH {name} {error:.1e}")
    return ", ".join(problems) or "ok"


def check_dropout(x, dy, y, dx):
    scale = 1.0 / (1.0 - P)
    kept = y != 0
    rule = np.where(kept, (x.astype(np.float64) * scale).astype(np.float32), 0)
    same_mask = np.where(kept, (dy.astype(np.float64) * scale).astype(np.float32), 0)
    fraction, sigma = kept.mean(), math.sqrt(P * (1 - P) / kept.size)
    if not np.array_equal(y, rule):
        return "MISMATCH y is not x / (1 - p) or 0"
    if not np.array_equal(dx, same_mask):
        return "MISMATCH dx has another mask"
    if abs(fraction - (1 - P)) > 5 * sigma:
        return f"MISMATCH kept {fraction:.4f}"
    return "ok"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the tables")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per measurement (median)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed calls first (the first compiles)")
    args = parser.parse_args()

    import tinygrad_norm as tn

    if not tn.cuda.is_available():
        raise SystemExit(f"CUDA tensors are not available here: {tn.cuda.unavailable_reason()}")
    import torch

    if not torch.cuda.is_available():
        raise SystemExit("this benchmark compares with torch on the GPU: install a CUDA build of torch")
    cupy = tn.cuda.cupy()
    gigabytes_per_s, copy_ms = copy_bandwidth(cupy, args.repeats)
    name = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    header = (f"{name}, {datetime.date.today()}; tinygrad_norm {tn.__version__}, CuPy {cupy.__version__}, "
              f"torch {torch.__version__}; float32, median of {args.repeats} calls")
    copy_line = f"copy bandwidth: {gigabytes_per_s:.0f} GB/s (1 GiB device to device in {copy_ms:.3f} ms, read + write)"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "copy_bandwidth.txt").write_text(f"{header}\n{copy_line}\n")
    print(header, copy_line, "", sep="\n", flush=True)

    rows = ["| op | shape | ours fwd | ours fwd+bwd | GB/s | % copy | torch fwd | torch fwd+bwd | vs torch fwd "
            "| vs torch fwd+bwd | check |", "| --- " * 11 + "|"]
    targets, failed = [], False
    rng = cupy.random.default_rng(0)
    sides = ours(cupy), theirs(torch)
    for case in CASES:
        x, dy = (rng.standard_normal(case.shape, dtype=np.float32) for _ in range(2))
        weight = rng.standard_normal(case.channels, dtype=np.float32) * 0.5 + 1
        bias = rng.standard_normal(case.channels, dtype=np.float32) * 0.1
        for side in sides:
            side.setup(case, x, dy, weight, bias)
        verdict = check(case, *sides)
        failed |= verdict != "ok"
        (ours_fwd, ours_both), (torch_fwd, torch_both) = (
            (side.median_ms(side.forward, args.warmup, args.repeats),
             side.median_ms(side.forward_backward, args.warmup, args.repeats)) for side in sides
        )
        bandwidth = case.bytes_moved(True) / ours_both / 1e6
        shape = "×".join(map(str, case.shape))
        rows.append(
            f"| {case.name} | {shape} | {ours_fwd:.3f} | {ours_both:.3f} | {bandwidth:.0f} | "
            f"{100 * bandwidth / gigabytes_per_s:.0f}% | {torch_fwd:.3f} | {torch_both:.3f} | "
            f"{torch_fwd / ours_fwd:.2f}x | {torch_both / ours_both:.2f}x | {verdict} |"
        )
        print(rows[-1], flush=True)
        if case.dropout:
            targets.append((f"{case.name} {shape}: at least torch's speed", torch_both >= ours_both))
        elif case.large:
            met = bandwidth >= 0.8 * gigabytes_per_s and torch_both >= ours_both
            targets.append((f"{case.name} {shape}: >= 80% of copy bandwidth and no slower than torch", met))
        for side in sides:
            del side.x, side.dy, side.params
        cupy.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
    table = "\n".join([header, copy_line, "", "times in ms", "", *rows, "", "targets:",
                       *(f"  {'met    ' if met else 'NOT MET'}  {what}" for what, met in targets)]) + "\n"
    (args.out / "gpu_table.md").write_text(table)
    print("", "targets:", *(f"  {'met    ' if met else 'NOT MET'}  {what}" for what, met in targets), sep="\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
