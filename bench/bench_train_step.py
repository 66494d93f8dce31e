"""Whole training steps, ours against torch: forward, cross-entropy, zero_grad, backward and the optimizer step.

    python bench/bench_train_step.py [--quick] [--only W1,W3] [--no-memory] [--no-neighbour]

The workloads (float32; ours with tinygrad_norm.optim, torch with torch.optim; the same weights and the same data):

    W1  MLP 784-512-512-10, (Linear-BatchNorm1d-ReLU-Dropout(0.2)) x2 then Linear, SGD (lr 0.01, momentum 0.9),
        batch 128, random inputs and labels
    W2  W1 at batch 16
    W3  CNN Conv2d(1,16,3,p1)-BatchNorm2d-ReLU-MaxPool2d(2)-Conv2d(16,32,3,p1)-BatchNorm2d-ReLU-MaxPool2d(2)-
        Flatten-Linear(1568,10) on 1x28x28, SGD (lr 0.01, momentum 0.9), batch 64, random inputs and labels
    W4  Linear(1024,1024)-LayerNorm-GELU-Dropout(0.1)-Linear(1024,1024), Adam (lr 1e-3), batch 64, 1024 classes
    W5  `tinygrad-norm train`'s default model (build_model("mlp", "batch", 0.2, (1, 8, 8), 10)), Adam (lr 1e-3),
        batch 64, the bundled digits
    W6  the same with --model cnn

A step is `loss = cross_entropy(model(x), y); opt.zero_grad(); loss.backward(); opt.step(); loss.item()` on the
next of a few fixed batches. Both runtimes run in this process, interleaved: BLOCK_STEPS steps of one, a pause
(so that neither's worker threads are still spinning when the other starts), BLOCK_STEPS of the other, with the
order alternating between blocks; each side's time is the median of all its steps after the warm-up. Each side
runs with its defaults: torch on its default thread count, ours with the thread policy of kernels/_threads.py.
(torch is imported first; Numba's OpenMP threads then run in torch's OpenMP runtime, with the same settings.)

"W1 with a busy core" runs W1 again beside a CPU-bound neighbour process (a Python loop) and gives the ratio to
the quiet W1 of the same run. Peak memory: each side runs each workload in a child process of its own that imports
only its runtime (and numpy), and reports its peak resident set size (VmHWM, imports included).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Spec = list[tuple[str, dict]]  # (layer class name in torch.nn and tinygrad_norm.nn, its keyword arguments)

BATCHES = 4  # distinct batches, cycled
SEED = 0


@dataclass
class Workload:
    name: str
    label: str
    spec: Spec
    optimizer: str  # "SGD" or "Adam", with OPTIMIZERS[optimizer]
    batch: int
    sample_shape: tuple[int, ...]
    classes: int
    digits: bool = False  # batches from the bundled digits instead of random numbers
    arrays: dict = field(default_factory=dict)  # filled by prepare(): weights and batches, shared by both sides


OPTIMIZERS = {"SGD": dict(lr=0.01, momentum=0.9), "Adam": dict(lr=1e-3)}
# the constructor arguments that describe a layer of build_model's networks
LAYER_ARGUMENTS = {
    "Linear": ("in_features", "out_features"),
    "BatchNorm1d": ("num_features", "eps", "momentum"),
    "BatchNorm2d": ("num_features", "eps", "momentum"),
    "LayerNorm": ("normalized_shape", "eps"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding"),
    "MaxPool2d": ("kernel_size", "stride"),
    "Dropout": ("p",),
    "Flatten": ("start_dim", "end_dim"),
    "ReLU": (),
    "GELU": ("approximate",),
}


def spec_of(model) -> Spec:
    """The layers of one of our nn.Sequential models as a Spec."""
    spec = []
    for layer in model:
        name = type(layer).__name__
        spec.append((name, {key: getattr(layer, key) for key in LAYER_ARGUMENTS[name]}))
    return spec


def mlp_spec(inputs: int, hidden: int, classes: int, p: float) -> Spec:
    spec: Spec = []
    for features in (inputs, hidden):
        spec += [("Linear", dict(in_features=features, out_features=hidden)),
                 ("BatchNorm1d", dict(num_features=hidden)), ("ReLU", {}), ("Dropout", dict(p=p))]
    return spec + [("Linear", dict(in_features=hidden, out_features=classes))]


def cnn_spec() -> Spec:
    spec: Spec = []
    for c_in, c_out in ((1, 16), (16, 32)):
        spec += [("Conv2d", dict(in_channels=c_in, out_channels=c_out, kernel_size=3, padding=1)),
                 ("BatchNorm2d", dict(num_features=c_out)), ("ReLU", {}), ("MaxPool2d", dict(kernel_size=2))]
    return spec + [("Flatten", {}), ("Linear", dict(in_features=32 * 7 * 7, out_features=10))]


def workloads() -> list[Workload]:
    from tinygrad_norm.cli.models import build_model

    wide = [("Linear", dict(in_features=1024, out_features=1024)), ("LayerNorm", dict(normalized_shape=1024)),
            ("GELU", {}), ("Dropout", dict(p=0.1)), ("Linear", dict(in_features=1024, out_features=1024))]
    train_model = {model: spec_of(build_model(model, "batch", 0.2, (1, 8, 8), 10)) for model in ("mlp", "cnn")}
    return [
        Workload("W1", "MLP 784-512-512-10, BN, SGD, batch 128", mlp_spec(784, 512, 10, 0.2), "SGD", 128, (784,), 10),
        Workload("W2", "the same, batch 16", mlp_spec(784, 512, 10, 0.2), "SGD", 16, (784,), 10),
        Workload("W3", "CNN 1-16-32 on 28x28, BN, SGD, batch 64", cnn_spec(), "SGD", 64, (1, 28, 28), 10),
        Workload("W4", "Linear 1024-LayerNorm-GELU-Linear, Adam, batch 64", wide, "Adam", 64, (1024,), 1024),
        Workload("W5", "`tinygrad-norm train` MLP, digits, Adam, batch 64", train_model["mlp"], "Adam", 64, (1, 8, 8),
                 10, digits=True),
        Workload("W6", "`tinygrad-norm train --model cnn`, Adam, batch 64", train_model["cnn"], "Adam", 64, (1, 8, 8),
                 10, digits=True),
    ]


def prepare(workload: Workload, tn) -> None:
    """Our model's initial weights (seeded) and BATCHES batches, as numpy arrays in workload.arrays."""
    tn.manual_seed(SEED)
    model = build(tn.nn, workload.spec)
    arrays = {f"weight/{key}": np.array(value) for key, value in model.state_dict().items()}
    rng = np.random.default_rng(SEED)
    if workload.digits:
        images, labels = tn.data.load_digits(train=True)
        images = tn.data.normalize(images, *tn.data.MEAN_STD["digits"])
        for i in range(BATCHES):
            rows = slice(i * workload.batch, (i + 1) * workload.batch)
            arrays[f"x/{i}"], arrays[f"y/{i}"] = images[rows], labels[rows]
    else:
        for i in range(BATCHES):
            arrays[f"x/{i}"] = rng.standard_normal((workload.batch, *workload.sample_shape), dtype=np.float32)
            arrays[f"y/{i}"] = rng.integers(0, workload.classes, workload.batch)
    workload.arrays = arrays


def build(nn, spec: Spec):
    """The network of `spec` from `nn` (torch.nn or tinygrad_norm.nn, which share the names)."""
    return nn.Sequential(*[getattr(nn, name)(**kwargs) for name, kwargs in spec])


def batches(arrays: dict) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(arrays[f"x/{i}"], arrays[f"y/{i}"]) for i in range(BATCHES)]


def weights(arrays: dict) -> dict[str, np.ndarray]:
    return {key.removeprefix("weight/"): value for key, value in arrays.items() if key.startswith("weight/")}


def training_step(workload: Workload, runtime) -> Callable[[], float]:
    """A closure running one training step on the next batch, in `runtime`: tinygrad_norm or torch, whose names
    (nn, optim, from_numpy, the step's calls) are the same."""
    model = build(runtime.nn, workload.spec)
    model.load_state_dict({key: runtime.from_numpy(value) for key, value in weights(workload.arrays).items()})
    model.train()
    optimizer = getattr(runtime.optim, workload.optimizer)(model.parameters(), **OPTIMIZERS[workload.optimizer])
    data = [(runtime.from_numpy(x), runtime.from_numpy(y)) for x, y in batches(workload.arrays)]
    step_count = iter(range(1 << 62))

    def step() -> float:
        x, y = data[next(step_count) % BATCHES]
        loss = runtime.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


@dataclass
class Plan:
    warmup: int
    blocks: int
    block_steps: int
    pause_s: float
    memory_steps: int


FULL = Plan(warmup=10, blocks=8, block_steps=10, pause_s=0.5, memory_steps=30)
QUICK = Plan(warmup=5, blocks=3, block_steps=6, pause_s=0.3, memory_steps=10)


def interleaved_ms(steps: list[Callable[[], float]], plan: Plan) -> list[float]:
    """Median ms per step of each closure, run in alternating blocks with a pause between runtimes."""
    for step in steps:
        for _ in range(plan.warmup):
            step()
        time.sleep(plan.pause_s)
    times: list[list[float]] = [[] for _ in steps]
    for block in range(plan.blocks):
        order = range(len(steps)) if block % 2 == 0 else reversed(range(len(steps)))
        for i in order:
            for _ in range(plan.block_steps):
                start = time.perf_counter()
                steps[i]()
                times[i].append(time.perf_counter() - start)
            time.sleep(plan.pause_s)
    return [1e3 * statistics.median(t) for t in times]


class Neighbour:
    """A CPU-bound child process (a Python loop) for the length of a `with` block."""

    def __enter__(self):
        self.process = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)  # let it settle on a core
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def peak_rss_mib(workload: Workload, side: str, plan: Plan, folder: str) -> float:
    """Peak resident memory of a child process that runs `plan.memory_steps` steps of `workload` on `side`."""
    path = os.path.join(folder, f"{workload.name}.npz")
    if not os.path.exists(path):
        np.savez(path, **workload.arrays)
    description = json.dumps(dict(name=workload.name, spec=workload.spec, optimizer=workload.optimizer))
    command = [sys.executable, __file__, "--memory-child", side, path, description, str(plan.memory_steps)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return float(output.split()[-1])


def memory_child(side: str, path: str, description: str, steps: int) -> None:
    """In a fresh process: import only `side`'s runtime, run the steps, print the peak RSS in MiB."""
    if side == "torch":
        import torch as runtime
    else:
        import tinygrad_norm as runtime
    fields = json.loads(description)
    with np.load(path) as archive:
        arrays = dict(archive)
    workload = Workload(fields["name"], "", [(name, kwargs) for name, kwargs in fields["spec"]], fields["optimizer"],
                        0, (), 0, arrays=arrays)
    step = training_step(workload, runtime)
    for _ in range(steps):
        step()
    print(peak_rss_kib() / 1024)


def peak_rss_kib() -> int:
    """This process's peak resident set size (VmHWM; ru_maxrss would include the parent's, kept across exec)."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter blocks (a rougher table, sooner)")
    parser.add_argument("--only", help="comma-separated workloads, e.g. W1,W3 (default: all)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory child processes")
    parser.add_argument("--no-neighbour", action="store_true", help="skip W1 beside a busy core")
    parser.add_argument("--memory-child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        side, path, description, steps = args.memory_child
        memory_child(side, path, description, int(steps))
        return
    plan = QUICK if args.quick else FULL
    import torch  # before tinygrad_norm (see above)

    import tinygrad_norm as tn

    chosen = workloads()
    if args.only:
        names = args.only.upper().split(",")
        chosen = [w for w in chosen if w.name in names]
    load = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for workload in chosen:
            prepare(workload, tn)
            ours_ms, torch_ms = interleaved_ms([training_step(workload, tn), training_step(workload, torch)], plan)
            memory = None
            if not args.no_memory:
                memory = peak_rss_mib(workload, "ours", plan, folder), peak_rss_mib(workload, "torch", plan, folder)
            rows.append((workload, ours_ms, torch_ms, memory))
            print(f"{workload.name}: ours {ours_ms:.2f} ms, torch {torch_ms:.2f} ms", file=sys.stderr)
        busy = None
        w1 = next((row for row in rows if row[0].name == "W1"), None)
        if w1 is not None and not args.no_neighbour:
            with Neighbour():
                busy = interleaved_ms([training_step(w1[0], tn), training_step(w1[0], torch)], plan)
    print(f"float32, median ms per training step, {plan.blocks} blocks of {plan.block_steps} steps per side; "
          f"torch {torch.__version__} on {torch.get_num_threads()} threads, {os.cpu_count()} cores, load average "
          f"{load:.1f} at the start; peak RSS of a child process per side\n")
    print("| workload | ours ms | torch ms | ours/torch | ours peak MiB | torch peak MiB |")
    print("| --- | --- | --- | --- | --- | --- |")
    for workload, ours_ms, torch_ms, memory in rows:
        mib = ("-", "-") if memory is None else (f"{memory[0]:.0f}", f"{memory[1]:.0f}")
        print(f"| {workload.name} {workload.label} | {ours_ms:.2f} | {torch_ms:.2f} | {ours_ms / torch_ms:.2f} | "
              f"{mib[0]} | {mib[1]} |")
    if busy is not None:
        quiet_ours, quiet_torch = w1[1], w1[2]
        print(f"| W1 with a busy core | {busy[0]:.2f} ({busy[0] / quiet_ours:.1f}x quiet) | {busy[1]:.2f} "
              f"({busy[1] / quiet_torch:.1f}x quiet) | {busy[0] / busy[1]:.2f} | | |")


if __name__ == "__main__":
    main()
