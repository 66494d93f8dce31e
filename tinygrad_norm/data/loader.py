"""`TensorDataset` and `DataLoader` over in-memory arrays, after `torch.utils.data`.

A batch is one fancy-index per array (a copy, so changing a batch never changes the dataset): there is no
per-sample Python loop, no worker process and no collate function.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    """

    def __init__(
        self,
        dataset: TensorDataset | tuple | Tensor | np.ndarray,
        batch_size: int = 1,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
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
        self._generator = None if seed is None else np.random.default_rng(seed)

    def __len__(self) -> int:
        samples = len(self.dataset)
        return samples // self.batch_size if self.drop_last else -(-samples // self.batch_size)

    def __iter__(self) -> Iterator[Batch]:
        # the order is drawn here, not at the first batch, so the random state moves when the pass begins
        samples = len(self.dataset)
        if self.shuffle:
            order = (generator() if self._generator is None else self._generator).permutation(samples)
        else:
            order = np.arange(samples)
        return self._batches(order)

    def _batches(self, order: np.ndarray) -> Iterator[Batch]:
        arrays = [t.data for t in self.dataset.tensors]
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = tuple(Tensor._from_array(array[rows], False) for array in arrays)
            yield batch[0] if self._single else batch


def _as_tensor(data) -> Tensor:
    if isinstance(data, Tensor):
        return data
    return Tensor._from_array(data, False) if isinstance(data, np.ndarray) else Tensor(data)
