"""The reference kernels: gradients against central differences of their own forward, outputs against an
independently composed numpy formula, and everything against torch.nn.functional when torch is installed."""

import numpy as np
import pytest
from tinygrad_norm.kernels import reference as ref

EPS = 1e-5


def row_norm(x, weight, bias, groups, center, dy):
    """Forward and backward of the reference row norm; returns y, mean, rstd, dx, dweight, dbias."""
    B, C, S = x.shape
    y, dx = np.empty_like(x), np.empty_like(x)
    mean, rstd = np.empty((B, groups)), np.empty((B, groups))
    ref.row_norm_forward(x, weight, bias, groups, EPS, center, y, mean, rstd)
    dweight = None if weight is None else np.empty(C)
    dbias = None if bias is None else np.empty(C)
    ref.row_norm_backward(dy, x, mean, rstd, weight, groups, center, dx, dweight, dbias)
    return y, mean, rstd, dx, dweight, dbias


def channel_norm(x, weight, bias, dy):
    """Forward (batch statistics) and full backward; returns y, mean, rstd, var_unbiased, dx, dweight, dbias."""
    C = x.shape[1]
    y, dx = np.empty_like(x), np.empty_like(x)
    mean, rstd, var_unbiased = np.empty(C), np.empty(C), np.empty(C)
    ref.channel_norm_forward(x, weight, bias, EPS, y, mean, rstd, var_unbiased)
    dweight = None if weight is None else np.empty(C)
    dbias = None if bias is None else np.empty(C)
    ref.channel_norm_backward(dy, x, mean, rstd, weight, True, dx, dweight, dbias)
    return y, mean, rstd, var_unbiased, dx, dweight, dbias


def inputs(shape, affine=True, seed=0):
    rng = np.random.default_rng(seed)
    C = shape[1]
    x, dy = rng.standard_normal(shape), rng.standard_normal(shape)
    weight = 1 + 0.5 * rng.standard_normal(C) if affine else None
    bias = rng.standard_normal(C) if affine else None
    return x, dy, weight, bias


# ---------------------------------------------------------------------------------------------------------------
# gradients against central differences of the forward, float64


def numerical_gradient(loss, array, h=1e-6):
    """d loss / d array by central differences, one element at a time (array is perturbed in place)."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        original = array[i]
        array[i] = original + h
        up = loss()
        array[i] = original - h
        down = loss()
        array[i] = original
        grad[i] = (up - down) / (2 * h)
    return grad


def assert_gradients(loss, analytic, arrays):
    """analytic[name] against the central differences of loss() with respect to arrays[name]."""
    for name, array in arrays.items():
        if array is not None:
            np.testing.assert_allclose(
                analytic[name], numerical_gradient(loss, array), rtol=1e-6, atol=1e-7, err_msg=name
            )


@pytest.mark.parametrize("center", [True, False], ids=["centered", "rms"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape, groups", [((3, 5, 1), 1), ((2, 6, 3), 1), ((2, 6, 3), 3), ((2, 4, 2), 4)])
def test_row_norm_gradients_match_finite_differences(shape, groups, center, affine):
    x, proj, weight, bias = inputs(shape, affine)

    def loss():  # a random projection of the output
        return float((proj * row_norm(x, weight, bias, groups, center, proj)[0]).sum())

    _, _, _, dx, dweight, dbias = row_norm(x, weight, bias, groups, center, proj)
    assert_gradients(loss, {"x": dx, "weight": dweight, "bias": dbias}, {"x": x, "weight": weight, "bias": bias})


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
@pytest.mark.parametrize("shape", [(4, 3, 1), (2, 3, 4), (1, 2, 5)])
def test_channel_norm_gradients_match_finite_differences(shape, affine):
    x, proj, weight, bias = inputs(shape, affine)

    def loss():
        return float((proj * channel_norm(x, weight, bias, proj)[0]).sum())

    _, _, _, _, dx, dweight, dbias = channel_norm(x, weight, bias, proj)
    assert_gradients(loss, {"x": dx, "weight": dweight, "bias": dbias}, {"x": x, "weight": weight, "bias": bias})


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_channel_norm_with_constant_statistics_gradients_match_finite_differences(affine):
    x, proj, weight, bias = inputs((3, 4, 2), affine)
    mean, rstd = np.array([0.1, -0.2, 0.3, 0.0]), np.array([1.5, 0.7, 2.0, 1.0])

    def loss():
        y = np.empty_like(x)
        ref.channel_norm_apply(x, mean, rstd, weight, bias, y)
        return float((proj * y).sum())

    dx, dweight, dbias = np.empty_like(x), (np.empty(4) if affine else None), (np.empty(4) if affine else None)
    ref.channel_norm_backward(proj, x, mean, rstd, weight, False, dx, dweight, dbias)
    assert_gradients(loss, {"x": dx, "weight": dweight, "bias": dbias}, {"x": x, "weight": weight, "bias": bias})


@pytest.mark.parametrize("shape", [(12, 1), (4, 3)])
def test_dropout_gradient_matches_finite_differences(shape):
    x, proj, _, _ = inputs(shape)
    p, seed, offset = 0.4, 7, 3

    def loss():
        y = np.empty_like(x)
        ref.dropout_forward(x, p, seed, offset, y)
        return float((proj * y).sum())

    dx = np.empty_like(x)
    ref.dropout_backward(proj, p, seed, offset, dx)
    assert_gradients(loss, {"x": dx}, {"x": x})


# ---------------------------------------------------------------------------------------------------------------
# outputs against the composed formula: numpy's mean and var, a division by the standard deviation


@pytest.mark.parametrize("shape, groups", [((4, 6, 5), 1), ((4, 6, 5), 2), ((4, 6, 5), 6), ((3, 7, 1), 1)])
def test_row_norm_matches_composed_formula(shape, groups):
    x, dy, weight, bias = inputs(shape)
    B, C, S = shape
    y, mean, rstd, *_ = row_norm(x, weight, bias, groups, True, dy)
    rows = x.reshape(B, groups, -1)
    expected = (rows - rows.mean(-1, keepdims=True)) / np.sqrt(rows.var(-1, keepdims=True) + EPS)
    expected = expected.reshape(B, C, S) * weight[:, None] + bias[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, rows.mean(-1), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(rows.var(-1) + EPS), rtol=1e-12)

    y_rms, mean_rms, rstd_rms, *_ = row_norm(x, None, None, groups, False, dy)
    ms = (rows**2).mean(-1, keepdims=True)
    np.testing.assert_allclose(y_rms, (rows / np.sqrt(ms + EPS)).reshape(B, C, S), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(mean_rms, 0.0)
    np.testing.assert_allclose(rstd_rms, 1 / np.sqrt(ms[..., 0] + EPS), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 3, 5), (6, 3, 1)])
def test_channel_norm_matches_composed_formula(shape):
    x, dy, weight, bias = inputs(shape)
    y, mean, rstd, var_unbiased, *_ = channel_norm(x, weight, bias, dy)
    var = x.var(axis=(0, 2), keepdims=True)
    expected = (x - x.mean(axis=(0, 2), keepdims=True)) / np.sqrt(var + EPS) * weight[:, None] + bias[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mean, x.mean(axis=(0, 2)), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(var.ravel() + EPS), rtol=1e-12)
    np.testing.assert_allclose(var_unbiased, x.var(axis=(0, 2), ddof=1), rtol=1e-12)


def test_channel_norm_single_value_per_channel_has_nan_unbiased_variance():
    x = np.arange(3.0).reshape(1, 3, 1)
    y, mean, rstd, var_unbiased, *_ = channel_norm(x, None, None, np.ones_like(x))
    assert np.isnan(var_unbiased).all()
    np.testing.assert_array_equal(y, 0.0)
    np.testing.assert_allclose(rstd, 1 / np.sqrt(EPS))


def channel_norm_in_shares(x, weight, bias, dy, bounds):
    """channel_norm's results, with x and dy split along N at ``bounds`` into shares as SyncBatchNorm's processes
    hold them: moments per share, combined; gradient sums per share, added; each share's dx; concatenated."""
    C, S = x.shape[1], x.shape[2]
    shares = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]
    means, m2s = np.empty((len(shares), C)), np.empty((len(shares), C))
    for share, mean, m2 in zip(shares, means, m2s):
        ref.channel_norm_moments(x[share], mean, m2)
    counts = np.array([(share.stop - share.start) * S for share in shares], np.float64)
    mean, rstd, var_unbiased = np.empty(C), np.empty(C), np.empty(C)
    ref.channel_norm_combine(counts, means, m2s, EPS, mean, rstd, var_unbiased)
    y = np.empty_like(x)
    ref.channel_norm_apply(x, mean, rstd, weight, bias, y)
    sums = np.zeros((2, C))
    for share in shares:
        share_sums = np.empty((2, C))
        ref.channel_norm_grad_sums(dy[share], x[share], mean, rstd, share_sums[0], share_sums[1])
        sums += share_sums
    dx = np.empty_like(x)
    for share in shares:
        ref.channel_norm_input_grad(dy[share], x[share], mean, rstd, weight, sums[0], sums[1], counts.sum(), dx[share])
    return y, mean, rstd, var_unbiased, dx, sums[1], sums[0]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # numpy's mean of the empty share
@pytest.mark.parametrize("shape, bounds", [((7, 3, 5), [0, 3, 7]), ((9, 4, 1), [0, 1, 1, 9]), ((6, 2, 3), [0, 3, 6])])
def test_channel_norm_in_shares_equals_channel_norm_of_the_whole_batch(shape, bounds):
    x, dy, weight, bias = inputs(shape)
    x = 1e4 + x  # a mean far from 0: the combination must not cancel
    for actual, expected in zip(channel_norm_in_shares(x, weight, bias, dy, bounds), channel_norm(x, weight, bias, dy),
                                strict=True):
        np.testing.assert_allclose(actual, expected, rtol=1e-9, atol=1e-9 * np.abs(expected).max())


def test_float32_outputs_are_rounded_float64_results():
    x, dy, weight, bias = inputs((3, 8, 4))
    y64 = row_norm(x, weight, bias, 2, True, dy)[0]
    as32 = [a.astype(np.float32) for a in (x, weight, bias)]
    y32 = np.empty(x.shape, np.float32)
    ref.row_norm_forward(as32[0], as32[1], as32[2], 2, EPS, True, y32, np.empty((3, 2)), np.empty((3, 2)))
    x64, w64, b64 = (a.astype(np.float64) for a in as32)
    np.testing.assert_array_equal(y32, row_norm(x64, w64, b64, 2, True, dy)[0].astype(np.float32))
    assert not np.array_equal(y32, y64.astype(np.float32))  # the float32 rounding of the inputs shows


# ---------------------------------------------------------------------------------------------------------------
# against torch.nn.functional, float64


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def torch_grads(torch, function, dy, *arrays):
    """function(*tensors) and the gradients of sum(dy * output) with respect to each array (None stays None)."""
    tensors = [None if a is None else torch.tensor(a, requires_grad=True) for a in arrays]
    out = function(*tensors)
    out.backward(torch.tensor(dy))
    return out.detach().numpy(), [None if t is None else t.grad.numpy() for t in tensors]


def assert_close_all(actual, expected):
    for a, e in zip(actual, expected, strict=True):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_layer_norm_matches_torch(torch, affine):
    x, dy, weight, bias = inputs((6, 10, 1), affine)
    layer_norm = torch.nn.functional.layer_norm
    y_t, grads_t = torch_grads(
        torch, lambda t, w, b: layer_norm(t, (10,), w, b, EPS), dy[..., 0], x[..., 0], weight, bias
    )
    y, _, _, dx, dweight, dbias = row_norm(x, weight, bias, 1, True, dy)
    assert_close_all([y[..., 0], dx[..., 0], dweight, dbias], [y_t, *grads_t])


@pytest.mark.parametrize("affine", [True, False], ids=["affine", "plain"])
def test_rms_norm_matches_torch(torch, affine):
    x, dy, weight, _ = inputs((6, 10, 1), affine)
    rms_norm = torch.nn.functional.rms_norm
    y_t, grads_t = torch_grads(torch, lambda t, w: rms_norm(t, (10,), w, EPS), dy[..., 0], x[..., 0], weight)
    y, _, _, dx, dweight, _ = row_norm(x, weight, None, 1, False, dy)
    assert_close_all([y[..., 0], dx[..., 0], dweight], [y_t, *grads_t])


@pytest.mark.parametrize("groups", [1, 3, 6])
def test_group_norm_and_instance_norm_match_torch(torch, groups):
    x, dy, weight, bias = inputs((4, 6, 2, 3))
    functional = torch.nn.functional
    y_t, grads_t = torch_grads(torch, lambda t, w, b: functional.group_norm(t, groups, w, b, EPS), dy, x, weight, bias)
    y, _, _, dx, dweight, dbias = row_norm(x.reshape(4, 6, 6), weight, bias, groups, True, dy.reshape(4, 6, 6))
    assert_close_all([y.reshape(x.shape), dx.reshape(x.shape), dweight, dbias], [y_t, *grads_t])
    if groups == 6:
        y_i, grads_i = torch_grads(
            torch, lambda t, w, b: functional.instance_norm(t, weight=w, bias=b, eps=EPS), dy, x, weight, bias
        )
        assert_close_all([y.reshape(x.shape), dx.reshape(x.shape), dweight, dbias], [y_i, *grads_i])


@pytest.mark.parametrize("shape", [(5, 4, 3, 2), (8, 4)], ids=["BatchNorm2d", "BatchNorm1d"])
def test_batch_norm_matches_torch_in_training_and_eval(torch, shape):
    x, dy, weight, bias = inputs(shape)
    x3, dy3 = x.reshape(shape[0], shape[1], -1), dy.reshape(shape[0], shape[1], -1)
    functional = torch.nn.functional
    running_mean, running_var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    y_t, grads_t = torch_grads(
        torch,
        lambda t, w, b: functional.batch_norm(t, running_mean, running_var, w, b, True, 1.0, EPS),
        dy,
        x,
        weight,
        bias,
    )
    y, mean, rstd, var_unbiased, dx, dweight, dbias = channel_norm(x3, weight, bias, dy3)
    assert_close_all([y.reshape(shape), dx.reshape(shape), dweight, dbias], [y_t, *grads_t])
    np.testing.assert_allclose(var_unbiased, running_var.numpy(), rtol=1e-12)  # momentum 1: the batch's value

    eval_mean, eval_var = np.linspace(-1, 1, 4), np.linspace(0.5, 2, 4)
    eval_stats = torch.tensor(eval_mean), torch.tensor(eval_var)
    y_e, grads_e = torch_grads(
        torch, lambda t, w, b: functional.batch_norm(t, *eval_stats, w, b, False, 0.1, EPS), dy, x, weight, bias
    )
    eval_rstd = 1 / np.sqrt(eval_var + EPS)
    y = np.empty_like(x3)
    ref.channel_norm_apply(x3, eval_mean, eval_rstd, weight, bias, y)
    ref.channel_norm_backward(dy3, x3, eval_mean, eval_rstd, weight, False, dx, dweight, dbias)
    assert_close_all([y.reshape(shape), dx.reshape(shape), dweight, dbias], [y_e, *grads_e])
