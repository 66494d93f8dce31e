"""`TensorDataset` and `DataLoader` over in-memory arrays, after `torch.utils.data`.

A batch is one fancy-index per array (a copy, so changing a batch never changes the dataset): there is no
per-sample Python loop, no worker process and no collate function.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from ..random import generator
from ..tensor import Tensor

Batch = tuple[Tensor, ...] | Tensor


class TensorDataset:
    """Arrays or Tensors that share their first dimension; sample `i` is the tuple of their rows `i`.

    numpy arrays and Tensors are kept without copying (as torch does); anything else goes through `Tensor(x)`.
    """

    def __init__(self, *tensors: Tensor | np.ndarray):
        if not tensors:
            raise ValueError("TensorDataset needs at least one array")
        self.tensors = tuple(_as_tensor(t) for t in tensors)
        sizes = [t.shape[0] if t.ndim else None for t in self.tensors]
        if None in sizes or len(set(sizes)) != 1:
            raise ValueError(f"Size mismatch between tensors: first dimensions {sizes}")

    def __getitem__(self, index) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class DataLoader:
    """Batches of a `TensorDataset`, a tuple of arrays/Tensors, or one array/Tensor.

    Yields a tuple of Tensors per batch (a single Tensor for a single array, as torch does for a tensor).
    `shuffle=True` draws a new order at the start of every pass: from a generator of the loader's own,
    seeded once with `seed`, so the same seed gives the same sequence of orders; or, when `seed` is None,
    from the framework's generator, so `manual_seed` makes it reproducible and `random.get_state()` (saved
    in a checkpoint) covers it. Training that resumes from a checkpoint should leave `seed` None: a rebuilt
    seeded loader starts its sequence again. `drop_last` drops the last batch when it is smaller than
    `batch_size`. A list is refused rather than guessed at: torch reads a list as a list of samples.

    Sharded (`rank` and `world_size` given, as torch's DistributedSampler): each pass is cut into global batches of
    `batch_size * world_size` samples, and process `rank` gets its near-equal contiguous part of each, so every
    sample is seen exactly once per epoch, by one process, and every process gets the same number of batches.
    Unlike torch, no sample is repeated to even the shares out: the last global batch is split as it is (shares
    may differ by one sample), and a last remainder smaller than `world_size` joins the batch before it, so no
    process gets an empty batch. `drop_last` drops a last global batch smaller than `batch_size * world_size`.
    The shuffled order is the same on every process without communication: a permutation drawn from
    (`seed` or 0, the epoch), the epoch being set by `set_epoch(epoch)` before each pass (as torch's, a loader
    never told another epoch repeats epoch 0's order).
    """

    def __init__(
        self,
        dataset: TensorDataset | tuple | Tensor | np.ndarray,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        *,
        rank: int | None = None,
        world_size: int | None = None,
    ):
        if not isinstance(batch_size, (int, np.integer)) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(shuffle, bool):
            raise ValueError(f"shuffle should be a boolean value, but got shuffle={shuffle}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        if seed is not None and (not isinstance(seed, (int, np.integer)) or isinstance(seed, bool)):
            raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
        if isinstance(dataset, TensorDataset):
            self.dataset = dataset
        elif isinstance(dataset, tuple):
            self.dataset = TensorDataset(*dataset)
        elif isinstance(dataset, (Tensor, np.ndarray)):
            self.dataset = TensorDataset(dataset)
        else:
            raise TypeError(
                f"DataLoader takes a TensorDataset, a tuple of arrays or an array, got {type(dataset).__name__}"
            )
        if shuffle and len(self.dataset) == 0:
            raise ValueError("num_samples should be a positive integer value, but got num_samples=0")
        self.batch_size, self.shuffle, self.drop_last = int(batch_size), shuffle, drop_last
        self._single = not isinstance(dataset, (TensorDataset, tuple))
        self.rank, self.world_size = _check_shard(rank, world_size, len(self.dataset))
        self.epoch = 0
        self._seed = 0 if seed is None else int(seed)
        self._generator = None if seed is None or world_size is not None else np.random.default_rng(seed)

    def set_epoch(self, epoch: int) -> None:
        """The epoch whose order the next pass of a sharded loader takes (see the class docstring)."""
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0:
            raise ValueError(f"epoch must be a non-negative integer, got {epoch!r}")
        self.epoch = int(epoch)

    def __len__(self) -> int:
        if self.world_size is not None:
            return len(self._global_batches())
        samples = len(self.dataset)
        return samples // self.batch_size if self.drop_last else -(-samples // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        # the order is drawn here, not at the first batch, so the random state moves when the pass begins
        samples = len(self.dataset)
        if self.world_size is not None:
            return self._batches(self._shares(samples))
        if self.shuffle:
            order = (generator() if self._generator is None else self._generator).permutation(samples)
        else:
            order = np.arange(samples)
        starts = range(0, len(self) * self.batch_size, self.batch_size)
        return self._batches(order[start : start + self.batch_size] for start in starts)

    def _global_batches(self) -> list[tuple[int, int]]:
        """[start, stop) of each global batch of a sharded pass, in the pass's order."""
        samples, size = len(self.dataset), self.batch_size * self.world_size
        bounds = [(start, min(start + size, samples)) for start in range(0, samples, size)]
        if bounds and bounds[-1][1] - bounds[-1][0] < size:
            if self.drop_last:
                bounds.pop()
            elif len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < self.world_size:
                bounds[-2:] = [(bounds[-2][0], samples)]
        return bounds

    def _shares(self, samples: int) -> Iterator[np.ndarray]:
        """This process's rows of each global batch: the same permutation on every process, its own part."""
        if self.shuffle:
            order = np.random.default_rng([self._seed & (2**64 - 1), self.epoch]).permutation(samples)
        else:
            order = np.arange(samples)
        for start, stop in self._global_batches():
            share = (stop - start) * self.rank // self.world_size, (stop - start) * (self.rank + 1) // self.world_size
            yield order[start + share[0] : start + share[1]]

    def _batches(self, row_sets: Iterable[np.ndarray]) -> Iterator[Batch]:
        arrays = [t.data for t in self.dataset.tensors]
        for rows in row_sets:
            batch = tuple(Tensor._from_array(array[rows], False) for array in arrays)
            yield batch[0] if self._single else batch


def _check_shard(rank, world_size, samples: int) -> tuple[int | None, int | None]:
    """(rank, world_size) of a sharded loader as ints, or (None, None) for one that is not."""
    if rank is None and world_size is None:
        return None, None
    if rank is None or world_size is None:
        raise ValueError("rank and world_size come together: give both to shard the data, or neither")
    for name, value in (("rank", rank), ("world_size", world_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if world_size < 1:
        raise ValueError(f"world_size must be a positive integer, got {world_size}")
    if not 0 <= rank < world_size:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {world_size - 1}]")
    if samples < world_size:
        raise ValueError(
            f"world_size ({world_size}) is larger than the dataset ({samples} samples): every process needs a "
            "sample of every batch"
        )
    return int(rank), int(world_size)


def _as_tensor(data) -> Tensor:
    if isinstance(data, Tensor):
        return data
    return Tensor._from_array(data, False) if isinstance(data, np.ndarray) else Tensor(data)
