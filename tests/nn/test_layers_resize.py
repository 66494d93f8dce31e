"""Padding (F.pad's four modes, negative widths, the padding layers), interpolate/Upsample, PixelShuffle,
LocalResponseNorm, the 3-D norms and the 1-D/3-D channel dropouts against torch (output, input gradient and every
parameter gradient and buffer, float32 and float64), with float64 gradchecks and second-order checks."""

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import gradcheck, gradgradcheck
from tinygrad_norm.nn import functional

torch = pytest.importorskip("torch")

from .torch_helpers import check_layer_matches_torch, compare_forward_backward  # noqa: E402

TOLERANCE = {np.float32: (1e-5, 1e-6), np.float64: (1e-10, 1e-13)}

# (id, builder taking a namespace (tinygrad_norm.nn or torch.nn) and a tensor constructor, input shape)
LAYERS = [
    ("zero-pad2d", lambda nn, t: nn.ZeroPad2d((1, 2, 0, 3)), (2, 3, 4, 5)),
    ("zero-pad2d-negative", lambda nn, t: nn.ZeroPad2d((-1, 2, 1, -2)), (2, 3, 4, 5)),
    ("constant-pad1d", lambda nn, t: nn.ConstantPad1d(2, 3.5), (2, 3, 4)),
    ("constant-pad3d", lambda nn, t: nn.ConstantPad3d((1, 0, 0, 2, 1, 1), -1.0), (2, 2, 3, 4)),
    ("reflection-pad1d", lambda nn, t: nn.ReflectionPad1d((3, 1)), (2, 3, 4)),
    ("reflection-pad2d", lambda nn, t: nn.ReflectionPad2d((1, 2, 3, 0)), (1, 2, 4, 5)),
    ("reflection-pad3d", lambda nn, t: nn.ReflectionPad3d(1), (2, 2, 3, 3, 4)),
    ("replication-pad1d", lambda nn, t: nn.ReplicationPad1d((4, 1)), (2, 3, 3)),
    ("replication-pad2d-unbatched", lambda nn, t: nn.ReplicationPad2d((2, 0, 1, 3)), (2, 3, 4)),
    ("replication-pad3d", lambda nn, t: nn.ReplicationPad3d((1, 2, 0, 1, 2, 0)), (1, 2, 2, 3, 3)),
    ("circular-pad1d", lambda nn, t: nn.CircularPad1d((2, 3)), (2, 3, 4)),
    ("circular-pad2d-negative", lambda nn, t: nn.CircularPad2d((-1, 2, 1, -1)), (1, 2, 4, 5)),
    ("circular-pad3d", lambda nn, t: nn.CircularPad3d(1), (2, 1, 2, 3, 3)),
    ("upsample-nearest-2x", lambda nn, t: nn.Upsample(scale_factor=2), (2, 3, 3, 4)),
    ("upsample-nearest-size", lambda nn, t: nn.Upsample(size=(5, 7)), (2, 3, 3, 4)),
    ("upsample-nearest-1d-down", lambda nn, t: nn.Upsample(size=3, mode="nearest"), (2, 3, 7)),
    ("upsample-nearest-3d", lambda nn, t: nn.Upsample(scale_factor=(1.5, 2, 0.5)), (1, 2, 3, 2, 5)),
    ("upsample-nearest-exact", lambda nn, t: nn.Upsample(size=(5, 3), mode="nearest-exact"), (2, 2, 3, 7)),
    ("upsample-linear", lambda nn, t: nn.Upsample(scale_factor=2.5, mode="linear"), (2, 3, 4)),
    ("upsample-bilinear", lambda nn, t: nn.Upsample(scale_factor=2, mode="bilinear"), (2, 3, 3, 4)),
    ("upsample-bilinear-down", lambda nn, t: nn.Upsample(size=(2, 3), mode="bilinear"), (2, 3, 5, 7)),
    ("upsample-bilinear-corners", lambda nn, t: nn.Upsample((5, 6), mode="bilinear", align_corners=True), (1, 2, 3, 4)),
    ("upsampling-bilinear2d", lambda nn, t: nn.UpsamplingBilinear2d(scale_factor=3), (1, 2, 2, 3)),
    ("upsampling-nearest2d", lambda nn, t: nn.UpsamplingNearest2d(size=(3, 5)), (1, 2, 2, 3)),
    ("upsample-bicubic", lambda nn, t: nn.Upsample(scale_factor=2, mode="bicubic"), (1, 2, 3, 4)),
    ("upsample-trilinear", lambda nn, t: nn.Upsample(size=(3, 4, 2), mode="trilinear"), (1, 2, 2, 3, 4)),
    ("pixel-shuffle", lambda nn, t: nn.PixelShuffle(2), (2, 8, 3, 4)),
    ("pixel-shuffle-3d", lambda nn, t: nn.PixelShuffle(3), (9, 2, 3)),
    ("pixel-unshuffle", lambda nn, t: nn.PixelUnshuffle(2), (2, 2, 4, 6)),
    ("local-response-norm", lambda nn, t: nn.LocalResponseNorm(3), (2, 5, 4, 3)),
    ("local-response-norm-even", lambda nn, t: nn.LocalResponseNorm(4, alpha=0.1, beta=0.5, k=2.0), (2, 6, 5)),
    ("local-response-norm-5d", lambda nn, t: nn.LocalResponseNorm(2, alpha=1.0), (1, 3, 2, 3, 2)),
    ("batch-norm3d", lambda nn, t: nn.BatchNorm3d(3), (2, 3, 2, 4, 3)),
    ("batch-norm3d-no-affine", lambda nn, t: nn.BatchNorm3d(2, affine=False, momentum=None), (3, 2, 2, 2, 3)),
    ("instance-norm3d", lambda nn, t: nn.InstanceNorm3d(3, affine=True), (2, 3, 2, 4, 3)),
    ("instance-norm3d-stats", lambda nn, t: nn.InstanceNorm3d(2, track_running_stats=True), (2, 2, 3, 2, 3)),
    ("instance-norm3d-unbatched", lambda nn, t: nn.InstanceNorm3d(2), (2, 3, 2, 3)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("builder, shape", [case[1:] for case in LAYERS], ids=[case[0] for case in LAYERS])
def test_layer_matches_torch(builder, shape, dtype):
    check_layer_matches_torch(builder, shape, dtype, *TOLERANCE[dtype])


def test_norms_3d_in_eval_mode_match_torch():
    for make in (lambda nn: nn.BatchNorm3d(3), lambda nn: nn.InstanceNorm3d(3, track_running_stats=True)):
        ours, theirs = make(nn).double(), make(torch.nn).double()
        x = np.random.default_rng(2).standard_normal((2, 3, 2, 3, 4)) * 3 + 1
        compare_forward_backward(ours, theirs, x)  # training: updates the running statistics
        ours.eval(), theirs.eval()
        compare_forward_backward(ours, theirs, x + 0.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pad": (2, 1), "mode": "constant", "value": 0.5},
        {"pad": (0, 0, -1, -2)},
        {"pad": (1, 2, 2, 1, 1, 0, 1, 1)},  # constant mode pads any number of axes
        {"pad": (2, 1, 1, 2), "mode": "reflect"},
        {"pad": (-1, 2, 2, -1), "mode": "reflect"},
        {"pad": (3, 1, 0, 4), "mode": "replicate"},
        {"pad": (-2, 1, 0, 0), "mode": "replicate"},
        {"pad": (-2, -3, 0, 0), "mode": "replicate"},  # an empty axis
        {"pad": (2, 3, 1, 0), "mode": "circular"},
        {"pad": (-1, 2, 1, 1, 1, -1), "mode": "circular"},
    ],
)
def test_functional_pad_matches_torch(kwargs):
    x = np.random.default_rng(3).standard_normal((2, 3, 4, 5))
    compare_forward_backward(lambda x: functional.pad(x, **kwargs), lambda x: torch.nn.functional.pad(x, **kwargs), x)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"scale_factor": 1.7, "mode": "nearest"},
        {"scale_factor": 0.6, "mode": "nearest-exact"},
        {"size": (4, 9), "mode": "bilinear"},
        {"scale_factor": (0.7, 1.6), "mode": "bilinear", "recompute_scale_factor": True},
        {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
        {"size": (6, 2), "mode": "bicubic", "align_corners": True},
        {"size": (3, 2), "mode": "area"},
        {"size": (5, 5), "mode": "bilinear"},
    ],
)
def test_interpolate_matches_torch(kwargs):
    x = np.random.default_rng(4).standard_normal((2, 3, 5, 5))
    compare_forward_backward(
        lambda x: functional.interpolate(x, **kwargs), lambda x: torch.nn.functional.interpolate(x, **kwargs), x
    )


@pytest.mark.parametrize(
    "shape, scale_factor", [((2, 3, 2), 1.3), ((1, 2, 3), 2.3), ((1, 1, 3, 3, 2), 1.3), ((1, 2, 3, 2), 2.3)]
)
def test_interpolate_nearest_at_sizes_n_and_2n_follows_the_scale_factor_as_torch(shape, scale_factor):
    """torch's 2-D kernel reads position i (or i // 2) when the output has n (2n) elements whatever the scale factor,
    the 1-D and 3-D ones follow the scale factor. (Only values: torch's 1-D and 3-D backward take the shortcut and so
    disagree with their own forward; ours is the gradient of the forward.)"""
    x = np.random.default_rng(5).standard_normal(shape)
    ours = functional.interpolate(tn.tensor(x), scale_factor=scale_factor)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=scale_factor)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_interpolate_nearest_on_integers_matches_torch():
    x = np.arange(12, dtype=np.uint8).reshape(1, 1, 3, 4)
    ours = functional.interpolate(tn.tensor(x), scale_factor=2)
    theirs = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    with pytest.raises(RuntimeError, match="floating point"):
        functional.interpolate(tn.tensor(x), scale_factor=2, mode="bilinear")


def _leaf(*shape, seed=0):
    return tn.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda x: functional.pad(x, (1, -1, 2, 1), mode="reflect"), (1, 2, 3, 4)),
        (lambda x: functional.pad(x, (2, 1), mode="circular"), (2, 2, 3)),
        (lambda x: functional.pad(x, (2, 0, 1, 1), mode="replicate"), (1, 2, 3, 2)),
        (lambda x: functional.interpolate(x, scale_factor=1.5, mode="bilinear"), (1, 2, 3, 3)),
        (lambda x: functional.interpolate(x, size=(4, 3), mode="bicubic"), (1, 1, 3, 2)),
        (lambda x: functional.interpolate(x, size=(3, 5), mode="nearest"), (1, 2, 2, 3)),
        (lambda x: functional.pixel_shuffle(x, 2), (1, 4, 2, 3)),
    ],
)
def test_linear_layer_gradcheck(fn, shape):
    assert gradcheck(fn, _leaf(*shape))
    assert gradgradcheck(lambda x: fn(x) ** 2, _leaf(*shape))  # squared: these layers are linear


def test_local_response_norm_gradcheck():
    fn = lambda x: functional.local_response_norm(x, 3, alpha=0.5, beta=0.75, k=1.5)  # noqa: E731
    assert gradcheck(fn, _leaf(2, 4, 3))
    assert gradgradcheck(fn, _leaf(2, 4, 3))


@pytest.mark.parametrize("name, shape", [("dropout1d", (4, 6, 50)), ("dropout3d", (4, 6, 2, 5, 5))])
def test_channel_dropout_drops_whole_channels_and_scales_the_rest(name, shape):
    tn.manual_seed(0)
    x = tn.ones(*shape, dtype=tn.float64)
    y = getattr(functional, name)(x, p=0.25).numpy().reshape(shape[0] * shape[1], -1)
    per_channel = np.unique(y, axis=1)
    assert per_channel.shape[1] == 1 and set(np.unique(per_channel)) <= {0.0, 1 / 0.75}
    assert 0 < (per_channel == 0).sum() < len(per_channel)
    module = getattr(nn, name.capitalize())(0.25).eval()
    assert module(x) is x
    unbatched = getattr(functional, name)(x[0], p=0.5).numpy().reshape(shape[1], -1)
    assert np.unique(unbatched, axis=1).shape[1] == 1


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x: functional.pad(x, (1,)), ValueError, "divisible by 2"),
        (lambda x: functional.pad(x, (4, 0), mode="reflect"), ValueError, "reflect"),
        (lambda x: functional.pad(x, (1, 1), mode="reflect", value=1.0), ValueError, "value"),
        (lambda x: functional.pad(x, (1, 1), mode="wrap"), ValueError, "mode"),
        (lambda x: functional.pad(x, (5, 0), mode="circular"), ValueError, "circular"),
        (lambda x: functional.pad(x, (-5, 0)), ValueError, "negative size"),
        (lambda x: functional.pad(x, (-3, -2), mode="replicate"), ValueError, "negative size"),
        (lambda x: functional.interpolate(x, scale_factor=0.2), ValueError, "greater than 0"),
        (lambda x: functional.interpolate(x, size=3, scale_factor=2), ValueError, "only one"),
        (lambda x: functional.interpolate(x, size=3, mode="bilinear"), ValueError, "bilinear"),
        (lambda x: functional.interpolate(x, size=3, align_corners=True), ValueError, "align_corners"),
        (lambda x: functional.pixel_shuffle(x.reshape(1, 3, 2, 2), 2), ValueError, "divisible"),
        (lambda x: functional.dropout3d(x, 0.5), ValueError, "dropout3d"),
        (lambda x: functional.local_response_norm(x.reshape(3, 4), 2), ValueError, "3D"),
    ],
)
def test_bad_calls_name_the_problem(call, error, words):
    with pytest.raises(error, match=words):
        call(tn.ones(1, 3, 4))
