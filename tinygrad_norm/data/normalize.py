"""Input standardization as an explicit step: `normalize(images, *MEAN_STD[name])`.

The loaders return pixels in [0, 1] and never standardize behind your back. Standardizing once, on the
whole array before batching, costs one pass and nothing per batch.
"""

from __future__ import annotations

import numpy as np

# Mean and standard deviation of all training pixels in [0, 1]. Digits: computed from `digits.npz`'s training
# split (a test checks them). MNIST and Fashion-MNIST: the figures usually quoted for their 60,000 training
# images (MNIST's are the ones PyTorch's MNIST example uses).
MEAN_STD: dict[str, tuple[float, float]] = {
    "digits": (0.3054, 0.3761),
    "mnist": (0.1307, 0.3081),
    "fashion-mnist": (0.2860, 0.3530),
}


def normalize(images: np.ndarray, mean: float, std: float) -> np.ndarray:
    """`(images - mean) / std` as a new array: float images keep their dtype, integer images become float32."""
    if not std > 0:
        raise ValueError(f"normalize: std must be positive, got {std}")
    dtype = images.dtype if np.issubdtype(images.dtype, np.floating) else np.dtype(np.float32)
    return (images.astype(dtype) - dtype.type(mean)) / dtype.type(std)
