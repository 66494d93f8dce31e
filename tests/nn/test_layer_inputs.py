"""What layers do with awkward input and arguments, against torch: empty training batches, one dtype rule for
every layer, and constructor and functional arguments that torch refuses."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm.nn import functional

torch = pytest.importorskip("torch")

from .torch_helpers import copy_params_from_torch  # noqa: E402

# ---- an empty training batch ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "shape"),
    [("BatchNorm1d", (0, 3)), ("BatchNorm1d", (0, 3, 4)), ("BatchNorm2d", (0, 3, 2, 2)), ("BatchNorm2d", (2, 3, 0, 2))],
)
def test_an_empty_batch_leaves_batch_norm_running_statistics_as_torch_does(layer, shape):
    ours, theirs = getattr(nn, layer)(3), getattr(torch.nn, layer)(3)
    rng = np.random.default_rng(0)
    full = (4, 3, *(2 for _ in shape[2:]))
    batches = [rng.standard_normal(full), np.zeros(shape), rng.standard_normal(full) + 1]
    for batch in (b.astype(np.float32) for b in batches):
        assert ours(tn.tensor(batch)).shape == batch.shape
        theirs(torch.tensor(batch))
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours, name).numpy(), getattr(theirs, name).numpy(), rtol=1e-6, err_msg=name)
    ours.eval(), theirs.eval()
    probe = rng.standard_normal(full).astype(np.float32)
    # outputs near 0 come from x - running_mean cancelling: their error is measured against the inputs' scale (1)
    expected = theirs(torch.tensor(probe)).detach().numpy()
    np.testing.assert_allclose(ours(tn.tensor(probe)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_an_empty_batch_gives_empty_gradients_and_zero_parameter_gradients():
    layer = nn.BatchNorm1d(3)
    x = tn.zeros(0, 3, requires_grad=True)
    layer(x).sum().backward()
    assert x.grad.shape == (0, 3) and layer.weight.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize(("layer", "shape"), [("InstanceNorm1d", (0, 3, 4)), ("InstanceNorm1d", (2, 3, 0))])
def test_an_empty_batch_leaves_tracked_instance_norm_statistics_unchanged(layer, shape):
    """torch 2.13 writes NaN into the running statistics here; we keep them, as for BatchNorm."""
    ours = getattr(nn, layer)(3, track_running_stats=True)
    ours(tn.randn(2, 3, 4))
    before = ours.running_mean.numpy().copy(), ours.running_var.numpy().copy()
    assert ours(tn.zeros(shape)).shape == shape
    np.testing.assert_array_equal(ours.running_mean.numpy(), before[0])
    np.testing.assert_array_equal(ours.running_var.numpy(), before[1])
    assert np.isfinite(ours.eval()(tn.randn(2, 3, 4)).numpy()).all()


# ---- one dtype rule for every layer ------------------------------------------------------------------------------

LAYERS_WITH_STATE = {
    "Linear": (lambda nn: nn.Linear(4, 2), (2, 4)),
    "Conv2d": (lambda nn: nn.Conv2d(2, 3, 3), (1, 2, 4, 4)),
    "LayerNorm": (lambda nn: nn.LayerNorm(4), (2, 4)),
    "LayerNorm-bias-only-off": (lambda nn: nn.LayerNorm(4, bias=False), (2, 4)),
    "GroupNorm": (lambda nn: nn.GroupNorm(2, 4), (2, 4, 3)),
    "BatchNorm1d": (lambda nn: nn.BatchNorm1d(4), (3, 4)),
    "BatchNorm1d-running-stats-only": (lambda nn: nn.BatchNorm1d(4, affine=False), (3, 4)),
    "BatchNorm2d-eval": (lambda nn: nn.BatchNorm2d(4).eval(), (2, 4, 2, 2)),
    "InstanceNorm1d-affine": (lambda nn: nn.InstanceNorm1d(4, affine=True), (2, 4, 3)),
}


@pytest.mark.parametrize("dtype", [np.float64, np.int64, np.bool_])
@pytest.mark.parametrize("make", [m for m, _ in LAYERS_WITH_STATE.values()], ids=LAYERS_WITH_STATE.keys())
def test_an_input_of_another_dtype_than_the_layer_raises_as_in_torch(make, dtype):
    shape = next(s for m, s in LAYERS_WITH_STATE.values() if m is make)
    x = np.ones(shape, dtype)
    with pytest.raises(RuntimeError, match=f"dtype {np.dtype(dtype)}"):
        make(nn)(tn.tensor(x))
    with pytest.raises((RuntimeError, NotImplementedError)):
        make(torch.nn)(torch.tensor(x))


@pytest.mark.parametrize("make", [m for m, _ in LAYERS_WITH_STATE.values()], ids=LAYERS_WITH_STATE.keys())
def test_a_layer_cast_to_the_input_dtype_runs(make):
    shape = next(s for m, s in LAYERS_WITH_STATE.values() if m is make)
    layer = make(nn).double()
    assert layer(tn.ones(shape, dtype=tn.float64)).dtype == np.float64


def test_rms_norm_follows_the_same_rule():
    """torch warns and promotes here; one rule for every layer means RMSNorm raises too."""
    with pytest.raises(RuntimeError, match="float64"):
        nn.RMSNorm(4)(tn.ones(2, 4, dtype=tn.float64))


@pytest.mark.parametrize(
    "make",
    [lambda nn: nn.InstanceNorm1d(3), lambda nn: nn.LayerNorm(4, elementwise_affine=False), lambda nn: nn.Dropout()],
)
def test_layers_without_floating_state_take_any_floating_input(make):
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    ours, theirs = make(nn).eval(), make(torch.nn).eval()
    np.testing.assert_allclose(ours(tn.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-10, atol=1e-12)


def test_a_norm_needs_a_floating_input_even_without_parameters():
    with pytest.raises(RuntimeError, match="floating point input"):
        functional.layer_norm(tn.tensor([[1, 2, 3]]), (3,))


def test_functional_forms_follow_the_rule():
    x = tn.ones(2, 4, dtype=tn.float64)
    for call in (
        lambda: functional.linear(x, tn.ones(2, 4)),
        lambda: functional.layer_norm(x, 4, tn.ones(4)),
        lambda: functional.batch_norm(x, tn.zeros(4), tn.ones(4)),
        lambda: functional.group_norm(x.reshape(2, 4, 1), 2, tn.ones(4)),
    ):
        with pytest.raises(RuntimeError, match="same dtype"):
            call()


# ---- constructor and functional arguments ----------------------------------------------------------------------


@pytest.mark.parametrize("normalized_shape", [4.5, "12", True, (2, "3"), (2.0,), None], ids=repr)
@pytest.mark.parametrize("layer", ["LayerNorm", "RMSNorm"])
def test_normalized_shape_must_be_ints_as_in_torch(layer, normalized_shape):
    with pytest.raises(TypeError, match="normalized_shape"):
        getattr(nn, layer)(normalized_shape)
    with pytest.raises(TypeError):
        getattr(torch.nn, layer)(normalized_shape)


def test_normalized_shape_takes_an_int_a_sequence_or_a_size():
    assert nn.LayerNorm(4).normalized_shape == (4,)
    assert nn.LayerNorm([2, np.int64(3)]).normalized_shape == (2, 3)
    assert nn.LayerNorm(torch.Size([2, 3])).normalized_shape == (2, 3)
    with pytest.raises(ValueError, match="at least 0"):
        nn.LayerNorm(-1)


@pytest.mark.parametrize("eps", [0.0, -1e-5])
@pytest.mark.parametrize("layer", ["BatchNorm1d", "BatchNorm2d"])
def test_batch_norm_needs_a_positive_eps_in_training_as_torch(layer, eps):
    shape = (4, 3) if layer == "BatchNorm1d" else (4, 3, 2, 2)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    with pytest.raises(ValueError, match="batch_norm eps must be positive during training"):
        getattr(nn, layer)(3, eps=eps)(tn.tensor(x))
    with pytest.raises(ValueError, match="batch_norm eps must be positive during training"):
        getattr(torch.nn, layer)(3, eps=eps)(torch.tensor(x))


def test_batch_norm_eval_takes_eps_zero_but_not_a_negative_eps_as_torch():
    ours, theirs = nn.BatchNorm1d(3, eps=0.0).eval(), torch.nn.BatchNorm1d(3, eps=0.0).eval()
    copy_params_from_torch(ours, theirs)
    x = np.ones((2, 3), np.float32)
    np.testing.assert_allclose(ours(tn.tensor(x)).numpy(), theirs(torch.tensor(x)).detach().numpy())
    with pytest.raises(ValueError, match="eps must be non-negative"):
        functional.batch_norm(tn.tensor(x), tn.zeros(3), tn.ones(3), eps=-1.0)


@pytest.mark.parametrize("p", ["0.5", None, [0.5]], ids=repr)
@pytest.mark.parametrize("layer", ["Dropout", "Dropout2d", "AlphaDropout"])
def test_dropout_probability_must_be_a_number_as_in_torch(layer, p):
    with pytest.raises(TypeError, match="dropout probability must be a number"):
        getattr(nn, layer)(p)
    with pytest.raises(TypeError):
        getattr(torch.nn, layer)(p)
    with pytest.raises(TypeError, match="dropout probability must be a number"):
        functional.dropout(tn.ones(2), p)


@pytest.mark.parametrize("p", [1.5, -0.1, float("nan")])
def test_dropout_probability_must_lie_in_the_unit_interval(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
