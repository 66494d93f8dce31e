"""First and second derivatives of the element-wise math, reductions, cumulative ops, indexing, shape ops,
sorting, matrix products and activations against float64 central differences (`gradcheck` and
`gradgradcheck`). Inputs keep away from kinks, ties and domain edges, where central differences are not a
derivative; linear ops are squared, so the second-order check sees their first derivative's graph."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import gradcheck, gradgradcheck
from tinygrad_norm.nn import functional as F

from .test_ops_gradcheck import _inputs, case

_INDEX = tn.tensor(np.array([[0, 2, 1, 2], [1, 0, 0, 2]]))
_SCATTER_INDEX = tn.tensor(np.array([[0, 1, 0, 2, 1], [2, 2, 0, 0, 1]]))

MATH = [
    case(lambda a: a.sin(), (2, 3), id="sin"),
    case(lambda a: a.cos(), (2, 3), id="cos"),
    case(lambda a: (a * 0.5).tan(), (2, 3), id="tan"),
    case(lambda a: (a * 0.4).asin(), (2, 3), positive=True, id="asin"),
    case(lambda a: (a * 0.4).acos(), (2, 3), positive=True, id="acos"),
    case(lambda a: a.atan(), (2, 3), id="atan"),
    case(lambda a, b: tn.atan2(a, b), (2, 3), (3,), id="atan2"),
    case(lambda a: a.sinh(), (2, 3), id="sinh"),
    case(lambda a: a.cosh(), (2, 3), id="cosh"),
    case(lambda a: a.asinh(), (2, 3), id="asinh"),
    case(lambda a: (a + 1).acosh(), (2, 3), positive=True, id="acosh"),
    case(lambda a: (a * 0.4).atanh(), (2, 3), positive=True, id="atanh"),
    case(lambda a: a.log2(), (2, 3), positive=True, id="log2"),
    case(lambda a: a.log10(), (2, 3), positive=True, id="log10"),
    case(lambda a: a.log1p(), (2, 3), positive=True, id="log1p"),
    case(lambda a: a.expm1(), (2, 3), id="expm1"),
    case(lambda a: a.exp2(), (2, 3), id="exp2"),
    case(lambda a: a.erf(), (2, 3), id="erf"),
    case(lambda a: a.erfc(), (2, 3), id="erfc"),
    case(lambda a: a.frac() ** 2, (2, 3), id="frac"),
    case(lambda a: a.reciprocal(), (2, 3), positive=True, id="reciprocal"),
    case(lambda a: a.square(), (2, 3), id="square"),
    case(lambda a: abs(a) ** 3, (2, 3), positive=True, id="python-abs"),
    case(lambda a, b: tn.maximum(a, b) ** 2, (2, 3), (3,), id="maximum"),
    case(lambda a, b: tn.minimum(a, b) ** 2, (2, 3), (3,), id="minimum"),
    case(lambda a, b: (a.clamp(min=b, max=b + 0.5)) ** 2, (2, 3), (3,), id="clamp-tensor-bounds"),
    case(lambda a, b, w: tn.lerp(a, b, w), (2, 3), (2, 3), (3,), id="lerp-tensor-weight"),
    case(lambda a, b: a.lerp(b, 0.3), (2, 3), (2, 3), id="lerp"),
    case(lambda a, b: tn.logaddexp(a, b), (2, 3), (3,), id="logaddexp"),
    case(lambda a, b: tn.copysign(a, b) ** 2, (2, 3), (3,), id="copysign"),
    case(lambda a, b: tn.fmod(a * 3, b) ** 2, (2, 3), (3,), positive=True, id="fmod"),
    case(lambda a, b: (a * 3 % b) ** 2, (2, 3), (3,), positive=True, id="remainder"),
    case(lambda a, b: a.div(b, rounding_mode=None), (2, 3), (3,), positive=True, id="div-rounding-none"),
    case(lambda a, b: tn.fmax(a, b) ** 2 + a.fmin(b), (2, 3), (3,), id="fmax-fmin"),
    case(lambda a, b: tn.xlogy(a, b), (2, 3), (3,), positive=True, id="xlogy"),
    case(lambda a: (a * 0.4).logit(), (2, 3), positive=True, id="logit"),
    case(
        lambda a, b, c: a.addcmul(b, c, value=0.5) * a.addcdiv(b, c, value=2),
        (3,),
        (3,),
        (3,),
        positive=True,
        id="addc",
    ),
    case(lambda a: a.nan_to_num() ** 2, (2, 3), id="nan_to_num"),
]

REDUCTIONS = [
    case(lambda a: a.prod(), (2, 3), id="prod"),
    case(lambda a: a.prod(1, keepdim=True), (2, 3), id="prod-dim"),
    case(lambda a: tn.std_mean(a, 1)[0] * tn.std_mean(a, 1)[1], (2, 3), id="std_mean"),
    case(lambda a: tn.var_mean(a, 0, correction=0)[0] + tn.var_mean(a)[1], (2, 3), id="var_mean"),
    case(lambda a: a.norm(), (2, 3), id="norm"),
    case(lambda a: a.norm(p=3, dim=1), (2, 3), id="norm-p3"),
    case(lambda a: a.norm(p=1, dim=0) ** 2, (2, 3), id="norm-p1"),
    case(lambda a: a.median() ** 2, (2, 3), id="median"),
    case(lambda a: a.median(1).values ** 2, (2, 3), id="median-dim"),
    case(lambda a: a.sum(dtype=np.float64) ** 2, (2, 3), id="sum-dtype"),
    case(lambda a: a.sum(dim=()) ** 2, (2, 3), id="sum-empty-dim"),
    case(lambda a: a.nansum(1) ** 2 + a.nanmean(1), (2, 3), id="nansum-nanmean"),
    case(lambda a: a.aminmax()[0] * a.aminmax()[1], (2, 3), id="aminmax"),
    case(lambda a: a.trace() ** 2, (3, 3), id="trace"),
]

CUMULATIVE = [
    case(lambda a: a.cumsum(1) ** 2, (2, 3), id="cumsum"),
    case(lambda a: a.cumprod(1), (2, 4), id="cumprod"),
    case(lambda a: a.cummax(1).values ** 2, (2, 4), id="cummax"),
    case(lambda a: a.cummin(0).values ** 2, (3, 2), id="cummin"),
    case(lambda a: a.logcumsumexp(1), (2, 4), id="logcumsumexp"),
]

INDEXING = [
    case(lambda a: a.gather(1, _INDEX) ** 2, (2, 5), id="gather"),
    case(lambda a, s: a.scatter(1, _INDEX[:, :1], s) ** 2, (2, 5), (2, 1), id="scatter"),
    case(lambda a, s: a.scatter_add(1, _INDEX, s) ** 2, (2, 3), (2, 4), id="scatter_add"),
    case(lambda a, s: a.scatter_reduce(1, _SCATTER_INDEX, s, "prod"), (2, 3), (2, 5), id="scatter_reduce-prod"),
    case(lambda a, s: a.scatter_reduce(1, _SCATTER_INDEX, s, "mean") ** 2, (2, 3), (2, 5), id="scatter_reduce-mean"),
    case(lambda a, s: a.scatter_reduce(1, _SCATTER_INDEX, s, "amax") ** 2, (2, 3), (2, 5), id="scatter_reduce-amax"),
    case(lambda a: a.index_select(1, _INDEX[0]) ** 2, (2, 3), id="index_select"),
    case(lambda a: a.masked_fill(a > 0, 0.5) ** 2, (2, 3), id="masked_fill"),
    case(lambda a: a.masked_select(a < 0) ** 2, (3, 3), id="masked_select"),
    case(lambda a: a.take_along_dim(_INDEX, 1) ** 2, (2, 3), id="take_along_dim"),
    case(lambda a: a[1, :, _INDEX[0]] ** 2, (2, 3, 3), id="getitem-torch-rules"),
    case(lambda a, v: _written(a, v) ** 2, (3, 4), (4,), id="setitem"),
    case(lambda a, s: a.index_add(1, _INDEX[0], s, alpha=2) ** 2, (2, 3), (2, 4), id="index_add"),
    case(lambda a, s: a.index_copy(1, _INDEX[0, :2], s) ** 2, (2, 3), (2, 2), id="index_copy"),
    case(lambda a: a.index_fill(0, _INDEX[1, :1], 0.5) ** 2, (2, 3), id="index_fill"),
    case(lambda a, s: (a * 1).scatter_add_(1, _INDEX, s) ** 2, (2, 3), (2, 4), id="scatter_add_"),
]


def _written(a, v):
    y = a * 1
    y[1] = v
    y[0, [0, 2]] = v[1] * v[2]
    return y


SHAPE = [
    case(lambda a: a.flip(0, 1) ** 2, (2, 3), id="flip"),
    case(lambda a: a.roll(1, 1) ** 2, (2, 3), id="roll"),
    case(lambda a: a.repeat(2, 1, 2) ** 2, (2, 3), id="repeat"),
    case(lambda a: a.repeat_interleave(2, dim=1) ** 2, (2, 3), id="repeat_interleave"),
    case(lambda a: a.split(2, 1)[1] ** 2, (2, 3), id="split"),
    case(lambda a: a.chunk(2)[0] * a.chunk(2)[1], (4, 3), id="chunk"),
    case(lambda a: a.unbind(1)[2] ** 2, (2, 3), id="unbind"),
    case(lambda a: a.unflatten(1, (2, 2)) ** 2, (3, 4), id="unflatten"),
    case(lambda a: a.unfold(1, 2, 1) ** 2, (2, 4), id="unfold"),
    case(lambda a: tn.diag(a) ** 2, (3,), id="diag-embed"),
    case(lambda a: a.diag(1) ** 2, (3, 4), id="diag-extract"),
    case(lambda a: a.diagonal(0, 1, 2) ** 2, (2, 3, 3), id="diagonal"),
    case(
        lambda a, b: tn.meshgrid(a, b, indexing="ij")[0] * tn.meshgrid(a, b, indexing="ij")[1],
        (2,),
        (3,),
        id="meshgrid",
    ),
    case(lambda a: a.narrow(1, 1, 2) ** 2, (2, 3), id="narrow"),
    case(lambda a: a.movedim(0, 2) ** 2, (2, 3, 2), id="movedim"),
    case(lambda a: a.swapaxes(0, 1) ** 2, (2, 3), id="swapaxes"),
    case(lambda a, b: a.expand_as(b) * b, (1, 3), (2, 3), id="expand_as"),
    case(lambda a: a.view_as(a.reshape(-1)) ** 2, (2, 3), id="view_as"),
    case(lambda a: a.tril(-1) ** 2 + a.triu(1), (3, 3), id="tril-triu"),
    case(lambda a, p: a.diff(n=2, dim=1, prepend=p) ** 2, (2, 4), (2, 1), id="diff"),
    case(lambda a: a.rot90(3, (1, 0)) ** 2, (2, 3), id="rot90"),
]

SORTING = [
    case(lambda a: a.sort(1).values ** 2, (2, 4), id="sort"),
    case(lambda a: a.sort(0, descending=True).values ** 2, (3, 2), id="sort-descending"),
    case(lambda a: a.topk(2, 1).values ** 2, (2, 4), id="topk"),
    case(lambda a: a.kthvalue(2, 0).values ** 2, (3, 2), id="kthvalue"),
]

LINALG = [
    case(lambda a, b: a.bmm(b), (2, 3, 4), (2, 4, 2), id="bmm"),
    case(lambda a, b: a.outer(b), (3,), (4,), id="outer"),
    case(lambda a, b: tn.einsum("bij,bjk->bik", a, b), (2, 3, 4), (2, 4, 2), id="einsum"),
    case(lambda a: tn.einsum("ii->i", a) ** 2, (3, 3), id="einsum-diagonal"),
    case(lambda a, b: tn.einsum("...i,i", a, b), (2, 3), (3,), id="einsum-ellipsis"),
    case(lambda a, b: tn.tensordot(a, b, dims=([1], [0])), (2, 3), (3, 2), id="tensordot"),
    case(lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2), (2, 2), (2, 3), (3, 2), id="addmm"),
    case(lambda c, a, b: c.baddbmm(a, b), (1, 2), (2, 2, 3), (2, 3, 2), id="baddbmm"),
    case(lambda a, b: a.cross(b) * a, (2, 3), (2, 3), id="cross"),
    case(lambda a, b: tn.cdist(a, b) + tn.cdist(a, b, p=3), (3, 2), (2, 2), id="cdist"),
    case(lambda a, b: a.dist(b, p=1.5), (2, 3), (2, 3), id="dist"),
]

ACTIVATIONS = [
    case(lambda a: F.softplus(a), (2, 3), id="softplus"),
    case(lambda a: F.softplus(a * 3, beta=2.0, threshold=2.0), (2, 3), id="softplus-threshold"),
    case(lambda a: F.elu(a), (2, 3), id="elu"),
    case(lambda a: F.celu(a, alpha=0.5), (2, 3), id="celu"),
    case(lambda a: F.selu(a), (2, 3), id="selu"),
    case(lambda a: F.relu6(a * 4) ** 2, (2, 3), id="relu6"),
    case(lambda a: F.hardtanh(a, -0.5, 0.5) ** 2, (2, 3), id="hardtanh"),
    case(lambda a: F.hardsigmoid(a * 4) ** 2, (2, 3), id="hardsigmoid"),
    case(lambda a: F.hardswish(a * 4), (2, 3), id="hardswish"),
    case(lambda a: F.mish(a), (2, 3), id="mish"),
    case(lambda a: F.logsigmoid(a), (2, 3), id="logsigmoid"),
    case(lambda a: F.softsign(a), (2, 3), id="softsign"),
    case(lambda a: F.softmin(a, dim=1), (2, 3), id="softmin"),
    case(lambda a: F.glu(a, dim=1), (2, 4), id="glu"),
    case(lambda a, w: F.prelu(a, w), (2, 3, 2), (3,), id="prelu"),
    case(lambda a: F.normalize(a, dim=1), (2, 3), id="normalize"),
]

CASES = MATH + REDUCTIONS + CUMULATIVE + INDEXING + SHAPE + SORTING + LINALG + ACTIVATIONS


@pytest.mark.parametrize("check", [gradcheck, gradgradcheck], ids=["first", "second"])
@pytest.mark.parametrize(("fn", "shapes", "positive"), CASES)
def test_derivatives(fn, shapes, positive, check):
    assert check(fn, *_inputs(shapes, positive))
