"""Napkin-math benchmark of the kernels: time, bandwidth, and how close each backend gets to this machine's copy speed.

    python bench/roofline.py

For each op and shape (float32, affine) it prints the forward and the forward+backward medians of the numba (cpu)
and numpy (reference) backends and, when installed, of torch.nn.functional (2 threads), then the bandwidth each
reaches and the speed-up of numba over the others.

Byte model: the least memory traffic any implementation needs, counting only the (B, C, S) arrays and ignoring the
per-row and per-channel vectors. Forward reads x and writes y: 2 arrays. Backward reads x and dy and writes dx:
3 arrays. So forward+backward moves 5 arrays. Dropout's backward reads only dy and writes dx, and needs no stored
mask (it is regenerated from the counter): 2 + 2 arrays. GB/s = bytes / median time; "% copy" compares that with
a 2-thread copy of a 64 MiB array (read 64 MiB + write 64 MiB), the practical ceiling of a memory-bound kernel,
measured before the kernels (and again after them, as a check on a shared host); the "floor" column is the
forward+backward bytes at that copy speed. Arrays of 8 MiB (the (32, 64, 32, 32) shapes) partly stay in a 32 MiB
L3 cache and can beat that floor.

The numpy baseline for dropout is the usual ``rng.random(shape) < keep_prob`` mask (kept for the backward). Torch and
Numba each bring an OpenMP runtime, so torch is timed in a block of its own after a pause.

Then, in fresh processes: the cold compile time of every kernel (empty NUMBA_CACHE_DIR), and the first call of
each public function when the kernels load from that cache.
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass

import numba
import numpy as np
from numba import njit, prange
from tinygrad_norm.kernels import cpu, reference

import tinygrad_norm

THREADS = 2
EPS = 1e-5
DROPOUT_P = 0.1


@dataclass(frozen=True)
class Op:
    name: str
    shape: tuple  # the user-facing shape
    kind: str  # row, channel or dropout
    kernel_shape: tuple  # what the kernels see: (B, C, S), (N, C, S) or (R, S)
    groups: int = 1
    center: bool = True

    @property
    def numel(self):
        return int(np.prod(self.shape))


OPS = [
    Op("BatchNorm2d", (32, 64, 32, 32), "channel", (32, 64, 1024)),
    Op("BatchNorm1d", (256, 256), "channel", (256, 256, 1)),
    Op("GroupNorm(8)", (32, 64, 32, 32), "row", (32, 64, 1024), groups=8),
    Op("InstanceNorm2d", (32, 64, 32, 32), "row", (32, 64, 1024), groups=64),
    Op("LayerNorm", (4096, 1024), "row", (4096, 1024, 1)),
    Op("LayerNorm", (64, 768), "row", (64, 768, 1)),
    Op("RMSNorm", (4096, 1024), "row", (4096, 1024, 1), center=False),
    Op("Dropout", (4096, 1024), "dropout", (4096 * 1024, 1)),
]


def median_ms(fn, budget_s=0.4, max_repeats=50):
    """Median wall time of fn() in ms after two warm-up calls, repeated to about budget_s (at least 3 times)."""
    fn()
    start = time.perf_counter()
    fn()
    repeats = int(min(max_repeats, max(3, budget_s / max(time.perf_counter() - start, 1e-6))))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def make_data(op, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(op.kernel_shape, dtype=np.float32)
    dy = rng.standard_normal(op.kernel_shape, dtype=np.float32)
    C = op.kernel_shape[1]
    return x, dy, (1 + 0.1 * rng.standard_normal(C)).astype(np.float32), rng.standard_normal(C).astype(np.float32)


def kernel_calls(module, op, x, dy, weight, bias):
    """(forward, forward + backward) closures calling a kernel module (cpu or reference)."""
    y, dx = np.empty_like(x), np.empty_like(x)
    C = x.shape[1]
    dweight, dbias = np.empty(C, np.float32), np.empty(C, np.float32)
    if op.kind == "row":
        mean, rstd = np.empty((x.shape[0], op.groups)), np.empty((x.shape[0], op.groups))

        def forward():
            module.row_norm_forward(x, weight, bias, op.groups, EPS, op.center, y, mean, rstd)

        def backward():
            module.row_norm_backward(dy, x, mean, rstd, weight, op.groups, op.center, dx, dweight, dbias)
    elif op.kind == "channel":
        mean, rstd, var_unbiased = np.empty(C), np.empty(C), np.empty(C)

        def forward():
            module.channel_norm_forward(x, weight, bias, EPS, y, mean, rstd, var_unbiased)

        def backward():
            module.channel_norm_backward(dy, x, mean, rstd, weight, True, dx, dweight, dbias)
    else:

        def forward():
            module.dropout_forward(x, DROPOUT_P, 1234, 0, y)

        def backward():
            module.dropout_backward(dy, DROPOUT_P, 1234, 0, dx)

    return forward, lambda: (forward(), backward())


def numpy_rng_dropout_calls(x, dy):
    """The usual numpy dropout: a fresh uniform array compared with keep_prob, the mask kept for the backward."""
    rng = np.random.default_rng(0)
    keep_prob = 1 - DROPOUT_P
    state = {}

    def forward():
        state["keep"] = rng.random(x.shape) < keep_prob
        return x * state["keep"] / keep_prob

    return forward, lambda: (forward(), dy * state["keep"] / keep_prob)


def torch_calls(torch, op, x, dy, weight, bias):
    functional = torch.nn.functional
    xt = torch.from_numpy(x.reshape(op.shape)).requires_grad_()
    dyt = torch.from_numpy(dy.reshape(op.shape))
    wt, bt = torch.from_numpy(weight).requires_grad_(), torch.from_numpy(bias).requires_grad_()
    last = op.shape[-1:]
    functions = {
        "BatchNorm2d": lambda: functional.batch_norm(xt, None, None, wt, bt, True, 0.1, EPS),
        "BatchNorm1d": lambda: functional.batch_norm(xt, None, None, wt, bt, True, 0.1, EPS),
        "GroupNorm(8)": lambda: functional.group_norm(xt, op.groups, wt, bt, EPS),
        "InstanceNorm2d": lambda: functional.instance_norm(xt, weight=wt, bias=bt, eps=EPS),
        "LayerNorm": lambda: functional.layer_norm(xt, last, wt, bt, EPS),
        "RMSNorm": lambda: functional.rms_norm(xt, last, wt, EPS),
        "Dropout": lambda: functional.dropout(xt, DROPOUT_P, True),
    }
    forward = functions[op.name]
    inputs = [xt] if op.name == "Dropout" else [xt, wt] if op.name == "RMSNorm" else [xt, wt, bt]
    return forward, lambda: torch.autograd.grad(forward(), inputs, dyt)


@njit(parallel=True)
def _parallel_copy(src, dst):
    for i in prange(src.size):
        dst[i] = src[i]


def copy_bandwidth_gbs():
    """GB/s of a parallel copy of 64 MiB (bytes read + bytes written)."""
    src = np.ones(16 * 2**20, np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / median_ms(lambda: _parallel_copy(src, dst), budget_s=1.0) / 1e6


def measure():
    rows = {}
    for op in OPS:
        data = make_data(op)
        for backend, module in (("numba", cpu), ("numpy", reference)):
            budget = 0.4 if backend == "numba" else 0.2
            forward, both = kernel_calls(module, op, *data)
            rows[op, backend] = (median_ms(forward, budget), median_ms(both, budget))
        if op.kind == "dropout":
            forward, both = numpy_rng_dropout_calls(*data[:2])
            rows[op, "numpy-rng"] = (median_ms(forward, 0.2), median_ms(both, 0.2))
    return rows


def measure_torch(torch):
    torch.set_num_threads(THREADS)
    rows = {}
    for op in OPS:
        forward, both = torch_calls(torch, op, *make_data(op))
        rows[op, "torch"] = (median_ms(forward), median_ms(both))
    return rows


COMPILE_SCRIPT = textwrap.dedent("""
    import json, sys, time
    import numpy as np
    from numba.core import event

    compile_s = {}

    class Timer(event.Listener):  # top-level compiles only: a kernel's helpers count in its time
        depth = 0
        def on_start(self, ev):
            self.depth += 1
            if self.depth == 1:
                self.start = time.perf_counter()
        def on_end(self, ev):
            self.depth -= 1
            if self.depth == 0:
                compile_s[ev.data["dispatcher"].py_func.__name__] = time.perf_counter() - self.start

    event.register("numba:compile", Timer())
    start = time.perf_counter()
    from tinygrad_norm.kernels import cpu
    import_s = time.perf_counter() - start
    f32 = np.float32
    x, w = np.ones((4, 6, 5), f32), np.ones(6, f32)
    x1 = np.ones((4, 6, 1), f32)
    stats, c6 = (np.empty((4, 2)), np.empty((4, 2))), [np.empty(6) for _ in range(3)]
    calls = {
        "row_norm_forward": lambda a: cpu.row_norm_forward(a, w, w, 2, 1e-5, True, np.empty_like(a), *stats),
        "row_norm_backward": lambda a: cpu.row_norm_backward(a, a, *stats, w, 2, True, np.empty_like(a), w.copy(),
                                                             w.copy()),
        "channel_norm_forward": lambda a: cpu.channel_norm_forward(a, w, w, 1e-5, np.empty_like(a), *c6),
        "channel_norm_apply": lambda a: cpu.channel_norm_apply(a, c6[0], c6[1], w, w, np.empty_like(a)),
        "channel_norm_backward": lambda a: cpu.channel_norm_backward(a, a, c6[0], c6[1], w, True, np.empty_like(a),
                                                                     w.copy(), w.copy()),
        "dropout_forward": lambda a: cpu.dropout_forward(a[0], 0.1, 1, 0, np.empty_like(a[0])),
        "dropout_backward": lambda a: cpu.dropout_backward(a[0], 0.1, 1, 0, np.empty_like(a[0])),
        "dropout_mask": lambda a: cpu.dropout_mask(0.1, 1, 0, np.empty(7, np.uint8)),
    }
    first_call_s = {}
    for name, call in calls.items():
        for layout, a in (("S>1", x), ("S=1", x1)):
            start = time.perf_counter()
            call(a)
            first_call_s[f"{name} {layout}"] = time.perf_counter() - start
    print(json.dumps({"import_s": import_s, "compile_s": compile_s, "first_call_s": first_call_s}))
""")


def fresh_process_timings():
    """(cold, warm) timings of new processes sharing an initially empty Numba cache folder."""
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        runs = [subprocess.run([sys.executable, "-c", COMPILE_SCRIPT], env=env, capture_output=True, text=True,
                               check=True) for _ in range(2)]
    return [json.loads(run.stdout) for run in runs]


def report(rows, copy_gbs):
    header = (f"{'op':<15}{'shape':<17}{'backend':<10}{'fwd ms':>9}{'fwd+bwd':>9}{'GB/s':>7}{'% copy':>8}"
              f"{'floor ms':>9}{'vs numpy':>9}{'vs torch':>9}")
    print(header)
    print("-" * len(header))
    for op in OPS:
        nbytes = (4 if op.kind == "dropout" else 5) * op.numel * 4
        floor_ms = nbytes / copy_gbs / 1e6
        numba_both = rows[op, "numba"][1]
        for backend in ("numba", "numpy", "numpy-rng", "torch"):
            if (op, backend) not in rows:
                continue
            fwd, both = rows[op, backend]
            gbs = nbytes / both / 1e6
            ratios = ""
            if backend == "numba":
                baseline = rows.get((op, "numpy-rng"), rows[op, "numpy"])[1]
                torch_both = rows.get((op, "torch"), (None, None))[1]
                ratios = f"{baseline / numba_both:8.1f}x" + (f"{torch_both / numba_both:8.2f}x" if torch_both else "")
            shape = "x".join(map(str, op.shape))
            print(f"{op.name:<15}{shape:<17}{backend:<10}{fwd:9.3f}{both:9.3f}{gbs:7.1f}{100 * gbs / copy_gbs:7.0f}%"
                  f"{floor_ms:9.3f}{ratios}")
    print("vs numpy: numpy time / numba time, forward+backward (Dropout: against the numpy rng mask); "
          "vs torch: the same against torch")


def report_compile(cold, warm):
    print(f"\ncold compile per kernel (empty cache), s: total {sum(cold['compile_s'].values()):.1f}")
    for name, seconds in sorted(cold["compile_s"].items(), key=lambda item: -item[1]):
        print(f"  {name:<28}{seconds:6.2f}")
    print(f"cached, new process: import {warm['import_s']:.3f} s, first call of every public function (both "
          f"layouts) {sum(warm['first_call_s'].values()):.3f} s, slowest "
          f"{max(warm['first_call_s'], key=warm['first_call_s'].get)} {max(warm['first_call_s'].values()):.3f} s")


def main():
    tinygrad_norm.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    load = os.getloadavg()[0]
    copy_before = copy_bandwidth_gbs()
    rows = measure()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:
        time.sleep(1.0)  # let Numba's worker threads go idle before torch's OpenMP pool spins up
        rows.update(measure_torch(torch))
    copy_after = copy_bandwidth_gbs()
    copy_gbs = copy_before  # after torch has run, the copy has been seen to read twice as fast: not a ceiling
    print(f"2-thread copy bandwidth {copy_before:.1f} GB/s (used below), {copy_after:.1f} GB/s after the kernels; "
          f"load average {load:.1f} at the start (a busy machine slows parallel kernels most)\n")
    report(rows, copy_gbs)
    report_compile(*fresh_process_timings())


if __name__ == "__main__":
    main()
