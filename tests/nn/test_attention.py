"""scaled_dot_product_attention and MultiheadAttention against torch (outputs, input, mask and parameter gradients,
float32 and float64), float64 gradchecks and second-order checks, and a small transformer block written as in
PyTorch."""

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm import gradcheck, gradgradcheck
from tinygrad_norm.nn import functional

torch = pytest.importorskip("torch")

from .torch_helpers import assert_close, build_pair, compare_forward_backward  # noqa: E402

# softmax over a few scores and sums of a few dozen products
TOLERANCE = {np.float32: (2e-5, 2e-6), np.float64: (1e-10, 1e-13)}

_PATTERN = np.array([[True, False, True, True, False], [False, False, False, False, False], [True] * 5])  # (3, 5)

SDPA_CASES = [
    pytest.param((2, 3, 4), (2, 5, 4), (2, 5, 6), {}, id="plain"),
    pytest.param((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), {"scale": 0.3}, id="heads-scale"),
    pytest.param((2, 2, 5, 4), (2, 2, 3, 4), (2, 2, 3, 4), {"is_causal": True}, id="causal-longer-query"),
    pytest.param((1, 3, 3, 4), (1, 3, 5, 4), (1, 3, 5, 4), {"is_causal": True}, id="causal-longer-key"),
    pytest.param((2, 3, 4), (2, 5, 4), (2, 5, 4), {"attn_mask": _PATTERN}, id="bool-mask-dead-row"),
    pytest.param((2, 4, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), {"enable_gqa": True}, id="gqa"),
]


def _arrays(shapes, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in shapes)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("q, k, v, kwargs", SDPA_CASES)
def test_scaled_dot_product_attention_matches_torch(q, k, v, kwargs, dtype):
    mask = kwargs.get("attn_mask")
    theirs_kwargs = dict(kwargs, attn_mask=None if mask is None else torch.tensor(mask))
    compare_forward_backward(
        lambda *qkv: functional.scaled_dot_product_attention(*qkv, **kwargs),
        lambda *qkv: torch.nn.functional.scaled_dot_product_attention(*qkv, **theirs_kwargs),
        _arrays((q, k, v), dtype),
        rtol=TOLERANCE[dtype][0],
        atol=TOLERANCE[dtype][1],
    )


def test_float_mask_gets_its_gradient_as_in_torch():
    mask = np.where(_PATTERN, 0.5, -np.inf)
    mask[0, 1] = -1.25
    compare_forward_backward(
        functional.scaled_dot_product_attention,
        lambda q, k, v, m: torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=m),
        (*_arrays(((2, 3, 4), (2, 5, 4), (2, 5, 4)), np.float64), mask),
    )


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"attn_mask": _PATTERN[[0, 0, 2]]}])
def test_scaled_dot_product_attention_gradcheck(kwargs):
    q, k, v = (tn.Tensor(a, requires_grad=True) for a in _arrays(((2, 3, 4), (2, 5, 4), (2, 5, 2)), np.float64))
    fn = lambda q, k, v: functional.scaled_dot_product_attention(q, k, v, **kwargs)  # noqa: E731
    assert gradcheck(fn, q, k, v)
    assert gradgradcheck(fn, q, k, v)


def test_attention_dropout_is_reproducible_and_gradchecks():
    q, k, v = (tn.Tensor(a, requires_grad=True) for a in _arrays(((2, 3, 4), (2, 5, 4), (2, 5, 2)), np.float64))

    def fn(q, k, v):
        tn.manual_seed(9)
        return functional.scaled_dot_product_attention(q, k, v, dropout_p=0.4)

    plain = functional.scaled_dot_product_attention(q, k, v)
    assert np.array_equal(fn(q, k, v).numpy(), fn(q, k, v).numpy())
    assert not np.allclose(fn(q, k, v).numpy(), plain.numpy())
    assert gradcheck(fn, q, k, v)


MHA_CASES = [
    pytest.param(lambda nn, t: nn.MultiheadAttention(8, 2), {}, id="sequence-first"),
    pytest.param(lambda nn, t: nn.MultiheadAttention(8, 4, batch_first=True), {}, id="batch-first"),
    pytest.param(lambda nn, t: nn.MultiheadAttention(8, 4, bias=False, batch_first=True), {}, id="no-bias"),
    pytest.param(
        lambda nn, t: nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True), {"kdim": 5, "vdim": 3}, id="kdim"
    ),
    pytest.param(
        lambda nn, t: nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True), {"masks": True}, id="extras"
    ),
    pytest.param(lambda nn, t: nn.MultiheadAttention(8, 2, batch_first=True), {"masks": True}, id="masks"),
    pytest.param(
        lambda nn, t: nn.MultiheadAttention(8, 2), {"masks": True, "need_weights": False}, id="masks-no-weights"
    ),
    pytest.param(
        lambda nn, t: nn.MultiheadAttention(8, 4, batch_first=True), {"average": False, "causal": True}, id="causal"
    ),
    pytest.param(lambda nn, t: nn.MultiheadAttention(8, 2), {"unbatched": True, "masks": True}, id="unbatched"),
]


def _mha_inputs(case, batch_first, dtype):
    N, L, S = 3, 4, 5
    unbatched = case.get("unbatched", False)
    shapes = [(L, 8), (S, case.get("kdim", 8)), (S, case.get("vdim", 8))]
    if not unbatched:
        shapes = [(N, *s) if batch_first else (s[0], N, s[1]) for s in shapes]
    return _arrays(shapes, dtype, seed=2), N, L, S


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("builder, case", MHA_CASES)
def test_multihead_attention_matches_torch(builder, case, dtype):
    ours, theirs = build_pair(builder, dtype)
    arrays, N, L, S = _mha_inputs(case, ours.batch_first, dtype)
    kwargs = {"need_weights": case.get("need_weights", True), "average_attn_weights": case.get("average", True)}
    if case.get("masks"):
        padding = np.zeros(S if case.get("unbatched") else (N, S), bool)
        padding[..., 1] = True
        attention = np.random.default_rng(3).random((L, S)) < 0.3  # torch deprecates mixing bool and float masks
        kwargs.update(key_padding_mask=padding, attn_mask=attention)
    if case.get("causal"):
        kwargs.update(attn_mask=~np.tril(np.ones((L, S), bool)), is_causal=True)
    theirs_kwargs = {name: torch.tensor(a) if isinstance(a, np.ndarray) else a for name, a in kwargs.items()}
    rtol, atol = TOLERANCE[dtype]
    weights = {}

    def ours_call(*qkv):
        out, weights["ours"] = ours(*qkv, **kwargs)
        return out

    def theirs_call(*qkv):
        out, weights["theirs"] = theirs(*qkv, **theirs_kwargs)
        return out

    compare_forward_backward(ours_call, theirs_call, arrays, rtol=rtol, atol=atol)
    if kwargs["need_weights"]:
        assert_close(weights["ours"], weights["theirs"], rtol, atol, "weights")
    else:
        assert weights["ours"] is None
    for (name, p), (_, their_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, their_p.grad, rtol, atol, f"gradient of {name}")


@pytest.mark.filterwarnings("ignore:invalid value encountered in subtract")  # the softmax of a row of -inf
def test_multihead_attention_fully_masked_row_is_nan_with_weights_and_zero_without():
    ours, theirs = build_pair(lambda nn, t: nn.MultiheadAttention(4, 2, batch_first=True), np.float64)
    x = np.random.default_rng(4).standard_normal((2, 3, 4))
    padding = np.array([[True] * 3, [False, True, False]])
    for need_weights in (True, False):
        out, _ = ours(tn.tensor(x), tn.tensor(x), tn.tensor(x), key_padding_mask=padding, need_weights=need_weights)
        want, _ = theirs(*(torch.tensor(x),) * 3, key_padding_mask=torch.tensor(padding), need_weights=need_weights)
        np.testing.assert_allclose(out.numpy(), want.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_multihead_attention_initialization_and_state_dict_match_torch():
    tn.manual_seed(0)
    ours, theirs = nn.MultiheadAttention(16, 4, add_bias_kv=True), torch.nn.MultiheadAttention(16, 4, add_bias_kv=True)
    assert list(ours.state_dict()) == list(theirs.state_dict()) and repr(ours) == repr(theirs)
    assert all(ours.state_dict()[k].shape == tuple(v.shape) for k, v in theirs.state_dict().items())
    bound = (6 / (16 + 48)) ** 0.5  # xavier_uniform_ over (3E, E)
    weight = ours.in_proj_weight.numpy()
    assert np.abs(weight).max() <= bound and np.abs(weight).max() > 0.9 * bound
    assert not ours.in_proj_bias.numpy().any() and not ours.out_proj.bias.numpy().any()


def test_multihead_attention_gradcheck():
    layer = nn.MultiheadAttention(4, 2, add_bias_kv=True, batch_first=True).double()
    x = tn.Tensor(np.random.default_rng(5).standard_normal((2, 3, 4)), requires_grad=True)
    mask = np.array([[False, True, False], [False, False, True]])
    fn = lambda x, *params: layer(x, x, x, key_padding_mask=mask)[0]  # noqa: E731
    assert gradcheck(fn, x, *layer.parameters())
    assert gradgradcheck(lambda x: layer(x, x, x)[0], x)


class _Block:
    """A pre-norm transformer block written as in PyTorch, for either namespace."""

    def __new__(cls, nn, dim=8, heads=2):
        class Block(nn.Module):
            def __init__(self):
                super().__init__()
                self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
                self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
                self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(0.0))

            def forward(self, x, mask):
                h = self.norm1(x)
                x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False, is_causal=True)[0]
                return x + self.mlp(self.norm2(x))

        return Block()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_transformer_block_matches_torch(dtype):
    ours, theirs = build_pair(lambda nn, t: _Block(nn), dtype)
    x = np.random.default_rng(6).standard_normal((2, 5, 8)).astype(dtype)
    causal = ~np.tril(np.ones((5, 5), bool))
    rtol, atol = TOLERANCE[dtype]
    compare_forward_backward(
        lambda x: ours(x, causal), lambda x: theirs(x, torch.tensor(causal)), x, rtol=rtol, atol=10 * atol
    )
    for (name, p), (_, their_p) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert_close(p.grad, their_p.grad, rtol, 10 * atol, f"gradient of {name}")


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x: functional.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((3, 3), bool), is_causal=True),
         ValueError, "is_causal"),
        (lambda x: functional.scaled_dot_product_attention(x, x[..., :2], x), ValueError, "do not fit"),
        (lambda x: functional.scaled_dot_product_attention(x, x, x, dropout_p=1.5), ValueError, "dropout_p"),
        (lambda x: functional.scaled_dot_product_attention(x, x, x, attn_mask=np.ones((3, 3), int)), TypeError, "bool"),
        (lambda x: nn.MultiheadAttention(4, 3), ValueError, "divisible"),
        (lambda x: nn.MultiheadAttention(4, 2)(x, x, x, is_causal=True), ValueError, "attn_mask"),
        (lambda x: nn.MultiheadAttention(4, 2)(x, x, x, attn_mask=np.ones((3, 3), bool)), ValueError, "attn_mask"),
        (lambda x: nn.MultiheadAttention(4, 2)(x, x, x, key_padding_mask=np.ones((3, 4), bool)), ValueError, "padding"),
    ],
)
def test_bad_calls_name_the_problem(call, error, words):
    with pytest.raises(error, match=words):
        call(tn.ones(2, 3, 4))
