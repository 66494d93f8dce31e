"""Convolution kernels: Numba (cpu) against the reference on awkward shapes, the reference against
torch.nn.functional, the argument checks, and float64 gradient checks through the Conv2d op on both CPU backends.

Tolerances. Both backends sum n products per output element in the input's dtype, in different orders. A float sum
of n products is off from the exact value by at most (n + 1) u sum |terms| (u = 2^-24 for float32, 2^-53 for
float64), so two backends differ by at most twice that. ``assert_within_rounding`` computes sum |terms| of every
element with the reference in float64 on |x|, |weight|, |bias| and |dy| and holds the difference to that bound.
A wrong index or a dropped term is off by a whole term: n times the bound's rounding unit, far beyond it.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from tinygrad_norm.kernels import _checks_conv, cpu, cpu_conv, reference
from tinygrad_norm.kernels._checks_conv import output_hw

import tinygrad_norm as tn
from tinygrad_norm import backend, gradcheck
from tinygrad_norm.ops.conv import Conv2d

NO_PADDING = ((0, 0), (0, 0))


@dataclass(frozen=True)
class ConvCase:
    x_shape: tuple  # (N, C, H, W)
    weight_shape: tuple  # (O, C/groups, KH, KW)
    stride: tuple = (1, 1)
    padding: tuple = NO_PADDING  # ((top, bottom), (left, right))
    dilation: tuple = (1, 1)
    groups: int = 1
    dtype: type = np.float64
    bias: bool = True
    layout: str = "contiguous"  # contiguous; transposed: x and dy stored (N, C, W, H); strided: every other column

    def __str__(self):
        shape = lambda s: "x".join(map(str, s))  # noqa: E731
        return (
            f"x{shape(self.x_shape)}-w{shape(self.weight_shape)}-s{shape(self.stride)}-p{self.padding}"
            f"-d{shape(self.dilation)}-g{self.groups}-{np.dtype(self.dtype).name}-"
            f"{'bias' if self.bias else 'nobias'}-{self.layout}"
        )

    @property
    def out_shape(self):
        out = output_hw(self.x_shape[2:], self.weight_shape[2:], self.stride, self.padding, self.dilation)
        return (self.x_shape[0], self.weight_shape[0], *out)

    def arguments(self):
        return self.stride, self.padding, self.dilation, self.groups


SHAPES = [
    ConvCase((2, 3, 5, 4), (4, 3, 1, 1)),  # 1x1 kernel
    ConvCase((2, 3, 7, 6), (4, 3, 3, 3), stride=(2, 1), padding=((1, 1), (1, 1))),  # kernel larger than the stride
    ConvCase((2, 2, 9, 8), (3, 2, 2, 2), stride=(3, 4)),  # stride larger than the kernel: skipped positions
    ConvCase((1, 2, 9, 10), (3, 2, 3, 2), dilation=(2, 3), padding=((2, 2), (1, 1))),
    ConvCase((2, 6, 5, 5), (4, 3, 3, 3), padding=((1, 1), (1, 1)), groups=2),
    ConvCase((2, 4, 6, 7), (8, 1, 3, 3), stride=(2, 2), padding=((1, 1), (1, 1)), groups=4),  # depthwise, 2 per channel
    ConvCase((1, 3, 5, 5), (3, 1, 3, 3), groups=3),  # depthwise
    ConvCase((2, 3, 5, 6), (2, 3, 3, 2), stride=(1, 2), padding=((0, 2), (3, 1))),  # asymmetric padding
    ConvCase((1, 2, 3, 3), (2, 2, 2, 2), padding=((3, 3), (2, 2))),  # windows that read padding only
    ConvCase((3, 5, 11, 13), (7, 5, 5, 3), stride=(2, 3), padding=((2, 1), (0, 2))),  # odd sizes
    ConvCase((2, 3, 4, 5), (2, 3, 4, 5)),  # the kernel covers the input: a 1x1 output
    ConvCase((1, 4, 8, 8), (5, 4, 3, 3), padding=((1, 1), (1, 1))),  # batch 1
    ConvCase((0, 3, 5, 5), (2, 3, 3, 3), padding=((1, 1), (1, 1))),  # empty batch
    ConvCase((3, 1, 28, 28), (16, 1, 3, 3), padding=((1, 1), (1, 1))),  # a small CNN's first and second layers
    ConvCase((3, 16, 14, 14), (32, 16, 3, 3), padding=((1, 1), (1, 1))),
    ConvCase((37, 2, 6, 5), (3, 2, 3, 3), padding=((1, 1), (1, 1))),  # small images: 8 to a task, a short last
]
CASES = (
    [ConvCase(**{**case.__dict__, "dtype": dtype}) for case in SHAPES for dtype in (np.float32, np.float64)]
    + [ConvCase(**{**SHAPES[1].__dict__, "layout": layout}) for layout in ("transposed", "strided")]
    + [ConvCase(**{**SHAPES[5].__dict__, "layout": "strided", "dtype": np.float32, "bias": False})]
)


def _in_layout(a, layout):
    """a (N, C, H, W) with the same values in another memory layout."""
    if layout == "transposed":
        return np.ascontiguousarray(a.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    if layout == "strided":
        wide = np.zeros((*a.shape[:3], 2 * a.shape[3]), a.dtype)
        wide[..., ::2] = a
        return wide[..., ::2]
    return a


def conv_inputs(case, seed=0):
    rng = np.random.default_rng(seed)
    x = _in_layout(rng.standard_normal(case.x_shape).astype(case.dtype), case.layout)
    weight = rng.standard_normal(case.weight_shape).astype(case.dtype)
    bias = rng.standard_normal(case.weight_shape[0]).astype(case.dtype) if case.bias else None
    dy = _in_layout(rng.standard_normal(case.out_shape).astype(case.dtype), case.layout)
    return x, weight, bias, dy


def run_conv(module, case, x, weight, bias, dy, wanted=("dx", "dweight", "dbias")):
    """y, dx, dweight, dbias from one module; outputs start as nan, so one a kernel forgets to write shows."""
    y = np.full(case.out_shape, np.nan, x.dtype)
    module.conv2d_forward(x, weight, bias, *case.arguments(), y)
    grads = {
        "dx": np.full(x.shape, np.nan, x.dtype),
        "dweight": np.full(weight.shape, np.nan, x.dtype),
        "dbias": None if bias is None else np.full(weight.shape[:1], np.nan, x.dtype),
    }
    grads = {name: value if name in wanted else None for name, value in grads.items()}
    module.conv2d_backward(dy, x, weight, *case.arguments(), *grads.values())
    return {"y": y, **grads}


def term_counts(case):
    """Products summed into one element of y (plus the bias), dx, dweight and dbias."""
    N, _, oh, ow = case.out_shape
    O, cg, kh, kw = case.weight_shape
    return {"y": cg * kh * kw + 1, "dx": O // case.groups * kh * kw, "dweight": N * oh * ow, "dbias": N * oh * ow}


def assert_within_rounding(got, expected, case, inputs, what):
    """|got - expected| <= 2 (n + 1) u sum |terms|, element by element (see the module docstring)."""
    x, weight, bias, dy = (None if a is None else np.abs(a).astype(np.float64) for a in inputs)
    magnitudes = run_conv(reference, ConvCase(**{**case.__dict__, "dtype": np.float64}), x, weight, bias, dy)
    u = np.finfo(case.dtype).eps / 2
    for name, n in term_counts(case).items():
        if expected[name] is None:
            assert got[name] is None, f"{what}: {name} written though not asked for"
            continue
        assert got[name].dtype == expected[name].dtype == case.dtype, f"{what}: {name} dtype"
        bound = 2 * (n + 1) * u * magnitudes[name]
        error = np.abs(got[name].astype(np.float64) - expected[name])
        assert np.all(error <= bound), f"{what}: {name} off by {np.max(error - bound):.3g} beyond the rounding bound"


# ---------------------------------------------------------------------------------------------------------------
# numba against the reference


@pytest.mark.parametrize("case", CASES, ids=str)
def test_cpu_matches_reference(case):
    inputs = conv_inputs(case)
    assert_within_rounding(run_conv(cpu, case, *inputs), run_conv(reference, case, *inputs), case, inputs, str(case))


@pytest.mark.parametrize("wanted", [("dx",), ("dweight",), ("dbias",), ("dx", "dbias")], ids="+".join)
def test_cpu_computes_only_the_wanted_gradients(wanted):
    case = SHAPES[4]
    inputs = conv_inputs(case)
    got, expected = run_conv(cpu, case, *inputs, wanted=wanted), run_conv(reference, case, *inputs, wanted=wanted)
    assert_within_rounding(got, expected, case, inputs, str(wanted))


def test_cpu_takes_the_batch_in_chunks_of_whole_images(monkeypatch):
    """Columns of 2 images per chunk: 5 images go in chunks of 2, 2 and 1, with the same results."""
    case = ConvCase((5, 3, 6, 7), (4, 3, 3, 2), stride=(1, 2), padding=((1, 0), (1, 1)), dtype=np.float32)
    per_image = 3 * 3 * 2 * case.out_shape[2] * case.out_shape[3]
    monkeypatch.setattr(cpu_conv, "COLUMN_ELEMENTS", 2 * per_image + 1)
    assert cpu_conv._chunks(5, per_image) == [(0, 2), (2, 2), (4, 1)]
    inputs = conv_inputs(case)
    assert_within_rounding(run_conv(cpu, case, *inputs), run_conv(reference, case, *inputs), case, inputs, "chunks")


def columns_shape(module, case):
    return module.conv2d_columns_shape(case.x_shape, case.weight_shape, case.out_shape[2:], case.groups)


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_backward_reads_the_columns_the_forward_kept(case, module):
    """The same results with the columns kept as without, and the weight gradient read from them: x is zeroed
    between the forward and the backward."""
    x, weight, bias, dy = conv_inputs(case)
    expected = run_conv(module, case, x, weight, bias, dy)
    columns = np.full(columns_shape(module, case), np.nan, x.dtype)
    y = np.full(case.out_shape, np.nan, x.dtype)
    module.conv2d_forward(x, weight, bias, *case.arguments(), y, columns)
    got = {"y": y, "dx": np.empty(x.shape, x.dtype), "dweight": np.empty_like(weight)}
    got["dbias"] = None if bias is None else np.empty_like(bias)
    module.conv2d_backward(dy, np.zeros_like(x), weight, *case.arguments(), got["dx"], got["dweight"], got["dbias"],
                           columns)
    for name, value in expected.items():
        np.testing.assert_array_equal(got[name], value, err_msg=name)


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_columns_are_kept_up_to_kept_columns_entries(module, monkeypatch):
    case = SHAPES[4]  # columns (2, 2 * 5 * 5, 3 * 3 * 3) in the reference's layout: 1350 entries
    x, weight, bias, _ = conv_inputs(case)
    assert columns_shape(module, case) is not None
    monkeypatch.setattr(_checks_conv, "KEPT_COLUMNS", 1349)
    assert columns_shape(module, case) is None
    with pytest.raises(ValueError, match="columns must be None"):
        module.conv2d_forward(x, weight, bias, *case.arguments(), np.empty(case.out_shape), np.empty((2, 50, 27)))


def test_cpu_keeps_no_columns_for_a_batch_in_chunks(monkeypatch):
    case = ConvCase((5, 3, 6, 7), (4, 3, 3, 2), padding=((1, 0), (1, 1)))
    assert columns_shape(cpu_conv, case) == (1, 18, 5 * 5 * 8)
    monkeypatch.setattr(cpu_conv, "COLUMN_ELEMENTS", 2 * 18 * 5 * 8)
    assert columns_shape(cpu_conv, case) is None


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_kept_columns_are_checked(module):
    case = SHAPES[4]
    x, weight, bias, dy = conv_inputs(case)
    shape = columns_shape(module, case)
    y, dweight = np.empty(case.out_shape), np.empty_like(weight)
    with pytest.raises(ValueError, match="columns must have shape"):
        module.conv2d_forward(x, weight, bias, *case.arguments(), y, np.empty(shape[:-1] + (shape[-1] + 1,)))
    with pytest.raises(TypeError, match="columns must have dtype float64"):
        module.conv2d_backward(dy, x, weight, *case.arguments(), None, dweight, None, np.empty(shape, np.float32))
    with pytest.raises(ValueError, match="columns must be C-contiguous"):
        module.conv2d_backward(dy, x, weight, *case.arguments(), None, dweight, None, np.empty(shape, order="F"))


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_backward_input_gives_the_input_gradient_without_x(case, module):
    """conv2d_backward_input (the transposed convolution's forward) against the reference's full backward."""
    inputs = conv_inputs(case)
    x, weight, _, dy = inputs
    dx = np.full(x.shape, np.nan, x.dtype)
    module.conv2d_backward_input(dy, weight, *case.arguments(), dx)
    expected = run_conv(reference, case, *inputs, wanted=("dx",))
    assert_within_rounding({**expected, "dx": dx}, expected, case, inputs, str(case))


# ---------------------------------------------------------------------------------------------------------------
# the reference against torch


@pytest.mark.parametrize("case", [case for case in CASES if case.dtype == np.float64], ids=str)
def test_reference_matches_torch(case):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x, weight, bias, dy = conv_inputs(case)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(weight, requires_grad=True)
    bt = None if bias is None else torch.tensor(bias, requires_grad=True)
    (top, bottom), (left, right) = case.padding
    yt = F.conv2d(F.pad(xt, (left, right, top, bottom)), wt, bt, case.stride, 0, case.dilation, case.groups)
    yt.backward(torch.tensor(dy))
    expected = {"y": yt, "dx": xt.grad, "dweight": wt.grad, "dbias": None if bt is None else bt.grad}
    expected = {name: None if t is None else t.detach().numpy() for name, t in expected.items()}
    assert_within_rounding(
        run_conv(reference, case, x, weight, bias, dy), expected, case, (x, weight, bias, dy), str(case)
    )


# ---------------------------------------------------------------------------------------------------------------
# argument checks, the same on both backends

X, W = np.zeros((2, 4, 5, 5), np.float32), np.zeros((6, 2, 3, 3), np.float32)
ONE = (1, 1)


def _y(shape=(2, 6, 3, 3), dtype=np.float32):
    return np.empty(shape, dtype)


FORWARD_ERRORS = [
    (lambda: (X.astype(np.int32), W, None, ONE, NO_PADDING, ONE, 2, _y()), TypeError, "x must be a float32"),
    (lambda: (X, W.astype(np.float64), None, ONE, NO_PADDING, ONE, 2, _y()), TypeError, "weight must have dtype"),
    (lambda: (X[0], W, None, ONE, NO_PADDING, ONE, 2, _y()), ValueError, r"x must have shape \(N, C, H, W\)"),
    (lambda: (X, W, None, ONE, NO_PADDING, ONE, 3, _y()), ValueError, "groups must be a positive integer"),
    (lambda: (X, W, None, ONE, NO_PADDING, ONE, 1, _y()), ValueError, "groups"),
    (lambda: (X, W, np.zeros(5, np.float32), ONE, NO_PADDING, ONE, 2, _y()), ValueError, "bias must have shape"),
    (lambda: (X, W, None, (0, 1), NO_PADDING, ONE, 2, _y()), ValueError, "stride must be a pair"),
    (lambda: (X, W, None, ONE, NO_PADDING, (1, True), 2, _y()), ValueError, "dilation must be a pair"),
    (lambda: (X, W, None, ONE, ((1, -1), (0, 0)), ONE, 2, _y()), ValueError, "padding must be"),
    (lambda: (X, W, None, ONE, (1, 1), ONE, 2, _y()), ValueError, "padding must be"),
    (lambda: (X, W, None, ONE, NO_PADDING, (3, 3), 2, _y()), ValueError, "smaller than the kernel"),
    (lambda: (X, W, None, ONE, NO_PADDING, ONE, 2, _y((2, 6, 3, 4))), ValueError, r"y must have shape \(2, 6, 3, 3\)"),
    (lambda: (X, W, None, ONE, NO_PADDING, ONE, 2, _y((2, 6, 3, 6))[..., ::2]), ValueError, "C-contiguous"),
]


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
@pytest.mark.parametrize("arguments, error, message", FORWARD_ERRORS)
def test_forward_rejects_bad_arguments_alike(module, arguments, error, message):
    with pytest.raises(error, match=message):
        module.conv2d_forward(*arguments())


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_backward_rejects_dy_of_the_wrong_shape_and_a_strided_dweight(module):
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 6, 3, 3\)"):
        module.conv2d_backward(_y((2, 6, 3, 2)), X, W, ONE, NO_PADDING, ONE, 2, None, None, None)
    with pytest.raises(ValueError, match="dweight is an output and must be C-contiguous"):
        module.conv2d_backward(
            _y(), X, W, ONE, NO_PADDING, ONE, 2, None, np.empty((6, 2, 3, 6), np.float32)[..., ::2], None
        )


@pytest.mark.parametrize("module", [reference, cpu], ids=["reference", "cpu"])
def test_backward_input_rejects_bad_arguments_alike(module):
    with pytest.raises(ValueError, match=r"dy must have shape \(2, 6, 3, 3\)"):
        module.conv2d_backward_input(_y((2, 6, 3, 2)), W, ONE, NO_PADDING, ONE, 2, np.empty_like(X))
    with pytest.raises(ValueError, match=r"dx must have shape \(N, C, H, W\)"):
        module.conv2d_backward_input(_y(), W, ONE, NO_PADDING, ONE, 2, np.empty((4, 5, 5), np.float32))
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        module.conv2d_backward_input(_y(), W, ONE, NO_PADDING, ONE, 3, np.empty_like(X))
    with pytest.raises(TypeError, match="dy must have dtype float32"):
        module.conv2d_backward_input(_y(dtype=np.float64), W, ONE, NO_PADDING, ONE, 2, np.empty_like(X))


# ---------------------------------------------------------------------------------------------------------------
# float64 gradient checks through the op (bias fused), on both CPU backends


@pytest.mark.parametrize("name", ["numba", "numpy"])
@pytest.mark.parametrize("case", [SHAPES[i] for i in (1, 2, 3, 5, 7, 8)], ids=str)
def test_conv_op_gradcheck(case, name):
    x, weight, bias, _ = conv_inputs(case, seed=3)
    leaves = [tn.tensor(a, requires_grad=True) for a in (x, weight, bias)]
    kwargs = dict(zip(("stride", "padding", "dilation", "groups"), case.arguments()))
    with backend.use_backend(name):
        assert gradcheck(lambda *inputs: Conv2d.apply(*inputs, **kwargs), *leaves)
        assert gradcheck(lambda x, w: Conv2d.apply(x, w, **kwargs), *leaves[:2])


def test_cuda_backend_runs_the_reference_on_cupy_arrays():
    cupy = pytest.importorskip("cupy")
    if not cupy.cuda.is_available():
        pytest.skip("no CUDA GPU")
    from tinygrad_norm.kernels import cuda

    case = ConvCase((2, 4, 6, 7), (8, 2, 3, 2), stride=(2, 1), padding=((1, 0), (1, 2)), groups=2)
    inputs = conv_inputs(case)
    y = cupy.empty(case.out_shape)
    cuda.conv2d_forward(*(cupy.asarray(a) for a in inputs[:3]), *case.arguments(), y)
    expected = run_conv(reference, case, *inputs)
    np.testing.assert_allclose(cupy.asnumpy(y), expected["y"], rtol=1e-12, atol=1e-12)
