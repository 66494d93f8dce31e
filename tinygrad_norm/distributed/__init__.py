"""Data-parallel training over several processes: MPI on CPUs (mpi4py, the `mpi` extra), NCCL for CuPy arrays.

    mpiexec -n 2 python train.py

    from tinygrad_norm import distributed, nn
    distributed.init()                                     # a world of one without mpiexec
    model = distributed.DistributedDataParallel(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    loader = DataLoader(data, batch_size=32, shuffle=True, rank=distributed.rank(),
                        world_size=distributed.world_size())
    for epoch in range(epochs):
        loader.set_epoch(epoch)
        for x, y in loader:                                # each process its share of every batch
            optimizer.zero_grad(); loss_fn(model(x), y).backward(); optimizer.step()

world.py: the processes (init, rank, world_size, abort, the timeout); collectives.py: all_reduce, broadcast,
all_gather, barrier on arrays; ddp.py: DistributedDataParallel; seeds.py: dropout masks per process.
"""

from .collectives import REDUCE_OPS, Work, all_gather, all_reduce, barrier, broadcast
from .ddp import DistributedDataParallel
from .seeds import seed_dropout
from .world import abort, find_mpiexec, init, is_available, is_initialized, rank, world_size

__all__ = [
    "REDUCE_OPS",
    "DistributedDataParallel",
    "Work",
    "abort",
    "all_gather",
    "all_reduce",
    "barrier",
    "broadcast",
    "find_mpiexec",
    "init",
    "is_available",
    "is_initialized",
    "rank",
    "seed_dropout",
    "world_size",
]
