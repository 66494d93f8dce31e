"""The 8×8 handwritten digits bundled with the package (`digits.npz`, 47 kB).

1,797 images of the digits 0–9 from 13 writers: the test set of UCI's "Optical Recognition of Handwritten
Digits" (E. Alpaydin and C. Kaynak, 1998, doi:10.24432/C50P49, CC BY 4.0), whose pixels count the set bits
of a 4×4 block of a 32×32 bitmap (0–16). The split is fixed in the file: 360 test images (35 to 37 per
class) and 1,437 training images, stratified by label. `digits.npz` was made from scikit-learn's copy with:

    x, y = sklearn.datasets.load_digits(return_X_y=True)
    split = sklearn.model_selection.train_test_split(
        x.astype(np.uint8).reshape(-1, 8, 8), y.astype(np.uint8), test_size=360, stratify=y, random_state=0)
    np.savez_compressed("digits.npz", **dict(zip(
        ["train_images", "test_images", "train_labels", "test_labels"], split)))
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

PIXEL_MAX = 16  # a pixel counts the set bits of a 4×4 block


def load_digits(train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The training (1,437) or test (360) digits as `(images, labels)`.

    images: float32 (n, 1, 8, 8) in [0, 1] (the 0–16 counts divided by 16): one channel, ready for a CNN;
    an MLP flattens them (`nn.Flatten()` or `images.reshape(n, 64)`). labels: int64 (n,) in 0..9.
    To standardize, use `normalize(images, *MEAN_STD["digits"])` (statistics of the training images).
    """
    split = "train" if train else "test"
    with np.load(Path(__file__).with_name("digits.npz")) as archive:
        images, labels = archive[f"{split}_images"], archive[f"{split}_labels"]
    pixels = images.astype(np.float32)
    pixels /= PIXEL_MAX
    return pixels[:, None], labels.astype(np.int64)
