"""Cross-entropy kernels: the reference against an independent composition (numpy's log-softmax, a one-hot target,
the smoothed target distribution), Numba (cpu) against the reference on awkward shapes, the argument checks, float64
gradient checks through the op on both CPU backends, and torch.nn.functional.cross_entropy with class weights,
ignore_index and label smoothing on both backends.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from numba import njit
from tinygrad_norm.kernels import cpu, cpu_loss, reference

import tinygrad_norm as tn
from tinygrad_norm import backend, gradcheck, gradgradcheck

IGNORE = -100


@dataclass(frozen=True)
class Case:
    rows: int
    classes: int
    weighted: bool = False
    smoothing: float = 0.0
    ignored: int = 0  # how many rows (the first ones) have target IGNORE
    dtype: type = np.float64
    scale: float = 1.0  # of the logits: large ones test the log-sum-exp's stability
    layout: str = "contiguous"  # or strided: every other column of a wider array

    def __str__(self):
        return (f"{self.rows}x{self.classes}-w{int(self.weighted)}-eps{self.smoothing}-ign{self.ignored}-"
                f"{np.dtype(self.dtype).name}-x{self.scale:g}-{self.layout}")

    def arrays(self, seed=0):
        rng = np.random.default_rng(seed)
        logits = (rng.standard_normal((self.rows, 2 * self.classes)) * self.scale).astype(self.dtype)
        logits = logits[:, ::2] if self.layout == "strided" else np.ascontiguousarray(logits[:, : self.classes])
        target = rng.integers(0, self.classes, self.rows)
        target[: self.ignored] = IGNORE
        weight = rng.uniform(0.2, 2.0, self.classes).astype(self.dtype) if self.weighted else None
        dloss = rng.standard_normal(self.rows).astype(self.dtype)
        return logits, target, weight, dloss


CASES = [
    Case(8, 5),
    Case(8, 5, weighted=True, smoothing=0.2, ignored=3),
    Case(1, 1),
    Case(0, 4),
    Case(7, 1, smoothing=0.5),
    Case(3, 1000, weighted=True, smoothing=0.1),
    Case(5, 6, ignored=5),
    Case(6, 4, smoothing=1.0, weighted=True),
    Case(9, 7, dtype=np.float32, weighted=True, smoothing=0.3, ignored=2),
    Case(4, 9, scale=1e4),
    Case(4, 9, layout="strided", weighted=True, ignored=1, dtype=np.float32),
]


def run(module, logits, target, weight, smoothing, dloss):
    rows = logits.shape[0]
    loss, lse, dlogits = np.empty(rows, logits.dtype), np.empty(rows), np.empty(logits.shape, logits.dtype)
    module.cross_entropy_forward(logits, target, weight, IGNORE, smoothing, loss, lse)
    module.cross_entropy_backward(dloss, logits, target, weight, IGNORE, smoothing, lse, dlogits)
    return loss, dlogits


def composed(logits, target, weight, smoothing, dloss):
    """The loss and its gradient from log-softmax and the smoothed target distribution q, in float64:
    loss = keep * sum_c w_c q_c (-logp_c) with q = (1 - eps) onehot + eps / C (smoothing weighted per class,
    as torch), dz = dloss * keep * (sum_c w_c q_c * p - w * q)."""
    z = logits.astype(np.float64)
    rows, classes = z.shape
    keep = target != IGNORE
    w = np.ones(classes) if weight is None else weight.astype(np.float64)
    top = z.max(axis=1, keepdims=True) if classes else z
    log_p = z - top - np.log(np.exp(z - top).sum(axis=1, keepdims=True))
    q = np.full((rows, classes), smoothing / classes)
    q[np.flatnonzero(keep), target[keep]] += 1.0 - smoothing
    loss = np.where(keep, (w * q * -log_p).sum(axis=1), 0.0)
    g = np.where(keep, dloss, 0.0)[:, None]
    dz = g * ((w * q).sum(axis=1, keepdims=True) * np.exp(log_p) - w * q)
    return loss, dz


@pytest.mark.parametrize("case", CASES, ids=str)
def test_reference_matches_the_composition(case):
    logits, target, weight, dloss = case.arrays()
    loss, dlogits = run(reference, logits, target, weight, case.smoothing, dloss)
    want_loss, want_dlogits = composed(logits, target, weight, case.smoothing, dloss)
    tol = dict(rtol=1e-5, atol=1e-6) if case.dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(loss, want_loss, **tol, err_msg="loss")
    np.testing.assert_allclose(dlogits, want_dlogits, **tol, err_msg="dlogits")


@pytest.mark.parametrize("case", CASES, ids=str)
def test_cpu_matches_reference(case):
    logits, target, weight, dloss = case.arrays()
    got, want = run(cpu, logits, target, weight, case.smoothing, dloss), run(reference, *case.arrays()[:3],
                                                                              case.smoothing, dloss)
    # both sum C terms in float64 in another order; the float32 results differ by their last rounding at most
    tol = dict(rtol=2e-6, atol=1e-7) if case.dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for name, a, b in zip(("loss", "dlogits"), got, want):
        np.testing.assert_allclose(a, b, **tol, err_msg=name)


@njit
def _exps(x, y):
    for i in range(x.size):
        y[i] = cpu_loss._exp(x[i])


def test_cpu_exp_is_within_two_ulp_of_numpys():
    """The vectorizable exp of the Numba kernels against numpy's over its range, and its values past the ends."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(cpu_loss.LOWEST, cpu_loss.HIGHEST, 200_000), rng.uniform(-30, 0, 200_000),
                        rng.uniform(-1e-9, 1e-9, 1000), [0.0, -0.0, cpu_loss.LOWEST, cpu_loss.HIGHEST]])
    y = np.empty_like(x)
    _exps(x, y)
    want = np.exp(x)
    assert np.all(np.abs(y - want) <= 2 * np.spacing(want))
    ends = np.array([cpu_loss.LOWEST - 1e-9, -745.2, -np.inf, cpu_loss.HIGHEST + 1e-9, np.inf, np.nan])
    got = np.empty_like(ends)
    _exps(ends, got)
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.0, np.inf, np.inf, np.nan])


@pytest.mark.parametrize("module", [cpu, reference], ids=["cpu", "reference"])
def test_argument_checks(module):
    logits, target = np.zeros((3, 4)), np.array([0, 1, IGNORE])
    loss, lse = np.empty(3), np.empty(3)
    bad = [
        (dict(target=np.array([0, 4, 1])), "outside"),
        (dict(target=np.array([0, -1, 1])), "outside"),
        (dict(target=np.array([0.0, 1.0, 2.0])), "integer"),
        (dict(target=np.array([0, 1])), "shape"),
        (dict(logits=np.zeros((3, 0))), "C >= 1"),
        (dict(logits=np.zeros((3, 4), np.float16)), "float32 or float64"),
        (dict(weight=np.ones(3)), "weight"),
        (dict(weight=np.ones(4, np.float32)), "weight"),
        (dict(smoothing=1.5), "label_smoothing"),
        (dict(loss=np.empty(3, np.float32)), "loss"),
        (dict(lse=np.empty(2)), "lse"),
    ]
    for change, message in bad:
        args = dict(logits=logits, target=target, weight=None, smoothing=0.0, loss=loss, lse=lse)
        args.update(change)
        with pytest.raises(ValueError, match=message):
            module.cross_entropy_forward(args["logits"], args["target"], args["weight"], IGNORE, args["smoothing"],
                                         args["loss"], args["lse"])
    with pytest.raises(ValueError, match="dlogits"):
        module.cross_entropy_backward(np.ones(3), logits, target, None, IGNORE, 0.0, lse, np.empty((3, 4), np.float32))


@pytest.mark.parametrize("name", ["numba", "numpy"])
@pytest.mark.parametrize("options", [dict(), dict(weight=True, label_smoothing=0.3, ignore_index=1),
                                     dict(reduction="none", label_smoothing=0.1), dict(reduction="sum")], ids=str)
def test_gradcheck_through_the_op(name, options):
    rng = np.random.default_rng(1)
    options = dict(options)
    if options.pop("weight", False):
        options["weight"] = tn.tensor(rng.uniform(0.5, 2.0, 4))
    target = np.array([0, 1, 3, 1, 2])
    with backend.use_backend(name):
        logits = tn.tensor(rng.standard_normal((5, 4)), requires_grad=True)
        assert gradcheck(lambda x: tn.nn.functional.cross_entropy(x, target, **options), logits)
        assert gradgradcheck(lambda x: tn.nn.functional.cross_entropy(x, target, **options), logits)


@pytest.mark.parametrize("name", ["numba", "numpy"])
@pytest.mark.parametrize("options", [dict(), dict(weight=True), dict(ignore_index=2), dict(label_smoothing=0.25),
                                     dict(weight=True, ignore_index=0, label_smoothing=0.1, reduction="sum"),
                                     dict(reduction="none", weight=True), dict(spatial=True, label_smoothing=0.2)],
                         ids=str)
def test_matches_torch(name, options):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    options = dict(options)
    spatial = options.pop("spatial", False)
    shape, target_shape = ((3, 5, 2, 2), (3, 2, 2)) if spatial else ((6, 5), (6,))
    logits = rng.standard_normal(shape).astype(np.float32)
    target = rng.integers(0, 5, target_shape)
    weight = rng.uniform(0.5, 2.0, 5).astype(np.float32) if options.pop("weight", False) else None
    ours = tn.tensor(logits, requires_grad=True)
    theirs = torch.tensor(logits, requires_grad=True)
    with backend.use_backend(name):
        loss = tn.nn.functional.cross_entropy(ours, target, None if weight is None else tn.tensor(weight), **options)
        loss.sum().backward()
    expected = torch.nn.functional.cross_entropy(theirs, torch.from_numpy(target),
                                                 None if weight is None else torch.from_numpy(weight), **options)
    expected.sum().backward()
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-5, atol=1e-6)
