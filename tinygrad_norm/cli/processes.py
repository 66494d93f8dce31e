"""How `tinygrad-norm train` runs in one process, or with `--distributed` in the processes `mpiexec -n N` started.

With `--distributed` every process builds the same model from the recipe and trains on its share of each batch
(the data loader's sharding, `--batch-size` samples per process): BatchNorm becomes SyncBatchNorm, so its
statistics are those of the whole batch, and DistributedDataParallel averages the gradients, so the run is the
one-process run of batches of `--batch-size` × N, up to rounding (uneven last batches aside, and dropout masks,
which differ per process). Each epoch's order comes from (seed, epoch) and each process's dropout masks from
(seed, rank, epoch): a resumed run is the run that never stopped, on every process.

Rank 0 alone prints, writes metrics, plots and checkpoints (atomically, as in one process); every process reads
the checkpoint to resume, which must come from a run with as many processes. A process that fails ends the run:
it prints its error with its rank, and MPI_Abort ends every process (exit status 2 for a usage error, as in one
process; an uncaught exception aborts through tinygrad_norm.distributed's excepthook).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import replace
from typing import Any

import numpy as np

from .. import distributed, nn
from ..data import DataLoader
from .errors import UsageError, fail_on
from .loop import EpochStats


class OneProcess:
    """The plain run: every hook does nothing."""

    count: int | None = None  # processes, as checkpoints record them (None: not distributed)
    main = True  # this process prints and writes

    def loader_options(self, seed: int) -> dict[str, Any]:
        return {}

    def wrap(self, model: nn.Module) -> nn.Module:
        return model

    def start_epoch(self, loader: DataLoader, seed: int, epoch: int) -> None:
        pass

    def combine(self, stats: EpochStats) -> EpochStats:
        return stats

    @contextlib.contextmanager
    def ending_all_on_failure(self):
        yield


class Processes(OneProcess):
    """The processes of `--distributed`; needs MPI (a one-line error naming the extra without it)."""

    def __init__(self):
        if not distributed.is_available():
            raise UsageError(
                "--distributed needs MPI: pip install 'tinygrad-norm[mpi]', then start the processes with mpiexec -n N"
            )
        with fail_on(ImportError, ValueError):
            distributed.init()
        self.rank, self.count = distributed.rank(), distributed.world_size()
        self.main = self.rank == 0

    def loader_options(self, seed: int) -> dict[str, Any]:
        return {"rank": self.rank, "world_size": self.count, "seed": seed}

    def wrap(self, model: nn.Module) -> nn.Module:
        with fail_on(ValueError):
            return distributed.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))

    def start_epoch(self, loader: DataLoader, seed: int, epoch: int) -> None:
        loader.set_epoch(epoch)
        distributed.seed_dropout(seed, epoch)

    def combine(self, stats: EpochStats) -> EpochStats:
        """The epoch's loss and accuracy over every process's samples (the seconds are this process's)."""
        totals = np.array([stats.loss * stats.samples, stats.accuracy * stats.samples, stats.samples])
        loss, correct, samples = distributed.all_reduce(totals)
        return replace(stats, loss=loss / max(samples, 1), accuracy=correct / max(samples, 1), samples=int(samples))

    @contextlib.contextmanager
    def ending_all_on_failure(self):
        """A usage error or Ctrl-C in one process ends them all (the others may be waiting in a collective)."""
        try:
            yield
        except UsageError as error:
            if self.count == 1:
                raise
            print(f"tinygrad-norm: error: rank {self.rank}: {error}", file=sys.stderr)
            distributed.abort(2)
        except KeyboardInterrupt:
            if self.count == 1:
                raise
            print(f"tinygrad-norm: rank {self.rank} interrupted", file=sys.stderr)
            distributed.abort(130)


def start(distributed_run: bool) -> OneProcess:
    return Processes() if distributed_run else OneProcess()


def check_resume(checkpoint: dict[str, Any], processes: OneProcess) -> None:
    """Refuse to resume a checkpoint written by a run of another number of processes: its batches would differ."""
    saved = checkpoint.get("processes")
    if saved != processes.count:

        def describe(count):
            if count is None:
                return "a run without --distributed"
            return f"a run of {count} process{'es' if count > 1 else ''} (--distributed)"

        raise UsageError(
            f"--resume: the checkpoint was written by {describe(saved)}, but this is {describe(processes.count)}; "
            "resume it as it was started"
        )
