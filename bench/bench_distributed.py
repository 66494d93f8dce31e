"""Data-parallel training on this machine: 2 processes x 1 thread against 1 process x 2 threads, same global batch.

    python bench/bench_distributed.py [--steps 40] [--batch 128] [--repeats 2]

The MLP and the CNN of `tinygrad-norm train` (BatchNorm, no dropout, SGD with momentum) on the bundled digits,
`--batch` samples a step in all: one process with NUMBA_NUM_THREADS=2 (BLAS as the thread policy sets it, on one
thread) trains the plain model;
`mpiexec -n 2` with one thread each trains it with SyncBatchNorm and DistributedDataParallel on half the batch;
one process with one thread is the reference both are measured against.
Each configuration is a fresh launch, timed over `--steps` steps after WARMUP; the configurations alternate
`--repeats` times. Communication is the time spent in tinygrad_norm.distributed.world.wait, which every MPI
collective ends in: SyncBatchNorm's all_gather and all_reduce, the gradient buckets, the buffer broadcasts, and any
wait for the slower process; its share is of rank 0's step time. The machine is shared: each row gives the load
average (1 minute) before its launch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WARMUP = 5
CONFIGURATIONS = ((1, 2), (2, 1), (1, 1))  # (processes, threads each); 1 x 1 shows what either gains over one core
THREAD_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker(model_name: str, steps: int, batch: int) -> None:
    """Train under the launch's settings and print one JSON line from rank 0."""
    import numpy as np

    import tinygrad_norm as tn
    from tinygrad_norm import data, distributed, nn, optim
    from tinygrad_norm.cli.models import build_model
    from tinygrad_norm.distributed import world

    distributed.init()
    processes, rank = distributed.world_size(), distributed.rank()
    waited = [0.0]
    wait = world.wait

    def timed_wait(request, what):
        start = time.perf_counter()
        wait(request, what)
        waited[0] += time.perf_counter() - start

    world.wait = timed_wait
    images, labels = data.load_digits(train=True)
    images = data.normalize(images, *data.MEAN_STD["digits"])
    tn.manual_seed(0)
    model = build_model(model_name, "batch", 0.0, images.shape[1:], 10)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    if processes > 1:
        model = distributed.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    loader = data.DataLoader((images, labels), batch_size=batch // processes, shuffle=True, drop_last=True,
                             rank=rank, world_size=processes)

    def batches():
        for epoch in range(10**6):
            loader.set_epoch(epoch)
            yield from loader

    stream = batches()

    def step():
        x, y = next(stream)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(WARMUP):
        step()
    distributed.barrier()
    waited[0] = 0.0
    start = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = time.perf_counter() - start
    per_rank = distributed.all_gather(np.array([seconds, waited[0]]))
    if rank == 0:
        print(json.dumps({"steps_per_s": steps / per_rank[:, 0].max(), "comm_share": waited[0] / seconds}))


def launch(model: str, processes: int, threads: int, steps: int, batch: int) -> dict:
    from tinygrad_norm import distributed

    env = {name: value for name, value in os.environ.items() if name not in THREAD_VARIABLES}
    # one thread: every pool on one; more: Numba's count, and BLAS left to the thread policy, as a user gets it
    env.update({name: "1" for name in THREAD_VARIABLES} if threads == 1 else {"NUMBA_NUM_THREADS": str(threads)})
    command = [sys.executable, __file__, "--worker", model, "--steps", str(steps), "--batch", str(batch)]
    if processes > 1:
        command = [distributed.find_mpiexec(), "-n", str(processes), *command]
    load = os.getloadavg()[0]
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return {**json.loads(result.stdout.strip().splitlines()[-1]), "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128, help="samples a step over all processes")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--worker", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.steps, args.batch)
        return
    print(f"global batch {args.batch}, {args.steps} timed steps after {WARMUP}; {os.cpu_count()} cores")
    print("| model | run | processes x threads | steps/s | communication | load average |")
    print("| --- | --- | --- | --- | --- | --- |")
    for model in ("mlp", "cnn"):
        for repeat in range(1, args.repeats + 1):
            for processes, threads in CONFIGURATIONS:
                row = launch(model, processes, threads, args.steps, args.batch)
                share = f"{100 * row['comm_share']:.0f}%" if processes > 1 else "-"
                print(f"| {model} | {repeat} | {processes} x {threads} | {row['steps_per_s']:.1f} | {share} | "
                      f"{row['load']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
