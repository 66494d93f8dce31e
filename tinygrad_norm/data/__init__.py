"""Data for training: the bundled 8×8 digits, MNIST and Fashion-MNIST from IDX files, and batching.

Every loader returns `(images, labels)`: float32 images (n, 1, H, W) in [0, 1] and int64 labels (n,).
Standardizing is a separate, explicit step: `normalize(images, *MEAN_STD["digits"])`.

    train = DataLoader(load_digits(train=True), batch_size=64, shuffle=True)
    for images, labels in train: ...
"""

from .digits import load_digits
from .idx import read_idx
from .loader import DataLoader, TensorDataset
from .mnist import load_mnist
from .normalize import MEAN_STD, normalize

__all__ = ["MEAN_STD", "DataLoader", "TensorDataset", "load_digits", "load_mnist", "normalize", "read_idx"]
