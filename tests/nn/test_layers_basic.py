"""The non-normalization layers against torch.nn (same weights: output, input gradient and every
parameter gradient), float64 gradchecks of the ops behind them, initialization and argument checks."""

import math

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import gradcheck, gradgradcheck
from tinygrad_norm.nn import functional, init

torch = pytest.importorskip("torch")

from .torch_helpers import assert_close, build_pair, check_layer_matches_torch, compare_forward_backward  # noqa: E402

# float32: a few ulps relative, plus 1e-6 absolute for outputs near zero that come from sums of a
# few dozen products (conv, pooling, softmax); float64 the same with float64's precision.
TOLERANCE = {np.float32: (1e-5, 1e-6), np.float64: (1e-10, 1e-13)}

# (id, builder taking a namespace (tinygrad_norm.nn or torch.nn) and a tensor constructor, input shape)
LAYERS = [
    ("linear", lambda nn, t: nn.Linear(5, 3), (4, 5)),
    ("linear-no-bias-3d-input", lambda nn, t: nn.Linear(5, 3, bias=False), (2, 3, 5)),
    ("conv", lambda nn, t: nn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    ("conv-stride-padding", lambda nn, t: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 2)), (2, 3, 7, 6)),
    ("conv-dilation-groups", lambda nn, t: nn.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2), (2, 4, 6, 7)),
    ("conv-depthwise-no-bias", lambda nn, t: nn.Conv2d(4, 4, 3, stride=2, groups=4, bias=False), (1, 4, 7, 7)),
    ("conv-same-even-kernel", lambda nn, t: nn.Conv2d(2, 3, (4, 2), padding="same", dilation=(1, 2)), (2, 2, 5, 6)),
    ("conv-valid", lambda nn, t: nn.Conv2d(2, 3, 2, padding="valid"), (2, 2, 4, 4)),
    ("conv-unbatched", lambda nn, t: nn.Conv2d(2, 3, 3, padding=1), (2, 5, 4)),
    ("maxpool", lambda nn, t: nn.MaxPool2d(2), (2, 3, 6, 7)),
    ("maxpool-overlapping-padded", lambda nn, t: nn.MaxPool2d(3, stride=1, padding=1), (2, 2, 5, 6)),
    ("maxpool-dilated", lambda nn, t: nn.MaxPool2d((2, 3), stride=(1, 2), dilation=2), (2, 2, 7, 8)),
    ("avgpool", lambda nn, t: nn.AvgPool2d(2), (2, 3, 6, 7)),
    ("avgpool-padded", lambda nn, t: nn.AvgPool2d(3, stride=2, padding=1), (2, 2, 7, 6)),
    ("avgpool-no-pad-count", lambda nn, t: nn.AvgPool2d(3, 2, 1, count_include_pad=False), (2, 2, 7, 6)),
    ("avgpool-divisor", lambda nn, t: nn.AvgPool2d((2, 3), stride=1, divisor_override=5), (1, 2, 4, 5)),
    ("adaptive-1", lambda nn, t: nn.AdaptiveAvgPool2d(1), (2, 3, 5, 6)),
    ("adaptive-overlapping-bins", lambda nn, t: nn.AdaptiveAvgPool2d((3, 4)), (2, 2, 7, 5)),
    ("adaptive-keep-width", lambda nn, t: nn.AdaptiveAvgPool2d((2, None)), (2, 2, 5, 3)),
    ("adaptive-upsample", lambda nn, t: nn.AdaptiveAvgPool2d(5), (1, 2, 3, 4)),
    ("flatten", lambda nn, t: nn.Flatten(), (2, 3, 4, 5)),
    ("flatten-middle", lambda nn, t: nn.Flatten(0, 2), (2, 3, 4, 5)),
    ("identity", lambda nn, t: nn.Identity(54, unused=True), (3, 4)),
    ("relu", lambda nn, t: nn.ReLU(), (3, 4)),
    ("leaky-relu", lambda nn, t: nn.LeakyReLU(0.2), (3, 4)),
    ("gelu", lambda nn, t: nn.GELU(), (3, 4)),
    ("gelu-tanh", lambda nn, t: nn.GELU(approximate="tanh"), (3, 4)),
    ("tanh", lambda nn, t: nn.Tanh(), (3, 4)),
    ("sigmoid", lambda nn, t: nn.Sigmoid(), (3, 4)),
    ("silu", lambda nn, t: nn.SiLU(), (3, 4)),
    ("softmax", lambda nn, t: nn.Softmax(dim=1), (2, 3, 4)),
    ("log-softmax", lambda nn, t: nn.LogSoftmax(dim=-1), (2, 3, 4)),
]



@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("builder, shape", [case[1:] for case in LAYERS], ids=[case[0] for case in LAYERS])
def test_layer_matches_torch(builder, shape, dtype):
    check_layer_matches_torch(builder, shape, dtype, *TOLERANCE[dtype])


def test_softmax_without_dim_follows_torch_with_its_warning():
    x = np.random.default_rng(2).standard_normal((2, 3, 4))  # 3-D: torch's legacy choice is dim 0
    with pytest.warns(UserWarning, match="Implicit dimension"):
        ours = nn.Softmax()(tn.tensor(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        theirs = torch.nn.Softmax()(torch.tensor(x))
    assert_close(ours, theirs, 1e-12, 1e-14)


def test_embedding_matches_torch_and_padding_row_gets_no_gradient():
    builder = lambda nn, t: nn.Embedding(7, 3, padding_idx=-2)  # noqa: E731
    ours, theirs = build_pair(builder, np.float64)
    assert ours.padding_idx == theirs.padding_idx == 5
    assert np.all(ours.weight.numpy()[5] == 0)
    indices = np.array([[0, 5, 2, 2], [6, 5, 0, 1]])
    compare_forward_backward(ours, theirs, indices)
    assert np.all(ours.weight.grad.numpy()[5] == 0)
    assert np.any(ours.weight.grad.numpy()[2] != 0)


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_from_pretrained_matches_torch(freeze):
    table = np.random.default_rng(4).standard_normal((6, 3))
    ours = nn.Embedding.from_pretrained(tn.tensor(table), freeze=freeze, padding_idx=2)
    theirs = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=freeze, padding_idx=2)
    assert repr(ours) == repr(theirs) and ours.weight.requires_grad == theirs.weight.requires_grad == (not freeze)
    assert_close(ours.weight, table, 0, 0)  # the padding row is kept as given, not zeroed
    indices = np.array([[0, 2, 5], [2, 1, 1]])
    if freeze:
        assert_close(ours(indices), theirs(torch.from_numpy(indices)), 0, 0)
    else:
        compare_forward_backward(ours, theirs, indices)


# (id, builder, input shape, integer classes of the target or None for a float target in [0, 1])
LOSSES = [
    ("cross-entropy", lambda nn, t: nn.CrossEntropyLoss(), (4, 5), 5),
    ("cross-entropy-sum-spatial", lambda nn, t: nn.CrossEntropyLoss(reduction="sum"), (2, 4, 3, 2), 4),
    (
        "cross-entropy-weight-smoothing-ignore",
        lambda nn, t: nn.CrossEntropyLoss(t([1.0, 2.0, 0.5]), ignore_index=1, label_smoothing=0.1),
        (6, 3),
        3,
    ),
    ("nll", lambda nn, t: nn.NLLLoss(t([0.3, 1.0, 2.0, 1.5]), reduction="mean"), (5, 4), 4),
    ("mse", lambda nn, t: nn.MSELoss(), (3, 4), None),
    ("mse-none", lambda nn, t: nn.MSELoss(reduction="none"), (3, 4), None),
    (
        "bce-with-logits",
        lambda nn, t: nn.BCEWithLogitsLoss(t([1.0, 0.5, 2.0]), pos_weight=t([2.0, 1.0, 0.5])),
        (4, 3),
        None,
    ),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("builder, shape, classes", [c[1:] for c in LOSSES], ids=[c[0] for c in LOSSES])
def test_loss_matches_torch(builder, shape, classes, dtype):
    ours, theirs = build_pair(builder, dtype)
    rng = np.random.default_rng(3)
    x = rng.standard_normal(shape).astype(dtype)
    if classes is None:
        target = rng.random(shape).astype(dtype)
    else:
        target = rng.integers(0, classes, (shape[0], *shape[2:]))
    compare_forward_backward(ours, theirs, (x, target), rtol=TOLERANCE[dtype][0], atol=TOLERANCE[dtype][1])


# ---- float64 first and second derivative checks of the ops behind the layers -----------------------------------------


def _leaf(*shape, seed=0):
    return tn.tensor(np.random.default_rng(seed).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    "kwargs, x_shape, w_shape",
    [
        ({}, (2, 2, 4, 5), (3, 2, 3, 2)),
        ({"stride": 2, "padding": 1}, (1, 2, 5, 5), (2, 2, 3, 3)),
        ({"padding": (2, 1), "dilation": (2, 1), "groups": 2}, (1, 4, 4, 4), (2, 2, 2, 3)),
        ({"padding": "same", "dilation": 2}, (1, 1, 4, 4), (2, 1, 2, 2)),
    ],
)
def test_conv2d_gradcheck(kwargs, x_shape, w_shape):
    x, weight, bias = _leaf(*x_shape, seed=0), _leaf(*w_shape, seed=1), _leaf(w_shape[0], seed=2)
    assert gradcheck(lambda x, w, b: functional.conv2d(x, w, b, **kwargs), x, weight, bias)
    assert gradgradcheck(lambda x, w, b: functional.conv2d(x, w, b, **kwargs), x, weight, bias)


@pytest.mark.parametrize(
    "pool, kwargs",
    [
        (functional.max_pool2d, {"kernel_size": 2}),
        (functional.max_pool2d, {"kernel_size": 3, "stride": 1, "padding": 1}),
        (functional.max_pool2d, {"kernel_size": 2, "stride": (2, 1), "dilation": 2}),
        (functional.avg_pool2d, {"kernel_size": 2}),
        (functional.avg_pool2d, {"kernel_size": 3, "stride": 2, "padding": 1, "count_include_pad": False}),
        (functional.avg_pool2d, {"kernel_size": (2, 3), "stride": 1, "divisor_override": 4}),
        (functional.adaptive_avg_pool2d, {"output_size": 1}),
        (functional.adaptive_avg_pool2d, {"output_size": (3, 2)}),
    ],
)
def test_pooling_gradcheck(pool, kwargs):
    assert gradcheck(lambda x: pool(x, **kwargs), _leaf(2, 2, 5, 5))
    assert gradgradcheck(lambda x: pool(x, **kwargs) ** 2, _leaf(2, 2, 5, 5))  # squared: pooling is linear


@pytest.mark.parametrize(
    "layer",
    [nn.Linear(4, 3), nn.Conv2d(2, 2, 3, padding=1), nn.SiLU(), nn.GELU(), nn.LeakyReLU(0.1), nn.Softmax(dim=1)],
    ids=repr,
)
def test_layer_gradcheck_wrt_input_and_parameters(layer):
    layer.double()
    x = _leaf(2, 2, 3, 4) if isinstance(layer, nn.Conv2d) else _leaf(3, 4)
    assert gradcheck(lambda x, *params: layer(x), x, *layer.parameters())
    assert gradgradcheck(lambda x, *params: layer(x) ** 2, x, *layer.parameters())


def test_embedding_gradcheck():
    weight = _leaf(6, 3)
    indices = np.array([[1, 3, 3], [0, 5, 1]])
    assert gradcheck(lambda w: functional.embedding(indices, w), weight)
    assert gradgradcheck(lambda w: functional.embedding(indices, w, padding_idx=3) ** 2, weight)


# ---- initialization ---------------------------------------------------------------------------


@pytest.mark.parametrize("nonlinearity, param", [("linear", None), ("conv2d", None), ("sigmoid", None),
                                                  ("tanh", None), ("relu", None), ("leaky_relu", None),
                                                  ("leaky_relu", 0.2), ("selu", None)])  # fmt: skip
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, param))


@pytest.mark.parametrize("shape", [(64, 48), (32, 6, 3, 5)])
def test_fans_match_torch(shape):
    assert init._calculate_fan_in_and_fan_out(tn.zeros(*shape)) == torch.nn.init._calculate_fan_in_and_fan_out(
        torch.zeros(shape)
    )


def _sample_std_tolerance(n):
    """Five standard errors of a sample standard deviation, relative: 5/√(2n)."""
    return 5 / math.sqrt(2 * n)


@pytest.mark.parametrize(
    "fill, expected_std",
    [
        (lambda t: init.kaiming_uniform_(t, a=0.2), math.sqrt(2 / 1.04) / math.sqrt(120)),
        (lambda t: init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(2) / math.sqrt(1200)),
        (lambda t: init.xavier_uniform_(t, gain=2.0), 2 * math.sqrt(2 / 1320)),
        (lambda t: init.xavier_normal_(t), math.sqrt(2 / 1320)),
        (lambda t: init.normal_(t, 1.0, 0.3), 0.3),
        (lambda t: init.uniform_(t, -2.0, 1.0), 3 / math.sqrt(12)),
    ],
)
def test_init_spread(fill, expected_std):
    tn.manual_seed(0)
    weight = fill(tn.zeros(300, 30, 2, 2))  # fan_in = 30·2·2 = 120, fan_out = 300·2·2 = 1200
    assert weight.dtype == np.float32
    sample_std = float(weight.numpy().std())
    assert sample_std == pytest.approx(expected_std, rel=_sample_std_tolerance(weight.numel()))


def test_default_linear_and_conv_init_is_bounded_by_one_over_sqrt_fan_in():
    tn.manual_seed(0)
    for layer, fan_in in [(nn.Linear(50, 400), 50), (nn.Conv2d(6, 200, (3, 2)), 36)]:
        bound = 1 / math.sqrt(fan_in)
        for param in layer.parameters():
            values = param.numpy()
            assert np.abs(values).max() <= bound
            assert np.abs(values).max() > 0.95 * bound  # fills the interval, not a narrower one


def test_init_is_reproducible_under_manual_seed():
    tn.manual_seed(7)
    first = nn.Conv2d(3, 4, 3).state_dict()
    tn.manual_seed(7)
    second = nn.Conv2d(3, 4, 3).state_dict()
    for key in first:
        np.testing.assert_array_equal(first[key], second[key])


def test_embedding_init_is_standard_normal():
    tn.manual_seed(0)
    weight = nn.Embedding(1000, 50).weight.numpy()
    assert weight.std() == pytest.approx(1.0, rel=_sample_std_tolerance(weight.size))
    assert abs(weight.mean()) < 5 / math.sqrt(weight.size)


def test_init_rejects_bad_arguments():
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(tn.zeros(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(tn.zeros(3))
    with pytest.raises(ValueError, match="nonlinearity"):
        init.calculate_gain("swish")


# ---- argument checks --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make, error, words",
    [
        (lambda: nn.Linear("3", 4), TypeError, "in_features"),
        (lambda: nn.Linear(3, -1), ValueError, "out_features"),
        (lambda: nn.Conv2d(3, 4, 0), ValueError, "kernel_size"),
        (lambda: nn.Conv2d(3, 4, (3, 3, 3)), ValueError, "kernel_size"),
        (lambda: nn.Conv2d(3, 4, 3, groups=2), ValueError, "divisible by groups"),
        (lambda: nn.Conv2d(3, 4, 3, stride=2, padding="same"), ValueError, "strided"),
        (lambda: nn.Conv2d(3, 4, 3, padding="full"), ValueError, "padding"),
        (lambda: nn.Conv2d(3, 4, 3, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.MaxPool2d(2, padding=2), ValueError, "padding"),
        (lambda: nn.MaxPool2d(3, padding=2, dilation=2), ValueError, "padding"),  # torch: at most kernel_size // 2
        (lambda: nn.AvgPool2d(2, stride=0), ValueError, "stride"),
        (lambda: nn.AdaptiveAvgPool2d((1, 2, 3)), ValueError, "output_size"),
        (lambda: nn.GELU("fast"), ValueError, "approximate"),
        (lambda: nn.Embedding(5, 2, padding_idx=5), ValueError, "padding_idx"),
        (lambda: nn.CrossEntropyLoss(reduction="avg"), ValueError, "reduction"),
    ],
)
def test_bad_constructor_arguments_name_the_argument(make, error, words):
    with pytest.raises(error, match=words):
        make()


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: nn.Conv2d(3, 4, 3)(tn.zeros(1, 2, 5, 5)), ValueError, "channels"),
        (lambda: nn.Conv2d(3, 4, 3)(tn.zeros(3, 5)), ValueError, "4-D"),
        (lambda: functional.conv2d(tn.zeros(1, 3, 5, 5), tn.zeros(4, 3, 3, 3), tn.zeros(3)), ValueError, "bias"),
        (lambda: nn.Conv2d(3, 4, 5)(tn.zeros(1, 3, 4, 8)), ValueError, "smaller than the kernel"),
        (lambda: nn.MaxPool2d(3)(tn.zeros(1, 1, 2, 2)), ValueError, "smaller than the kernel"),
        (lambda: nn.Embedding(5, 2)(np.array([1, 5])), IndexError, "out of range"),
        (lambda: nn.Embedding(5, 2)(np.array([1.0])), TypeError, "integer"),
    ],
)
def test_bad_inputs_raise(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda x, t: functional.cross_entropy(x, t, None, 0),  # torch: size_average=0, not ignore_index
        lambda x, t: functional.nll_loss(x, t, None, 0),
        lambda x, t: functional.mse_loss(x, x, "sum"),  # torch: size_average="sum", not reduction
        lambda x, t: functional.binary_cross_entropy_with_logits(x, x, None, "sum"),
    ],
    ids=["cross_entropy", "nll_loss", "mse_loss", "bce_with_logits"],
)
def test_loss_arguments_where_torch_has_size_average_and_reduce_are_keyword_only(call):
    with pytest.raises(TypeError):
        call(tn.zeros(2, 3), np.array([0, 1]))


def test_comparison_helper_catches_wrong_weights_and_wrong_gradients():
    ours, theirs = nn.Linear(3, 2), torch.nn.Linear(3, 2)  # weights not copied
    x = np.ones((2, 3), np.float32)
    with pytest.raises(AssertionError, match="output"):
        compare_forward_backward(ours, theirs, x)
    with pytest.raises(AssertionError, match="gradient of input 0"):
        compare_forward_backward(lambda x: x.detach() * 2 + x * 0, lambda x: x * 2, x)
