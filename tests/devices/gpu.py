"""The mark of tests that need CUDA tensors: skipped, with the reason, where they cannot be used."""

import pytest

from tinygrad_norm import cuda

requires_cuda = pytest.mark.skipif(
    not cuda.is_available(), reason=f"CUDA tensors are not available here: {cuda.unavailable_reason()}"
)
