"""Convolutions (1-D, 3-D, transposed), pooling (1-D, 3-D, ceil_mode, return_indices, adaptive) and unpooling
against torch (same weights: output, input gradient and every parameter gradient, float32 and float64), with
float64 gradchecks and second-order checks of the ops behind them."""

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import gradcheck, gradgradcheck
from tinygrad_norm.nn import functional

torch = pytest.importorskip("torch")

from .torch_helpers import assert_close, build_pair, check_layer_matches_torch, compare_forward_backward  # noqa: E402

# as test_layers_basic: a few ulps relative plus a small absolute term for sums of a few dozen products
TOLERANCE = {np.float32: (1e-5, 1e-6), np.float64: (1e-10, 1e-13)}

# (id, builder taking a namespace (tinygrad_norm.nn or torch.nn), input shape)
LAYERS = [
    ("conv1d", lambda nn, t: nn.Conv1d(3, 4, 3), (2, 3, 9)),
    ("conv1d-stride-pad-dilation-groups", lambda nn, t: nn.Conv1d(4, 6, 3, 2, 2, 2, groups=2), (2, 4, 11)),
    ("conv1d-same", lambda nn, t: nn.Conv1d(2, 3, 4, padding="same"), (2, 2, 7)),
    ("conv1d-unbatched-no-bias", lambda nn, t: nn.Conv1d(2, 3, 2, bias=False), (2, 6)),
    ("conv1d-reflect", lambda nn, t: nn.Conv1d(2, 3, 3, padding=2, padding_mode="reflect"), (2, 2, 6)),
    ("conv1d-circular", lambda nn, t: nn.Conv1d(2, 3, 3, padding=1, padding_mode="circular"), (2, 2, 5)),
    ("conv2d-replicate", lambda nn, t: nn.Conv2d(2, 3, 3, padding=(1, 2), padding_mode="replicate"), (2, 2, 4, 5)),
    ("conv3d", lambda nn, t: nn.Conv3d(2, 3, 3), (2, 2, 5, 4, 6)),
    ("conv3d-stride-pad", lambda nn, t: nn.Conv3d(2, 4, (2, 3, 2), (2, 1, 2), (1, 1, 0)), (2, 2, 5, 4, 5)),
    ("conv3d-dilation-groups", lambda nn, t: nn.Conv3d(4, 2, 2, 1, 1, (2, 1, 2), groups=2), (1, 4, 4, 3, 5)),
    ("conv3d-unbatched", lambda nn, t: nn.Conv3d(2, 3, 2, padding="same"), (2, 3, 4, 3)),
    ("conv3d-reflect", lambda nn, t: nn.Conv3d(1, 2, 3, padding=1, padding_mode="reflect"), (1, 1, 3, 4, 4)),
    ("convT1d", lambda nn, t: nn.ConvTranspose1d(3, 2, 3), (2, 3, 5)),
    ("convT1d-stride-outpad-groups", lambda nn, t: nn.ConvTranspose1d(4, 6, 3, 2, 1, 1, groups=2), (2, 4, 5)),
    ("convT2d", lambda nn, t: nn.ConvTranspose2d(3, 2, 3), (2, 3, 4, 5)),
    ("convT2d-stride-pad", lambda nn, t: nn.ConvTranspose2d(2, 3, (3, 2), (2, 3), (1, 0), (1, 2)), (2, 2, 4, 3)),
    ("convT2d-dilation-no-bias", lambda nn, t: nn.ConvTranspose2d(2, 2, 3, dilation=2, bias=False), (1, 2, 3, 4)),
    ("convT2d-big-outpad", lambda nn, t: nn.ConvTranspose2d(2, 2, 2, stride=3, output_padding=2), (1, 2, 2, 3)),
    ("convT2d-unbatched", lambda nn, t: nn.ConvTranspose2d(2, 4, 3, 2, 1, groups=2), (2, 3, 3)),
    ("maxpool1d", lambda nn, t: nn.MaxPool1d(3, 2, 1), (2, 3, 10)),
    ("maxpool1d-ceil-dilated", lambda nn, t: nn.MaxPool1d(2, 2, dilation=2, ceil_mode=True), (2, 2, 8)),
    ("maxpool2d-ceil", lambda nn, t: nn.MaxPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 7)),
    ("maxpool3d", lambda nn, t: nn.MaxPool3d(2), (2, 2, 4, 5, 6)),
    ("maxpool3d-pad-stride-ceil", lambda nn, t: nn.MaxPool3d((3, 2, 3), (2, 1, 2), 1, ceil_mode=True), (1, 2, 6, 4, 5)),
    ("maxpool3d-dilated-unbatched", lambda nn, t: nn.MaxPool3d(2, 1, dilation=(1, 2, 2)), (2, 4, 5, 5)),
    ("avgpool1d", lambda nn, t: nn.AvgPool1d(3, 2, 1), (2, 3, 10)),
    ("avgpool1d-ceil-no-pad-count", lambda nn, t: nn.AvgPool1d(3, 2, 1, True, False), (2, 3, 8)),
    ("avgpool2d-ceil", lambda nn, t: nn.AvgPool2d(3, 2, 1, ceil_mode=True), (2, 2, 6, 7)),
    ("avgpool3d", lambda nn, t: nn.AvgPool3d(2), (2, 2, 4, 5, 6)),
    ("avgpool3d-pad-ceil", lambda nn, t: nn.AvgPool3d(3, 2, 1, ceil_mode=True), (1, 2, 6, 5, 4)),
    ("avgpool3d-no-pad-count", lambda nn, t: nn.AvgPool3d(3, 2, 1, count_include_pad=False), (1, 2, 5, 5, 4)),
    ("avgpool3d-divisor", lambda nn, t: nn.AvgPool3d((2, 2, 3), 1, divisor_override=7), (2, 3, 4, 5)),
    ("adaptive-avg1d", lambda nn, t: nn.AdaptiveAvgPool1d(4), (2, 3, 7)),
    ("adaptive-avg3d", lambda nn, t: nn.AdaptiveAvgPool3d((2, None, 3)), (1, 2, 5, 3, 7)),
    ("adaptive-max1d", lambda nn, t: nn.AdaptiveMaxPool1d(3), (2, 3, 7)),
    ("adaptive-max2d", lambda nn, t: nn.AdaptiveMaxPool2d((3, 4)), (2, 2, 7, 5)),
    ("adaptive-max2d-upsample", lambda nn, t: nn.AdaptiveMaxPool2d(5), (1, 2, 3, 4)),
    ("adaptive-max3d", lambda nn, t: nn.AdaptiveMaxPool3d((2, 3, None)), (3, 5, 4, 2)),
]



@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("builder, shape", [case[1:] for case in LAYERS], ids=[case[0] for case in LAYERS])
def test_layer_matches_torch(builder, shape, dtype):
    check_layer_matches_torch(builder, shape, dtype, *TOLERANCE[dtype])


def _leaf(*shape, seed=0):
    return tn.Tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "conv, x_shape, w_shape, kwargs",
    [
        (functional.conv1d, (1, 4, 5), (4, 2, 3), {"stride": 2, "padding": 1, "groups": 2}),
        (functional.conv3d, (1, 2, 3, 2, 3), (2, 2, 2, 2, 2), {"stride": (1, 2, 1), "padding": 1}),
        (functional.conv3d, (1, 2, 4, 2, 2), (2, 1, 2, 2, 1), {"dilation": (2, 1, 1), "groups": 2}),
        (functional.conv_transpose1d, (1, 2, 3), (2, 2, 3), {"stride": 2, "output_padding": 1}),
        (functional.conv_transpose2d, (1, 4, 2, 2), (4, 1, 2, 2), {"stride": 2, "padding": 1, "groups": 2}),
        (functional.conv_transpose2d, (1, 1, 2, 2), (1, 2, 2, 2), {"stride": 3, "output_padding": 2, "dilation": 2}),
    ],
)
def test_convolution_gradcheck(conv, x_shape, w_shape, kwargs):
    transposed = conv in (functional.conv_transpose1d, functional.conv_transpose2d)
    out_channels = w_shape[1] * kwargs.get("groups", 1) if transposed else w_shape[0]
    x, weight, bias = _leaf(*x_shape), _leaf(*w_shape, seed=1), _leaf(out_channels, seed=2)
    assert gradcheck(lambda x, w, b: conv(x, w, b, **kwargs), x, weight, bias)
    assert gradgradcheck(lambda x, w, b: conv(x, w, b, **kwargs), x, weight, bias)


@pytest.mark.parametrize(
    "pool, shape, kwargs",
    [
        (functional.max_pool1d, (2, 2, 7), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        (functional.max_pool3d, (1, 2, 4, 3, 5), {"kernel_size": 2, "stride": (1, 2, 2), "ceil_mode": True}),
        (functional.avg_pool1d, (2, 2, 7), {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
        (functional.avg_pool3d, (1, 2, 4, 3, 5), {"kernel_size": 2, "padding": 1, "count_include_pad": False}),
        (functional.adaptive_max_pool2d, (1, 2, 5, 4), {"output_size": (2, 3)}),
        (functional.adaptive_avg_pool3d, (1, 2, 3, 5, 4), {"output_size": (2, 2, 3)}),
    ],
)
def test_pooling_gradcheck(pool, shape, kwargs):
    assert gradcheck(lambda x: pool(x, **kwargs), _leaf(*shape))
    assert gradgradcheck(lambda x: pool(x, **kwargs) ** 2, _leaf(*shape))  # squared: pooling is linear


@pytest.mark.parametrize(
    "name, shape, kwargs",
    [
        ("max_pool1d", (2, 3, 9), {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool2d", (2, 2, 7, 6), {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 1}),
        ("max_pool3d", (2, 2, 5, 4, 6), {"kernel_size": (2, 3, 2), "stride": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool3d", (2, 4, 5, 5), {"kernel_size": 2, "dilation": 2}),
        ("adaptive_max_pool1d", (2, 2, 7), {"output_size": 3}),
        ("adaptive_max_pool2d", (2, 2, 7, 5), {"output_size": (3, 4)}),
        ("adaptive_max_pool3d", (1, 2, 5, 4, 3), {"output_size": 2}),
    ],
)
def test_return_indices_match_torch_with_ties(name, shape, kwargs):
    """Values and positions, on input with many ties (torch's choice among equal maxima)."""
    x = np.random.default_rng(3).integers(0, 3, shape).astype(np.float64)
    ours, our_indices = getattr(functional, name)(tn.tensor(x), return_indices=True, **kwargs)
    theirs, their_indices = getattr(torch.nn.functional, name)(torch.tensor(x), return_indices=True, **kwargs)
    assert_close(ours, theirs, 0, 0)
    np.testing.assert_array_equal(our_indices.numpy(), their_indices.numpy())


@pytest.mark.parametrize(
    "dims, shape, kernel, stride, padding, output_size",
    [
        (1, (2, 3, 9), 3, 2, 1, None),
        (2, (2, 2, 7, 6), 2, 2, 0, None),
        (2, (2, 2, 7, 6), 2, 2, 0, (7, 6)),
        (2, (2, 7, 5), 3, 2, 1, None),
        (3, (1, 2, 4, 5, 6), 2, 2, 0, (1, 2, 5, 5, 7)),
    ],
)
def test_max_unpool_round_trip_matches_torch(dims, shape, kernel, stride, padding, output_size):
    x = np.random.default_rng(4).standard_normal(shape)
    pool = getattr(functional, f"max_pool{dims}d")
    y, indices = pool(tn.tensor(x), kernel, stride, padding, return_indices=True)
    their_y, their_indices = getattr(torch.nn.functional, f"max_pool{dims}d")(
        torch.tensor(x), kernel, stride, padding, return_indices=True
    )
    ours = getattr(nn, f"MaxUnpool{dims}d")(kernel, stride, padding)
    theirs = getattr(torch.nn, f"MaxUnpool{dims}d")(kernel, stride, padding)
    indices_array = indices.numpy()
    compare_forward_backward(
        lambda y, i: ours(y, tn.Tensor(indices_array), output_size),
        lambda y, i: theirs(y, their_indices, output_size),
        (y.numpy(), indices_array),
    )


def test_max_unpool_gradcheck():
    y, indices = functional.max_pool2d(_leaf(1, 2, 4, 4), 2, return_indices=True)
    unpool = lambda x: functional.max_unpool2d(x, indices, 2)  # noqa: E731
    assert gradcheck(unpool, _leaf(*y.shape))
    assert gradgradcheck(lambda x: unpool(x) ** 2, _leaf(*y.shape))


def test_conv_transpose_output_size_argument_matches_torch():
    ours, theirs = build_pair(lambda nn, t: nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1), np.float64)
    x = np.random.default_rng(5).standard_normal((1, 2, 4, 4))
    for size in ([7, 7], [8, 8], (1, 3, 8, 7)):
        compare_forward_backward(lambda x, size=size: ours(x, size), lambda x, size=size: theirs(x, size), x)
    with pytest.raises(ValueError, match="output size"):
        ours(tn.tensor(x), [9, 9])


def test_conv_transpose_is_the_input_gradient_of_conv():
    """<conv(x, w), y> = <x, conv_transpose(y, w)> for a strided, padded, grouped convolution."""
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((2, 4, 7, 6)), rng.standard_normal((6, 2, 3, 2))
    y = functional.conv2d(tn.tensor(x), tn.tensor(w), stride=2, padding=1, groups=2).numpy()
    dy = rng.standard_normal(y.shape)
    back = functional.conv_transpose2d(tn.tensor(dy), tn.tensor(w), stride=2, padding=1, groups=2)
    np.testing.assert_allclose((y * dy).sum(), (x * back.numpy()).sum(), rtol=1e-12)


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: nn.Conv1d(2, 3, (3, 3)), ValueError, "kernel_size"),
        (lambda: nn.Conv3d(2, 3, 3, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect"), ValueError, "zeros"),
        (lambda: nn.MaxPool3d(2, padding=2), ValueError, "padding"),
        (lambda: nn.AvgPool1d(0), ValueError, "kernel_size"),
        (lambda: nn.AdaptiveMaxPool3d((1, 2)), ValueError, "output_size"),
        (lambda: nn.MaxUnpool2d(0), ValueError, "kernel_size"),
    ],
)
def test_bad_constructor_arguments_name_the_argument(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda x: functional.conv1d(x.reshape(1, 2, 1, 8), tn.zeros(3, 2, 3)), "3-D"),
        (lambda x: functional.conv3d(x.reshape(1, 2, 2, 2, 2), tn.zeros(3, 1, 2, 2, 2)), "input channels"),
        (lambda x: functional.conv_transpose1d(x, tn.zeros(2, 3, 3), output_padding=2), "output_padding"),
        (lambda x: functional.max_pool1d(x, 9), "smaller than the kernel"),
        (lambda x: functional.avg_pool3d(x.reshape(2, 2, 2, 2), (3, 1, 1), padding=(1, 0, 0)), "smaller than"),
        (lambda x: functional.max_unpool1d(x, tn.zeros(2, 8, dtype=tn.int64) + 99, 2), "invalid max index"),
    ],
)
def test_bad_calls_name_the_problem(call, words):
    with pytest.raises(ValueError, match=words):
        call(tn.ones(2, 8))


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("max_pool2d", {"kernel_size": 3, "stride": 2, "padding": 1}),
        ("max_pool3d", {"kernel_size": 2, "padding": 1, "ceil_mode": True}),
        ("max_pool2d", {"kernel_size": 2, "dilation": 2, "padding": 1, "ceil_mode": True}),
    ],
)
@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8])
def test_max_pooling_of_integers_matches_torch(name, kwargs, dtype):
    """Exact values and positions, padding read as the dtype's minimum (int32's below -2**24, where float32 would
    round)."""
    low = np.iinfo(dtype).min if dtype == np.int32 else np.iinfo(dtype).min // 2
    x = np.random.default_rng(7).integers(low, np.iinfo(dtype).max // 2, (2, 3, 4, 5, 5)).astype(dtype)
    x = x[0] if name.endswith("2d") else x
    ours, our_indices = getattr(functional, name)(tn.tensor(x), return_indices=True, **kwargs)
    theirs, their_indices = getattr(torch.nn.functional, name)(torch.tensor(x), return_indices=True, **kwargs)
    assert ours.dtype == dtype
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(our_indices.numpy(), their_indices.numpy())
