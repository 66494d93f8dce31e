"""MNIST and Fashion-MNIST from their IDX files: `load_mnist(root, kind, train, download)`.

The four files of a kind live in `root/<kind>/` (`root/mnist/`, `root/fashion-mnist/`: both sets use the
same file names), raw or `.gz`. `download=True` fetches the missing ones (as `.gz`) from the mirrors in
`MIRRORS[kind]`, in order, and keeps a file only if its SHA-256 matches `SHA256[kind]`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .download import fetch
from .idx import read_idx

FILES = {  # train -> (images, labels)
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

# MNIST: the mirrors torchvision uses. Fashion-MNIST: Zalando's bucket, then the copy in its GitHub repository.
MIRRORS: dict[str, list[str]] = {
    "mnist": ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
    "fashion-mnist": [
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ],
}

# SHA-256 of the .gz files, from tensorflow/datasets' tensorflow_datasets/url_checksums/mnist.txt and
# fashion_mnist.txt (which also give the sizes: MNIST 9912422, 28881, 1648877, 4542 bytes; Fashion-MNIST
# 26421880, 29515, 4422102, 5148).
SHA256: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
}

CLASSES = 10


def load_mnist(
    root: str | os.PathLike, kind: str = "mnist", train: bool = True, download: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The training (60,000) or test (10,000) set of `kind` ("mnist" or "fashion-mnist") as `(images, labels)`.

    images: float32 (n, 1, 28, 28) in [0, 1] (bytes divided by 255); labels: int64 (n,) in 0..9 (the same
    conventions as `load_digits`). Files missing from `root/<kind>/` (and not downloadable) raise
    FileNotFoundError saying which files to put where; a malformed file raises ValueError naming it.
    """
    if kind not in MIRRORS:
        raise ValueError(f"load_mnist: kind must be one of {sorted(MIRRORS)}, got {kind!r}")
    folder = Path(root) / kind
    names = FILES[bool(train)]
    paths = {name: _local(folder, name) for name in names}
    missing = [name for name, path in paths.items() if path is None]
    failures = []
    if missing and download:
        folder.mkdir(parents=True, exist_ok=True)
        for name in missing:
            gz = f"{name}.gz"
            try:
                fetch([mirror + gz for mirror in MIRRORS[kind]], folder / gz, SHA256[kind][gz])
                paths[name] = folder / gz
            except OSError as error:  # every mirror failed: the next file would most likely fail the same way
                failures.append(str(error))
                break
    still_missing = [name for name, path in paths.items() if path is None]
    if still_missing:
        hint = "download failed: " + "; ".join(failures) if failures else "or pass download=True"
        raise FileNotFoundError(f"load_mnist: put {' and '.join(still_missing)} (raw or .gz) in {folder}/ ({hint})")
    images_path, labels_path = (paths[name] for name in names)
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"{images_path}: expected (n, rows, columns) uint8 images, got {images.dtype} {images.shape}")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise ValueError(f"{labels_path}: expected (n,) uint8 labels, got {labels.dtype} {labels.shape}")
    if len(images) != len(labels):
        raise ValueError(f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} labels")
    if labels.size and labels.max() >= CLASSES:
        raise ValueError(f"{labels_path}: label {labels.max()} outside 0..{CLASSES - 1}")
    pixels = images.astype(np.float32)
    pixels /= 255
    return pixels[:, None], labels.astype(np.int64)


def _local(folder: Path, name: str) -> Path | None:
    """The raw file if present, else the .gz one, else None."""
    return next((path for path in (folder / name, folder / f"{name}.gz") if path.is_file()), None)
