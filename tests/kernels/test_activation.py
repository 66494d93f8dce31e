"""ReLU kernels: Numba (cpu) against the reference, bit for bit, on special values and awkward layouts; both
against torch's relu and its backward (zero where x <= 0, even for an infinite or nan gradient); the checks."""

import numpy as np
import pytest
from tinygrad_norm.kernels import cpu, reference

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 3.5, -2.0]


def inputs(shape, dtype, layout, seed=0):
    """x (normal values with the special ones spread in) and dy (with nan and inf too), in the layout."""
    rng = np.random.default_rng(seed)
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    if x.size:
        x.reshape(-1)[rng.integers(0, x.size, len(SPECIAL) * 3)] = SPECIAL * 3
        dy.reshape(-1)[rng.integers(0, x.size, 4)] = [np.nan, np.inf, -np.inf, np.nan]
    x, dy = x.astype(dtype), dy.astype(dtype)
    if layout == "transposed":
        return x.T, dy.T
    if layout == "strided":
        return x[..., ::2], dy[..., ::2]
    return x, dy


def run(module, x, dy):
    y = np.empty(x.shape, x.dtype)
    module.relu_forward(x, y)
    dx = np.empty(x.shape, x.dtype)
    module.relu_backward(dy, y, dx)
    return y, dx


SHAPES = [((64, 16, 28, 28), "contiguous"), ((7, 13), "contiguous"), ((1,), "contiguous"), ((0, 5), "contiguous"),
          ((), "contiguous"), ((7, 13), "transposed"), ((5, 3, 8), "strided"), ((64, 16, 28, 28), "strided")]


@pytest.mark.parametrize("shape, layout", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cpu_relu_matches_reference_bit_for_bit(dtype, shape, layout):
    x, dy = inputs(shape, dtype, layout)
    for got, expected in zip(run(cpu, x, dy), run(reference, x, dy)):
        assert got.dtype == expected.dtype
        bits = lambda a: a.reshape(-1).view(np.uint8)  # noqa: E731  (nan payloads and -0.0 too)
        np.testing.assert_array_equal(bits(got), bits(expected))


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_relu_matches_torch(module):
    torch = pytest.importorskip("torch")
    x, dy = inputs((40, 30), np.float64, "contiguous")
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.relu(xt)
    yt.backward(torch.tensor(dy))
    y, dx = run(module, x, dy)
    np.testing.assert_array_equal(y, yt.detach().numpy())  # equal as values: torch keeps -0.0, max(x, 0) gives 0.0
    np.testing.assert_array_equal(dx, xt.grad.numpy())
    assert np.isfinite(dx[x <= 0]).all()


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_relu_of_integers(module):
    x = np.array([[-3, 0, 5], [7, -1, 2]], np.int64)
    y, dx = run(module, x, np.full(x.shape, 4, np.int64))
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(dx, np.where(x > 0, 4, 0))


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_relu_checks_its_arguments(module):
    x = np.ones((3, 4), np.float32)
    with pytest.raises(TypeError, match="x must be an integer or float array"):
        module.relu_forward(x.astype(np.complex64), np.empty((3, 4), np.complex64))
    with pytest.raises(TypeError, match="y must have dtype float32"):
        module.relu_forward(x, np.empty((3, 4), np.float64))
    with pytest.raises(ValueError, match="y must have shape"):
        module.relu_forward(x, np.empty((4, 3), np.float32))
    with pytest.raises(ValueError, match="y is an output and must be C-contiguous"):
        module.relu_forward(x, np.empty((4, 3), np.float32).T)
    with pytest.raises(TypeError, match="dy must be an integer or float array"):
        module.relu_backward([1.0], x, np.empty_like(x))
    with pytest.raises(ValueError, match="y must have shape"):
        module.relu_backward(x, x[:2], np.empty_like(x))
    with pytest.raises(TypeError, match="dx must have dtype float32"):
        module.relu_backward(x, x, np.empty((3, 4)))
