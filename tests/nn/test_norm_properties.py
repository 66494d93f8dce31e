"""Properties of the normalization layers without torch: random shapes and parameters against the composed
formula in numpy, float64 gradient checks, the pitfalls users hit elsewhere, and the kernel backends."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import Tensor, backend
from tinygrad_norm.nn import functional

# ---- the composed formulas, in float64 numpy -------------------------------------------------------------------


def normalized(x: np.ndarray, axes: tuple[int, ...], eps: float, center: bool = True) -> np.ndarray:
    """(x - E[x]) / sqrt(Var[x] + eps) over `axes` (biased variance); x / sqrt(E[x^2] + eps) without centering."""
    x = x.astype(np.float64)
    mean = x.mean(axis=axes, keepdims=True) if center else 0.0
    return (x - mean) / np.sqrt(((x - mean) ** 2).mean(axis=axes, keepdims=True) + eps)


def affine(y: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    if weight is not None:
        y = y * weight.reshape(shape)
    if bias is not None:
        y = y + bias.reshape(shape)
    return y


def channel_shape(ndim: int) -> tuple[int, ...]:
    """Broadcasts a per-channel vector against (N, C, *)."""
    return (1, -1) + (1,) * (ndim - 2)


# ---- strategies -----------------------------------------------------------------------------------------------

DTYPE_TOLERANCE = {np.dtype(np.float32): (1e-5, 1e-5), np.dtype(np.float64): (1e-11, 1e-11)}


@st.composite
def inputs(draw, shape: tuple[int, ...]):
    """x of `shape` (a random dtype, scale and offset; scale 0 gives constant rows) and a seeded rng."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 50.0]))
    x = (rng.standard_normal(shape) * scale + draw(st.floats(-10, 10))).astype(dtype)
    return x, rng


def params(rng: np.random.Generator, present: bool, count: int | tuple[int, ...], dtype) -> np.ndarray | None:
    return rng.standard_normal(count).astype(dtype) if present else None


def as_tensor(array: np.ndarray | None) -> Tensor | None:
    return None if array is None else Tensor(array)


def check(y: Tensor, expected: np.ndarray, dtype) -> None:
    rtol, atol = DTYPE_TOLERANCE[dtype]
    assert y.dtype == dtype
    assert np.isfinite(y.numpy()).all()
    np.testing.assert_allclose(y.numpy(), expected, rtol=rtol, atol=atol)


small = st.integers(1, 4)
eps_values = st.sampled_from([1e-5, 1e-3, 0.1])


@settings(max_examples=60, deadline=None)
@given(st.data(), small, small, st.lists(small, max_size=2), st.booleans(), st.booleans(), eps_values, st.floats(0, 1))
def test_batch_norm_is_the_composed_formula(data, n, c, spatial, has_weight, has_bias, eps, momentum):
    shape = (n + 1, c, *spatial)  # at least two values per channel
    x, rng = data.draw(inputs(shape))
    weight, bias = params(rng, has_weight, c, x.dtype), params(rng, has_bias, c, x.dtype)
    # running buffers in x's dtype, as every layer's state must be (torch's rule)
    running_mean, running_var = rng.standard_normal(c).astype(x.dtype), rng.uniform(0.5, 2, c).astype(x.dtype)
    buffers = Tensor(running_mean.copy()), Tensor(running_var.copy())
    rtol, atol = DTYPE_TOLERANCE[x.dtype]
    y = functional.batch_norm(Tensor(x), *buffers, as_tensor(weight), as_tensor(bias), True, momentum, eps)
    axes = (0, *range(2, x.ndim))
    check(y, affine(normalized(x, axes, eps), weight, bias, channel_shape(x.ndim)), x.dtype)
    count = math.prod(shape) // c
    x64 = x.astype(np.float64)
    batch_var = x64.var(axis=axes) * count / (count - 1)
    expected_mean = (1 - momentum) * running_mean + momentum * x64.mean(axis=axes)
    mean_atol = atol * (1 + np.abs(expected_mean).max())
    np.testing.assert_allclose(buffers[0].numpy(), expected_mean, rtol=rtol, atol=mean_atol)
    expected_var = (1 - momentum) * running_var + momentum * batch_var
    np.testing.assert_allclose(buffers[1].numpy(), expected_var, rtol=max(rtol, 1e-6))

    eval_y = functional.batch_norm(Tensor(x), *buffers, as_tensor(weight), as_tensor(bias), False, momentum, eps)
    mean, var = (b.numpy().reshape(channel_shape(x.ndim)) for b in buffers)
    check(eval_y, affine((x - mean) / np.sqrt(var + eps), weight, bias, channel_shape(x.ndim)), x.dtype)


@settings(max_examples=60, deadline=None)
@given(
    st.data(),
    st.lists(small, max_size=2),
    st.lists(small, min_size=1, max_size=2),
    st.booleans(),
    st.booleans(),
    eps_values,
)
def test_layer_norm_is_the_composed_formula(data, lead, normalized_shape, has_weight, has_bias, eps):
    x, rng = data.draw(inputs((*lead, *normalized_shape)))
    shape = tuple(normalized_shape)
    weight, bias = params(rng, has_weight, shape, x.dtype), params(rng, has_bias, shape, x.dtype)
    y = functional.layer_norm(Tensor(x), shape, as_tensor(weight), as_tensor(bias), eps)
    axes = tuple(range(len(lead), x.ndim))
    check(y, affine(normalized(x, axes, eps), weight, bias, shape), x.dtype)


@settings(max_examples=60, deadline=None)
@given(
    st.data(),
    st.lists(small, max_size=2),
    st.lists(small, min_size=1, max_size=2),
    st.booleans(),
    st.sampled_from([None, 1e-5, 0.1]),
)
def test_rms_norm_is_the_composed_formula(data, lead, normalized_shape, has_weight, eps):
    x, rng = data.draw(inputs((*lead, *normalized_shape)))
    shape = tuple(normalized_shape)
    weight = params(rng, has_weight, shape, x.dtype)
    y = functional.rms_norm(Tensor(x), shape, as_tensor(weight), eps)
    axes = tuple(range(len(lead), x.ndim))
    eps = np.finfo(x.dtype).eps if eps is None else eps
    check(y, affine(normalized(x, axes, eps, center=False), weight, None, shape), x.dtype)


@settings(max_examples=60, deadline=None)
@given(st.data(), small, small, small, st.lists(small, max_size=2), st.booleans(), st.booleans(), eps_values)
def test_group_norm_is_the_composed_formula(data, n, groups, per_group, spatial, has_weight, has_bias, eps):
    c = groups * per_group
    x, rng = data.draw(inputs((n, c, *spatial)))
    weight, bias = params(rng, has_weight, c, x.dtype), params(rng, has_bias, c, x.dtype)
    y = functional.group_norm(Tensor(x), groups, as_tensor(weight), as_tensor(bias), eps)
    grouped = normalized(x.reshape(n, groups, -1), (2,), eps).reshape(x.shape)
    check(y, affine(grouped, weight, bias, channel_shape(x.ndim)), x.dtype)


@settings(max_examples=60, deadline=None)
@given(st.data(), small, small, st.lists(small, min_size=1, max_size=2), st.booleans(), st.booleans(), eps_values)
def test_instance_norm_is_the_composed_formula(data, n, c, spatial, has_weight, has_bias, eps):
    shape = (n, c, spatial[0] + 1, *spatial[1:])  # at least two positions
    x, rng = data.draw(inputs(shape))
    weight, bias = params(rng, has_weight, c, x.dtype), params(rng, has_bias, c, x.dtype)
    y = functional.instance_norm(Tensor(x), None, None, as_tensor(weight), as_tensor(bias), eps=eps)
    check(y, affine(normalized(x, tuple(range(2, x.ndim)), eps), weight, bias, channel_shape(x.ndim)), x.dtype)


# ---- float64 first and second derivative checks of every layer -------------------------------------------------------

LAYERS = [
    (lambda: nn.BatchNorm1d(3), (5, 3)),
    (lambda: nn.BatchNorm1d(3, affine=False), (4, 3, 2)),
    (lambda: nn.BatchNorm2d(2), (3, 2, 2, 3)),
    (lambda: nn.InstanceNorm1d(3, affine=True), (2, 3, 4)),
    (lambda: nn.InstanceNorm2d(2, affine=True, track_running_stats=True), (3, 2, 2, 2)),
    (lambda: nn.InstanceNorm2d(2), (2, 3, 3)),
    (lambda: nn.LayerNorm((2, 3)), (4, 2, 3)),
    (lambda: nn.LayerNorm(4, bias=False), (3, 4)),
    (lambda: nn.RMSNorm(4), (3, 4)),
    (lambda: nn.RMSNorm((2, 2), eps=0.1, elementwise_affine=False), (3, 2, 2)),
    (lambda: nn.GroupNorm(2, 4), (2, 4, 3)),
    (lambda: nn.GroupNorm(3, 6), (3, 6)),  # two channels per group, one position: the smallest groups
]


def _randomized(layer: nn.Module) -> nn.Module:
    """A float64 layer with non-trivial affine parameters."""
    layer.double()
    rng = np.random.default_rng(7)
    for param in layer.parameters():
        param.data[...] = rng.uniform(0.5, 1.5, param.shape)
    return layer


def _ids(cases: list) -> list[str]:
    return [f"{make()!r} on {shape}" for make, shape in cases]


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize(("make", "shape"), LAYERS, ids=_ids(LAYERS))
def test_gradcheck_float64(make, shape, training):
    layer = _randomized(make()).train(training)
    x = Tensor(np.random.default_rng(0).standard_normal(shape) * 2 + 1, requires_grad=True)
    assert tn.gradcheck(lambda x, *params: layer(x), x, *layer.parameters())
    assert tn.gradgradcheck(lambda x, *params: layer(x), x, *layer.parameters())


# ---- pitfalls -----------------------------------------------------------------------------------------------------


def test_no_grad_does_not_switch_batch_norm_to_eval():
    layer = nn.BatchNorm1d(3)
    x = np.random.default_rng(0).standard_normal((8, 3)).astype(np.float32) * 4 + 2
    with tn.no_grad():
        y = layer(Tensor(x))
    np.testing.assert_allclose(y.numpy(), normalized(x, (0,), 1e-5), rtol=1e-5, atol=1e-5)  # batch statistics
    assert layer.num_batches_tracked.item() == 1
    np.testing.assert_allclose(layer.running_mean.numpy(), 0.1 * x.mean(axis=0), rtol=1e-5)


def test_eval_batch_norm_accepts_a_batch_of_one():
    layer = nn.BatchNorm1d(3)
    layer.running_mean.data[...] = [1.0, 2.0, 3.0]
    layer.running_var.data[...] = [4.0, 1.0, 0.25]
    x = Tensor(np.array([[3.0, 2.0, 3.5]], np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layer(x)
    layer.eval()
    y = layer(x)
    np.testing.assert_allclose(y.numpy(), [[2 / math.sqrt(4 + 1e-5), 0.0, 0.5 / math.sqrt(0.25 + 1e-5)]], rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1 / np.sqrt(layer.running_var.numpy() + 1e-5)], rtol=1e-6)


def test_batch_norm_without_running_stats_uses_batch_statistics_in_eval():
    layer = nn.BatchNorm2d(2, track_running_stats=False).eval()
    assert layer.running_mean is None and layer.running_var is None and layer.num_batches_tracked is None
    x = np.random.default_rng(1).standard_normal((3, 2, 2, 2)) * 3 - 1
    y = layer.double()(Tensor(x))
    np.testing.assert_allclose(y.numpy(), normalized(x, (0, 2, 3), 1e-5), rtol=1e-12)


def test_momentum_none_is_the_cumulative_average():
    layer = nn.BatchNorm1d(2, momentum=None).double()
    batches = [np.random.default_rng(seed).standard_normal((6, 2)) + seed for seed in range(3)]
    for batch in batches:
        layer(Tensor(batch))
    np.testing.assert_allclose(layer.running_mean.numpy(), np.mean([b.mean(axis=0) for b in batches], axis=0))
    np.testing.assert_allclose(layer.running_var.numpy(), np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0))
    assert layer.num_batches_tracked.item() == 3 and layer.num_batches_tracked.dtype == np.int64


def test_reset_running_stats_and_parameters():
    layer = nn.BatchNorm1d(2).double()
    layer(Tensor(np.random.default_rng(0).standard_normal((4, 2)) + 3))
    layer.weight.data[...] = 5
    layer.reset_parameters()
    np.testing.assert_array_equal(layer.running_mean.numpy(), 0)
    np.testing.assert_array_equal(layer.running_var.numpy(), 1)
    np.testing.assert_array_equal(layer.weight.numpy(), 1)
    assert layer.num_batches_tracked.item() == 0


def test_only_the_wanted_gradients_are_computed():
    layer = _randomized(nn.GroupNorm(2, 4))
    x = np.random.default_rng(2).standard_normal((3, 4, 5))
    upstream = Tensor(np.random.default_rng(3).standard_normal((3, 4, 5)))
    layer(Tensor(x, requires_grad=True)).backward(upstream)
    bias_grad = layer.bias.grad.numpy().copy()
    layer.zero_grad()
    layer.weight.requires_grad_(False)
    layer(Tensor(x)).backward(upstream)
    assert layer.weight.grad is None
    np.testing.assert_allclose(layer.bias.grad.numpy(), bias_grad, rtol=1e-12)


def test_a_float64_upstream_gradient_reaches_a_float32_layer_as_float32():
    layer = nn.LayerNorm(4)
    x = Tensor(np.random.default_rng(4).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    (layer(x) * Tensor(np.arange(12.0).reshape(3, 4))).sum().backward()  # the product is float64
    assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32
    assert np.abs(x.grad.numpy()).max() > 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x: functional.batch_norm(x, None, None), "running_mean and running_var"),
        (lambda x: functional.batch_norm(x, Tensor(np.zeros(3)), Tensor(np.ones(3)), training=True), "should hold 4"),
        (lambda x: functional.batch_norm(x, None, None, Tensor(np.ones(3)), training=True), "weight must hold 4"),
        (lambda x: functional.layer_norm(x, (3, 5)), r"shape \(\*, 3, 5\)"),
        (lambda x: functional.group_norm(x, 3), "cannot be split into 3 groups"),
    ],
)
def test_functional_errors_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call(Tensor(np.ones((2, 4, 5))))


# ---- every layer calls the kernels of the active backend ------------------------------------------------------

BACKEND_LAYERS = LAYERS + [
    (lambda: nn.BatchNorm2d(2).eval(), (3, 2, 2, 3)),
    (lambda: nn.InstanceNorm2d(2, track_running_stats=True).eval(), (3, 2, 2, 2)),
    (lambda: nn.Dropout(0.3), (6, 5)),
    (lambda: nn.Dropout2d(0.5), (4, 3, 2, 2)),
    (lambda: nn.AlphaDropout(0.2), (6, 5)),
]


def _run(make, shape, dtype) -> list[np.ndarray]:
    """Output, input gradient, parameter gradients and buffers after one forward and backward from a fixed seed."""
    tn.manual_seed(0)
    layer = _randomized(make()).to(dtype)
    x = Tensor((np.random.default_rng(0).standard_normal(shape) * 2 + 1).astype(dtype), requires_grad=True)
    y = layer(x)
    y.backward(Tensor(np.random.default_rng(1).standard_normal(shape).astype(dtype)))
    grads = [p.grad.numpy() for p in layer.parameters()]
    return [y.numpy(), x.grad.numpy(), *grads, *(b.numpy() for b in layer.buffers())]


KERNELS = (
    "row_norm_forward",
    "row_norm_backward",
    "channel_norm_forward",
    "channel_norm_apply",
    "channel_norm_backward",
    "dropout_forward",
    "dropout_backward",
    "dropout_mask",
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("make", "shape"), BACKEND_LAYERS, ids=_ids(BACKEND_LAYERS))
def test_layers_run_on_each_cpu_backend_with_the_same_results(make, shape, dtype, monkeypatch):
    results = {}
    for name in ("numpy", "numba"):
        with backend.use_backend(name):
            module, called = backend.kernels(), []
            for kernel in KERNELS:  # record the calls that reach this backend's module
                original = getattr(module, kernel)
                spy = lambda *args, _f=original, _k=kernel, _called=called: _called.append(_k) or _f(*args)  # noqa: E731
                monkeypatch.setattr(module, kernel, spy)
            results[name] = _run(make, shape, dtype)
            monkeypatch.undo()
        assert called, f"the layer called no kernel of the {name} backend"
    rtol = 1e-6 if dtype == np.float32 else 1e-12
    for numba_result, numpy_result in zip(results["numba"], results["numpy"], strict=True):
        np.testing.assert_allclose(numba_result, numpy_result, rtol=rtol, atol=rtol)
