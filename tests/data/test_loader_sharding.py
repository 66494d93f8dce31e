"""The sharded DataLoader (rank, world_size, set_epoch), with every rank's loader built in this one process."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm.data import DataLoader


def shards(samples: int, world_size: int, **options) -> list[list[np.ndarray]]:
    """Every rank's batches of one pass over arange(samples)."""
    loaders = [DataLoader(np.arange(samples), rank=r, world_size=world_size, **options) for r in range(world_size)]
    for loader in loaders:
        loader.set_epoch(3)
    return [[batch.data for batch in loader] for loader in loaders]


@pytest.mark.parametrize(
    "samples, world_size, batch_size, shuffle",
    [case for case in itertools.product([1, 5, 23, 24, 25], [1, 2, 3, 5], [1, 4, 7], [False, True])
     if case[0] >= case[1]],  # fewer samples than processes: test_more_processes_than_samples_is_refused
)
def test_each_sample_once_per_epoch_the_same_number_of_batches_and_none_empty(samples, world_size, batch_size,
                                                                                 shuffle):
    batches = shards(samples, world_size, batch_size=batch_size, shuffle=shuffle)
    assert len({len(rank_batches) for rank_batches in batches}) == 1
    assert len(batches[0]) == len(DataLoader(np.arange(samples), batch_size=batch_size, rank=0, world_size=world_size))
    seen = np.concatenate([batch for rank_batches in batches for batch in rank_batches])
    np.testing.assert_array_equal(np.sort(seen), np.arange(samples))
    for step in zip(*batches):  # one global batch: shares within one sample of each other, none empty
        sizes = [len(share) for share in step]
        assert min(sizes) >= 1 and max(sizes) - min(sizes) <= 1
        assert sum(sizes) <= batch_size * world_size + world_size - 1


def test_drop_last_gives_full_batches_only():
    batches = shards(23, 2, batch_size=4, drop_last=True)
    assert [len(b) for b in batches[0]] == [4, 4] and [len(b) for b in batches[1]] == [4, 4]


def test_the_order_depends_on_seed_and_epoch_only():
    def order(seed, epoch):
        loader = DataLoader(np.arange(50), batch_size=50, shuffle=True, seed=seed, rank=0, world_size=1)
        loader.set_epoch(epoch)
        return next(iter(loader)).data

    tn.manual_seed(0)
    first = order(1, 0)
    tn.manual_seed(99)  # the framework's generator does not enter
    np.testing.assert_array_equal(order(1, 0), first)
    assert not np.array_equal(order(1, 1), first) and not np.array_equal(order(2, 0), first)
    assert sorted(first) == list(range(50))


def test_without_set_epoch_every_pass_repeats_epoch_0_as_torch():
    loader = DataLoader(np.arange(30), batch_size=30, shuffle=True, rank=1, world_size=2)
    np.testing.assert_array_equal(next(iter(loader)).data, next(iter(loader)).data)


@pytest.mark.parametrize(
    "options, error, message",
    [
        ({"rank": 0}, ValueError, "rank and world_size come together"),
        ({"world_size": 2}, ValueError, "rank and world_size come together"),
        ({"rank": 2, "world_size": 2}, ValueError, r"Invalid rank 2, rank should be in the interval \[0, 1\]"),
        ({"rank": -1, "world_size": 2}, ValueError, "Invalid rank -1"),
        ({"rank": 0, "world_size": 0}, ValueError, "world_size must be a positive integer, got 0"),
        ({"rank": 0.0, "world_size": 2}, TypeError, "rank must be an int, got float"),
        ({"rank": 0, "world_size": True}, TypeError, "world_size must be an int, got bool"),
    ],
)
def test_bad_shards_are_refused(options, error, message):
    with pytest.raises(error, match=message):
        DataLoader(np.arange(10), **options)


def test_more_processes_than_samples_is_refused():
    with pytest.raises(ValueError, match=r"^world_size \(4\) is larger than the dataset \(3 samples\)"):
        DataLoader(np.arange(3), rank=0, world_size=4)


@pytest.mark.parametrize("epoch", [-1, 1.5, True])
def test_set_epoch_takes_a_non_negative_int(epoch):
    with pytest.raises(ValueError, match="epoch must be a non-negative integer"):
        DataLoader(np.arange(3), rank=0, world_size=1).set_epoch(epoch)
