"""`DataLoader` and `TensorDataset`: order, determinism, len and drop_last (compared with torch), copies,
and torch's argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm.data import DataLoader, TensorDataset


def dataset(samples: int = 10):
    return np.arange(samples * 2, dtype=np.float32).reshape(samples, 2), np.arange(samples)


def labels_in_order(loader) -> np.ndarray:
    return np.array([label for _, labels in loader for label in labels.numpy()], dtype=np.int64)


def test_batches_are_tuples_of_tensors_in_order():
    x, y = dataset(10)
    batches = list(DataLoader((x, y), batch_size=4))
    assert [len(b) for b in batches] == [2, 2, 2]
    assert all(isinstance(t, tn.Tensor) and not t.requires_grad for b in batches for t in b)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64
    np.testing.assert_array_equal(np.concatenate([b[0].numpy() for b in batches]), x)
    np.testing.assert_array_equal(labels_in_order(batches), y)


@pytest.mark.parametrize("samples", [1, 9, 10, 11])
@pytest.mark.parametrize("batch_size", [1, 3, 10, 64])
@pytest.mark.parametrize("drop_last", [False, True])
def test_len_and_batch_sizes_match_torch(samples, batch_size, drop_last):
    torch = pytest.importorskip("torch")
    x, y = dataset(samples)
    ours = DataLoader((x, y), batch_size=batch_size, drop_last=drop_last)
    theirs = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y)), batch_size, drop_last=drop_last
    )
    assert len(ours) == len(theirs)
    assert [b[1].shape[0] for b in ours] == [b[1].shape[0] for b in theirs]
    assert labels_in_order(ours).tolist() == [v for b in theirs for v in b[1].tolist()]


def test_the_same_seed_gives_the_same_orders():
    x, y = dataset(50)
    first, second = DataLoader((x, y), 8, shuffle=True, seed=7), DataLoader((x, y), 8, shuffle=True, seed=7)
    epochs = [labels_in_order(first) for _ in range(3)]
    assert all(np.array_equal(a, labels_in_order(second)) for a in epochs)
    assert all(sorted(a) == list(range(50)) for a in epochs)
    assert not np.array_equal(epochs[0], epochs[1])  # a new order every pass
    assert not np.array_equal(epochs[0], labels_in_order(DataLoader((x, y), 8, shuffle=True, seed=8)))
    assert not np.array_equal(epochs[0], y)


def test_without_a_seed_shuffling_follows_manual_seed():
    x, y = dataset(50)
    tn.manual_seed(1)
    expected = labels_in_order(DataLoader((x, y), 8, shuffle=True))
    tn.manual_seed(1)
    assert np.array_equal(labels_in_order(DataLoader((x, y), 8, shuffle=True)), expected)


def test_a_seeded_loader_leaves_the_framework_generator_alone():
    x, y = dataset(50)
    tn.manual_seed(1)
    expected = tn.randn(3).numpy()
    tn.manual_seed(1)
    labels_in_order(DataLoader((x, y), 8, shuffle=True, seed=3))
    assert np.array_equal(tn.randn(3).numpy(), expected)


def test_the_order_is_drawn_when_the_pass_begins():
    x, y = dataset(50)
    tn.manual_seed(1)
    batches = iter(DataLoader((x, y), 8, shuffle=True))
    tn.manual_seed(2)  # after iter(): does not change this pass
    first = next(batches)[1].numpy()
    tn.manual_seed(1)
    np.testing.assert_array_equal(first, next(iter(DataLoader((x, y), 8, shuffle=True)))[1].numpy())


def test_drop_last_with_shuffle_drops_the_short_batch():
    x, y = dataset(10)
    loader = DataLoader((x, y), 4, shuffle=True, drop_last=True, seed=0)
    assert len(loader) == 2 and [b[1].shape[0] for b in loader] == [4, 4]
    assert len(set(labels_in_order(loader))) == 8


def test_rows_stay_together_and_batches_are_copies():
    x, y = dataset(20)
    for images, labels in DataLoader(TensorDataset(x, y), 6, shuffle=True, seed=0):
        np.testing.assert_array_equal(images.numpy(), x[labels.numpy()])
        images.data[:] = -1
    np.testing.assert_array_equal(x, dataset(20)[0])


def test_a_single_array_or_tensor_yields_tensors():
    x, _ = dataset(5)
    for data in (x, tn.tensor(x)):
        batches = list(DataLoader(data, 2))
        assert all(isinstance(b, tn.Tensor) for b in batches) and [b.shape[0] for b in batches] == [2, 2, 1]


def test_tensor_dataset():
    x, y = dataset(4)
    tensor = tn.tensor(x)
    data = TensorDataset(tensor, y, [[1], [2], [3], [4]])
    assert len(data) == 4 and data.tensors[0] is tensor and data.tensors[1].data is y  # no copies
    image, label, extra = data[2]
    np.testing.assert_array_equal(image.numpy(), x[2])
    assert label.item() == 2 and extra.tolist() == [3]
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(x, np.arange(3))
    with pytest.raises(ValueError, match="Size mismatch between tensors"):
        TensorDataset(x, np.float32(1))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size should be a positive integer value, but got batch_size=0"),
        ({"batch_size": -2}, ValueError, "positive integer"),
        ({"batch_size": 2.0}, ValueError, "positive integer"),
        ({"batch_size": True}, ValueError, "positive integer"),
        ({"batch_size": None}, ValueError, "positive integer"),
        ({"shuffle": 1}, ValueError, "shuffle should be a boolean value"),
        ({"drop_last": "yes"}, ValueError, "drop_last should be a boolean value, but got drop_last=yes"),
        ({"seed": 1.5}, TypeError, "seed must be an int or None"),
    ],
)
def test_argument_checks(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(dataset(4), **kwargs)


def test_dataset_checks():
    with pytest.raises(TypeError, match="takes a TensorDataset, a tuple of arrays or an array, got list"):
        DataLoader(list(dataset(4)))
    with pytest.raises(ValueError, match="num_samples should be a positive integer value, but got num_samples=0"):
        DataLoader(dataset(0), shuffle=True)
    assert list(DataLoader(dataset(0))) == [] and len(DataLoader(dataset(0))) == 0
