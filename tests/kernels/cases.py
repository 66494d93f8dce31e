"""Kernel cases shared by every backend's tests: awkward shapes and values, and checks against the reference.

A backend module (cpu, cuda) is checked by calling the same function on the same inputs in it and in
``reference`` and comparing every output:

    check_row_norm(backend, case)       forward (y, mean, rstd) and backward (dx, dweight, dbias)
    check_channel_norm(backend, case)   forward (y, mean, rstd, var_unbiased), apply, backward with and without
                                        batch statistics
    check_channel_norm_sync(backend, case)  the same batch in uneven shares, as SyncBatchNorm's processes hold it
    check_dropout(backend, case)        forward, backward and mask, bit for bit
    check_backend(backend, small=True)  all of the above over every case of row_norm_cases(small),
                                        channel_norm_cases(small), sync_channel_norm_cases(small) and
                                        dropout_cases(small)

``asarray`` / ``asnumpy`` move arrays to and from the backend's memory (e.g. ``cupy.asarray``, ``cupy.asnumpy``);
outputs are allocated there, filled with nan so that an output a kernel forgets to write fails the comparison.

Tolerances. The reference accumulates in float64 and rounds each output once; so must a backend. The outputs
then differ by the rounding of float64 sums taken in another order, amplified by the conditioning of the data
(mean 1e4 with std 1e-2 loses six digits to the subtraction of the mean), plus one rounding to the output dtype.
float64: rtol 1e-9. float32: rtol 1e-5, with an absolute floor of a few float32 ulps of the largest expected
value, for elements that come from cancelling terms of that size.
"""

import itertools
from dataclasses import dataclass, replace

import numpy as np
from tinygrad_norm.kernels import reference

AFFINES = ("both", "weight", "bias", "none")
LAYOUTS = ("contiguous", "transposed", "strided")
VALUES = ("normal", "constant_1e6", "mean_1e4_std_1e-2")
EPS = 1e-5


@dataclass(frozen=True)
class NormCase:
    shape: tuple  # (B, C, S) for a row norm, (N, C, S) for a channel norm
    dtype: type = np.float64
    groups: int = 1  # row norm only
    center: bool = True  # row norm only
    affine: str = "both"  # which of weight / bias are given
    layout: str = "contiguous"  # contiguous, transposed (S and C swapped in memory), strided (every other position)
    values: str = "normal"  # normal; constant_1e6: the first row / channel constant; mean_1e4_std_1e-2

    def __str__(self):
        shape = "x".join(map(str, self.shape))
        return (
            f"{shape}-{np.dtype(self.dtype).name}-G{self.groups}-{'center' if self.center else 'rms'}"
            f"-{self.affine}-{self.layout}-{self.values}"
        )


@dataclass(frozen=True)
class DropoutCase:
    shape: tuple  # (R, S)
    p: float
    seed: int
    offset: int
    dtype: type = np.float32

    def __str__(self):
        return f"{'x'.join(map(str, self.shape))}-p{self.p}-seed{self.seed}-offset{self.offset}-{np.dtype(self.dtype)}"


# ---------------------------------------------------------------------------------------------------------------
# case lists


def _variants(base_shapes, small_shapes, small):
    """Every shape with dtype x affine, and the awkward layouts and values on the first two shapes."""
    shapes = small_shapes if small else base_shapes
    cases = [
        NormCase(shape, dtype, affine=affine, **kw)
        for (shape, kw), dtype, affine in itertools.product(shapes, (np.float32, np.float64), AFFINES)
    ]
    for (shape, kw), dtype in itertools.product(shapes[:2], (np.float32, np.float64)):
        cases += [NormCase(shape, dtype, layout=layout, **kw) for layout in LAYOUTS[1:]]
        cases += [NormCase(shape, dtype, values=values, **kw) for values in VALUES[1:]]
    return cases


def row_norm_cases(small=False):
    """LayerNorm (S == 1), GroupNorm, InstanceNorm and RMSNorm shapes: one row, odd sizes, several uneven row chunks."""
    shapes = [
        ((5, 37, 1), {}),
        ((3, 12, 5), {"groups": 4}),
        ((1, 37, 1), {}),
        ((2, 6, 7), {"groups": 6}),
        ((100, 9, 1), {"groups": 3}),
        ((33, 24, 17), {"groups": 3}),
    ]
    small_shapes = [((3, 7, 1), {}), ((2, 6, 3), {"groups": 2}), ((1, 5, 1), {}), ((2, 4, 3), {"groups": 4})]
    cases = _variants(shapes, small_shapes, small)
    return cases + [replace(case, center=False) for case in cases]


def channel_norm_cases(small=False):
    """BatchNorm shapes (N, C, S): N == 1 with S > 1, odd sizes, S == 1 in several uneven row chunks, count == 1."""
    shapes = [
        ((4, 5, 9), {}),
        ((100, 3, 1), {}),
        ((1, 3, 17), {}),
        ((7, 11, 1), {}),
        ((1, 4, 1), {}),
        ((16, 8, 33), {}),
    ]
    small_shapes = [((3, 2, 5), {}), ((6, 3, 1), {}), ((1, 2, 4), {}), ((1, 3, 1), {})]
    return _variants(shapes, small_shapes, small)


def sync_channel_norm_cases(small=False):
    """BatchNorm shapes split along N into uneven shares, some empty (see ``check_channel_norm_sync``)."""
    return [case for case in channel_norm_cases(small) if case.affine in ("both", "none")]


def dropout_cases(small=False):
    """Element-wise (S == 1) and row-wise (Dropout2d) masks; p at 0 and 1; counters that wrap past 2^64."""
    shapes = [(7, 1), (3, 5)] if small else [(1000, 1), (37, 19), (1, 1), (4099, 3)]
    cases = [
        DropoutCase(shape, p, 1234567, 0, dtype)
        for shape, p, dtype in itertools.product(shapes, (0.0, 0.1, 0.5, 1.0), (np.float32, np.float64))
    ]
    return cases + [DropoutCase(shapes[0], 0.3, 2**64 - 1, 2**64 - 3), DropoutCase(shapes[1], 0.3, 0, 10**12)]


# ---------------------------------------------------------------------------------------------------------------
# inputs


def _array(rng, shape, dtype, layout, values, channel_norm):
    """A (B, C, S) array of dtype with the requested memory layout and values."""
    B, C, S = shape
    memory_shape = {
        "contiguous": (B, C, S),
        "transposed": (B, S, C),
        "strided": (B, C, 2 * S),
        "fortran": (S, C, B),
        "reversed": (B, C, S),
    }[layout]
    base = rng.standard_normal(memory_shape)
    x = _in_layout(base, layout)
    if values == "mean_1e4_std_1e-2":
        x[...] = 1e4 + 1e-2 * x
    elif values == "constant_1e6" and channel_norm:
        x[:, 0, :] = 1e6  # channel 0: var 0, rstd = 1/sqrt(eps)
    elif values == "constant_1e6":
        x[0] = 1e6  # every row of sample 0
    return _in_layout(base.astype(dtype), layout)


def _in_layout(base, layout):
    """The (B, C, S) view of the memory block ``base``; fortran and reversed (negative strides) are for edge tests."""
    views = {
        "contiguous": base,
        "transposed": base.transpose(0, 2, 1),
        "strided": base[:, :, ::2],
        "fortran": base.transpose(2, 1, 0),
        "reversed": base[::-1, ::-1, ::-1],
    }
    return views[layout]


def norm_inputs(case, seed=0, channel_norm=False):
    """x, dy (shape of the case, in its layout) and weight, bias (C,) or None."""
    rng = np.random.default_rng(seed)
    C = case.shape[1]
    x = _array(rng, case.shape, case.dtype, case.layout, case.values, channel_norm)
    dy = _array(rng, case.shape, case.dtype, case.layout, "normal", channel_norm)
    weight = (1 + 0.5 * rng.standard_normal(C)).astype(case.dtype) if case.affine in ("both", "weight") else None
    bias = rng.standard_normal(C).astype(case.dtype) if case.affine in ("both", "bias") else None
    return x, dy, weight, bias


# ---------------------------------------------------------------------------------------------------------------
# comparison


def assert_matches(actual, expected, what):
    """actual (from the backend) against expected (from the reference), to the tolerance of expected's dtype."""
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, expected {expected.dtype}"
    magnitude = float(np.nanmax(np.abs(expected), initial=0.0))
    if expected.dtype == np.float32:
        rtol, atol = 1e-5, 4 * np.finfo(np.float32).eps * magnitude
    else:
        rtol, atol = 1e-9, 1e-9 * magnitude
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, equal_nan=True, err_msg=what)


class _Comparison:
    """Calls a kernel in the backend and in the reference with the same inputs and fresh outputs, and compares."""

    def __init__(self, backend, asarray, asnumpy):
        self.backend, self.asarray, self.asnumpy = backend, asarray, asnumpy

    def run(self, function, inputs, outputs, what, exact=False):
        """inputs: the arguments before the outputs; outputs: name -> (shape, dtype), or None for an absent one.

        Outputs start as nan (255 for uint8), so one a kernel forgets to write fails. Returns the reference's.
        """
        results = []
        for module, convert in ((self.backend, self.asarray), (reference, np.asarray)):
            outs = {name: None if spec is None else convert(_unwritten(*spec)) for name, spec in outputs.items()}
            getattr(module, function)(*[convert(a) if isinstance(a, np.ndarray) else a for a in inputs], *outs.values())
            results.append(outs)
        got, expected = results
        for name, value in expected.items():
            if value is None:
                continue
            if exact:
                np.testing.assert_array_equal(self.asnumpy(got[name]), value, err_msg=f"{what}: {function} {name}")
            else:
                assert_matches(self.asnumpy(got[name]), value, f"{what}: {function} {name}")
        return expected


def _unwritten(shape, dtype):
    return np.full(shape, 255 if dtype == np.uint8 else np.nan, dtype=dtype)


def _grad_outputs(x, weight, bias):
    C = x.shape[1]
    return {
        "dx": (x.shape, x.dtype),
        "dweight": None if weight is None else ((C,), x.dtype),
        "dbias": None if bias is None else ((C,), x.dtype),
    }


def check_row_norm(backend, case, asarray=np.asarray, asnumpy=np.asarray):
    x, dy, weight, bias = norm_inputs(case)
    stats = ((case.shape[0], case.groups), np.float64)
    compare = _Comparison(backend, asarray, asnumpy)
    saved = compare.run(
        "row_norm_forward",
        [x, weight, bias, case.groups, EPS, case.center],
        {"y": (x.shape, x.dtype), "mean": stats, "rstd": stats},
        str(case),
    )
    compare.run(
        "row_norm_backward",
        [dy, x, saved["mean"], saved["rstd"], weight, case.groups, case.center],
        _grad_outputs(x, weight, bias),
        str(case),
    )


def check_channel_norm(backend, case, asarray=np.asarray, asnumpy=np.asarray):
    x, dy, weight, bias = norm_inputs(case, channel_norm=True)
    C = case.shape[1]
    stats = ((C,), np.float64)
    compare = _Comparison(backend, asarray, asnumpy)
    saved = compare.run(
        "channel_norm_forward",
        [x, weight, bias, EPS],
        {"y": (x.shape, x.dtype), "mean": stats, "rstd": stats, "var_unbiased": stats},
        str(case),
    )
    running_mean, running_rstd = np.linspace(-1, 1, C), np.linspace(0.5, 2, C)
    compare.run(
        "channel_norm_apply", [x, running_mean, running_rstd, weight, bias], {"y": (x.shape, x.dtype)}, str(case)
    )
    compare.run(
        "channel_norm_backward",
        [dy, x, saved["mean"], saved["rstd"], weight, True],
        _grad_outputs(x, weight, bias),
        f"{case} batch_stats",
    )
    compare.run(
        "channel_norm_backward",
        [dy, x, running_mean, running_rstd, weight, False],
        _grad_outputs(x, weight, bias),
        f"{case} running stats",
    )


def check_channel_norm_sync(backend, case, asarray=np.asarray, asnumpy=np.asarray):
    """The kernels of BatchNorm over several processes, x split along N into the shares [0, N/3), [N/3, N/2),
    [N/2, N) (empty ones included): each share's moments, their combination, each share's gradient sums, and each
    share's input gradient from the summed sums."""
    x, dy, weight, _ = norm_inputs(case, channel_norm=True)
    N, C, S = case.shape
    bounds = [0, N // 3, N // 2, N]
    shares = [slice(start, stop) for start, stop in zip(bounds[:-1], bounds[1:])]
    stats = ((C,), np.float64)
    compare = _Comparison(backend, asarray, asnumpy)
    moments = [compare.run("channel_norm_moments", [x[share]], {"mean": stats, "m2": stats}, f"{case} share {share}")
               for share in shares]
    counts = np.array([(share.stop - share.start) * S for share in shares], np.float64)
    means, m2s = (np.stack([m[name] for m in moments]) for name in ("mean", "m2"))
    total = compare.run("channel_norm_combine", [counts, means, m2s, EPS],
                        {"mean": stats, "rstd": stats, "var_unbiased": stats}, str(case))
    sums = [compare.run("channel_norm_grad_sums", [dy[share], x[share], total["mean"], total["rstd"]],
                        {"sum_dy": stats, "sum_dy_xhat": stats}, f"{case} share {share}") for share in shares]
    sum_dy, sum_dy_xhat = (sum(s[name] for s in sums) for name in ("sum_dy", "sum_dy_xhat"))
    for share in shares:
        compare.run("channel_norm_input_grad", [dy[share], x[share], total["mean"], total["rstd"], weight, sum_dy,
                                                sum_dy_xhat, float(counts.sum())],
                    {"dx": (x[share].shape, x.dtype)}, f"{case} share {share}")


def check_dropout(backend, case, asarray=np.asarray, asnumpy=np.asarray):
    """Dropout is exact: the same mask bits, and y = x * (1 / keep_prob) rounded once, on every backend."""
    x = np.random.default_rng(1).standard_normal(case.shape).astype(case.dtype)
    key = [case.p, case.seed, case.offset]
    compare = _Comparison(backend, asarray, asnumpy)
    compare.run("dropout_forward", [x, *key], {"y": (x.shape, x.dtype)}, str(case), exact=True)
    compare.run("dropout_backward", [x, *key], {"dx": (x.shape, x.dtype)}, str(case), exact=True)
    compare.run("dropout_mask", key, {"mask": ((x.shape[0],), np.uint8)}, str(case), exact=True)


def check_backend(backend, small=False, asarray=np.asarray, asnumpy=np.asarray):
    """Runs every case of every kernel family against the reference; raises AssertionError naming the case."""
    for case in row_norm_cases(small):
        check_row_norm(backend, case, asarray, asnumpy)
    for case in channel_norm_cases(small):
        check_channel_norm(backend, case, asarray, asnumpy)
    for case in sync_channel_norm_cases(small):
        check_channel_norm_sync(backend, case, asarray, asnumpy)
    for case in dropout_cases(small):
        check_dropout(backend, case, asarray, asnumpy)
