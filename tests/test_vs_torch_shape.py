"""Shape ops and indexing against torch (tests/torch_compare.py): values, dtypes, gradients and second
derivatives in float32 and float64, on random inputs, repeated indices and empty tensors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import tinygrad_norm as tn  # noqa: E402

from .torch_compare import compare, normal  # noqa: E402

SHAPE = {
    "flip": lambda m, x: (x.flip(0), m.flip(x, dims=(0, 2)), x.fliplr(), x.flipud()),
    "roll": lambda m, x: (x.roll(1), m.roll(x, 2, 1), x.roll((1, -3), (0, 2))),
    "repeat": lambda m, x: (x.repeat(2, 1, 1), x.repeat(1, 2, 1, 3), x.tile((2,))),
    "repeat_interleave": lambda m, x: (x.repeat_interleave(2), m.repeat_interleave(x, 3, dim=1)),
    "split": lambda m, x: (*x.split(2, 2), *m.split(x, [1, 2], dim=1)),
    "chunk": lambda m, x: (*x.chunk(3, -1), *m.chunk(x, 2, 0)),
    "unbind": lambda m, x: (*x.unbind(1), *m.unbind(x)),
    "unflatten": lambda m, x: (x.unflatten(2, (2, 2)), m.unflatten(x, -1, (-1, 1))),
    "unfold": lambda m, x: (x.unfold(2, 2, 1), x.unfold(1, 2, 2), x.unfold(0, 1, 1)),
    "diagonal": lambda m, x: (x.diagonal(), m.diagonal(x, 1, 1, 2), x.diagonal(-1, -1, 0)),
    "narrow": lambda m, x: (x.narrow(2, 1, 2), m.narrow(x, 0, 0, 1), x.narrow(-1, -2, 2)),
    "movedim": lambda m, x: (x.movedim(0, 2), m.movedim(x, (0, 1), (2, 0)), x.moveaxis(-1, 0)),
    "swapaxes": lambda m, x: (x.swapaxes(0, 2), m.swapaxes(x, 1, -1), x.swapdims(0, 1)),
    "squeeze-dims": lambda m, x: (x[:, :1].squeeze((0, 1)), m.squeeze(x[:1, :1], (0, 1, 2)), x[:1].squeeze(0)),
    "expand_as": lambda m, x: x[:1].expand_as(x),
    "view_as": lambda m, x: (x.view_as(x.reshape(-1)), x.reshape(6, 4).view_as(x)),
    "tril-triu": lambda m, x: (x.tril(), m.triu(x, 1), m.tril(x, -1), x.triu(-2)),
}


@pytest.mark.parametrize("name", SHAPE)
def test_shape_op(name):
    compare(SHAPE[name], normal(2, 3, 4))


@pytest.mark.parametrize("name", ["flip", "roll", "repeat", "tril-triu", "movedim", "swapaxes"])
def test_shape_op_on_an_empty_tensor(name):
    compare(SHAPE[name], np.zeros((2, 0, 4)))


def test_diag_of_a_vector_and_of_a_matrix():
    compare(
        lambda m, v, a: (m.diag(v), v.diag(1), v.diag(-2), a.diag(), m.diag(a, 1), a.diag(-2)), normal(3), normal(3, 4)
    )


def test_meshgrid():
    compare(lambda m, a, b: (*m.meshgrid(a, b, indexing="ij"), *m.meshgrid(a, b, indexing="xy")), normal(3), normal(4))


def test_split_and_chunk_on_uneven_sizes():
    compare(lambda m, x: (*x.split(3), *x.chunk(4), *x.chunk(3)), normal(7, 2))


def test_repeat_interleave_with_a_tensor_of_repeats():
    compare(lambda m, x, r: (x.repeat_interleave(r, dim=0), m.repeat_interleave(r)), normal(3, 2), np.array([1, 0, 2]))


def test_shape_ops_check_their_arguments():
    x = tn.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x.repeat(2)
    with pytest.raises(RuntimeError):
        x.narrow(1, 2, 2)
    with pytest.raises(IndexError):
        x.narrow(1, 4, 0)
    with pytest.raises(RuntimeError):
        x.unflatten(1, (2, 2))
    with pytest.raises(RuntimeError):
        x.chunk(0)


# ---- indexing ---------------------------------------------------------------------------------------------

INDEX = np.array([[0, 2, 1, 2], [1, 0, 0, 2]])  # repeats on purpose: gradients add up

INDEXING = {
    "gather": lambda m, x, i: (x.gather(1, i), m.gather(x, 0, i[:, :3] % 2)),
    "take_along_dim": lambda m, x, i: (
        x.take_along_dim(i, 1),
        m.take_along_dim(x, i[:, :1] % 2, 0),
        m.take_along_dim(x, i),
    ),
    "index_select": lambda m, x, i: (x.index_select(1, i[0]), m.index_select(x, 0, i[1] % 2)),
    "scatter": lambda m, x, i: (m.zeros(2, 3, dtype=x.dtype).scatter(1, i[:, :1], x[:, :1]), x.scatter(0, i % 2, 2.5)),
    "scatter_add": lambda m, x, i: m.zeros(2, 3, dtype=x.dtype).scatter_add(1, i, x[:, :4]),
    "advanced-index": lambda m, x, i: (x[1, i[0]], x[:, i], x[i[0] % 2, i[1]], x[..., -1], x[None, :, 1]),
    "bool-index": lambda m, x, i: x[x > 0],
    "masked": lambda m, x, i: (
        x.masked_fill(x > 0.5, -1.0),
        m.masked_select(x, x < 0),
        x.masked_fill(x < 0, m.tensor(2.0, dtype=x.dtype)),
    ),
    "where": lambda m, x, i: (m.where(x > 0, x, 0.0), x.where(x < 0.2, x * 2)),
}


@pytest.mark.parametrize("name", INDEXING)
def test_indexing(name):
    compare(INDEXING[name], normal(2, 5), INDEX)


def test_torch_advanced_indexing_shape_rules():
    """An integer beside an index array applies first (torch), so x[1, :, idx] is (3, 5), not numpy's (5, 3)."""
    idx = np.array([0, 3, 1, 1, 2])
    compare(lambda m, x, i: (x[1, :, i], x[:, 1, i], x[0, i % 3, 1:]), normal(2, 3, 4), idx)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce(reduce, include_self):
    index = np.array([[0, 1, 0, 2, 1], [2, 2, 0, 0, 1]])
    compare(
        lambda m, x, s, i: x.scatter_reduce(1, i, s, reduce, include_self=include_self),
        normal(2, 3),
        normal(2, 5, seed=1),
        index,
    )


def test_nonzero_and_one_argument_where():
    x = np.array([[0.0, 1.5, 0.0], [-2.0, 0.0, np.nan]])
    compare(lambda m, x: (x.nonzero(), *x.nonzero(as_tuple=True), *m.where(x), m.argwhere(x)), x, grad=False)
    compare(lambda m, x: (x.nonzero(), *m.where(x != 0)), np.zeros((0, 3)), grad=False)


def test_setitem_writes_in_place_and_differentiates():
    compare(_setitem, normal(3, 4), normal(2, 4, seed=1))


def _setitem(m, x, v):
    y = x * 1
    y[0] = v[0]
    y[1:, [0, 2]] = v[1, :2] * 3
    y[y > 1] = 0.0
    return y


def test_setitem_on_a_leaf_that_requires_grad_raises():
    x = tn.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x[0] = 1.0


def test_setitem_bumps_the_version_so_a_saved_input_is_refused():
    x = tn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    y[0] = 5.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_indexing_checks_its_arguments():
    x = tn.zeros(2, 3)
    with pytest.raises(RuntimeError):
        x.gather(1, tn.tensor([[0.5]]))
    with pytest.raises(RuntimeError):
        x.index_select(0, tn.tensor([[0, 1]]))
    with pytest.raises((RuntimeError, ValueError)):
        x.scatter_reduce(0, tn.tensor([[0]]), x, "median")


def test_index_add_copy_fill():
    index = np.array([2, 0, 2])
    compare(
        lambda m, x, s, i: (
            x.index_add(1, i, s),
            m.index_add(x, 1, i, s, alpha=-2),
            x.index_copy(1, i[:2], s[:, :2]),
            m.index_fill(x, 1, i, 1.5),
            x.index_fill(0, i[1], m.tensor(-1.0, dtype=x.dtype)),
        ),
        normal(2, 4),
        normal(2, 3, seed=1),
        index,
    )


def _written_in_place(m, x, s, i):
    """Every in-place write on a copy of x, with a gradient to x and to s through each."""
    return (
        (x * 1).scatter_(1, i[None, :2].repeat(2, 1), s[:, :2]),
        (x * 1).scatter_(0, i[None, :1] % 2, 3.0),
        (x * 1).scatter_add_(1, i[None].repeat(2, 1), s),
        (x * 1).scatter_reduce_(1, i[None].repeat(2, 1), s, "amax", include_self=False),
        (x * 1).index_add_(1, i, s, alpha=0.5),
        (x * 1).index_copy_(1, i[1:], s[:, 1:]),
        (x * 1).index_fill_(1, i, -2.0),
    )


def test_in_place_index_writes():
    compare(_written_in_place, normal(2, 4), normal(2, 3, seed=1), np.array([3, 0, 1]))


def test_in_place_index_writes_without_grad_change_the_tensor():
    x = tn.zeros(2, 3)
    version = x._version
    assert x.scatter_(1, tn.tensor([[2], [0]]), 1.0) is x
    x.index_add_(0, tn.tensor([1]), tn.ones(1, 3))
    assert x.tolist() == [[0.0, 0.0, 1.0], [2.0, 1.0, 1.0]]
    assert x._version == version + 2


def test_index_writes_check_their_arguments():
    x = tn.zeros(2, 3)
    with pytest.raises(RuntimeError, match="same dtype"):
        x.index_add(0, tn.tensor([0]), tn.zeros(1, 3, dtype=tn.float64))
    with pytest.raises(RuntimeError, match="shape"):
        x.index_copy(0, tn.tensor([0]), tn.zeros(2, 3))
    with pytest.raises(IndexError):
        x.index_fill(1, tn.tensor([3]), 0.0)


def test_diff_rot90_trace():
    compare(
        lambda m, x, p: (x.diff(), m.diff(x, n=2, dim=0), x.diff(dim=1, prepend=p, append=p), x.diff(n=5)),
        normal(3, 4),
        normal(3, 1, seed=1),
    )
    compare(lambda m, x: tuple(m.rot90(x, k, (0, 2)) for k in (-1, 0, 1, 2, 3, 5)) + (x.rot90(),), normal(2, 3, 4))
    compare(lambda m, x: (m.trace(x), x[:, :2].trace(), x[:0].trace()), normal(3, 4))


def test_cross_dist_cdist():
    compare(
        lambda m, a, b: (
            m.cross(a, b),
            m.cross(a, b[:1], dim=1),
            m.linalg.cross(a, b) if m is torch else a.cross(b, -1),
        ),
        normal(2, 3),
        normal(2, 3, seed=1),
    )
    compare(lambda m, a, b: (m.dist(a[:2], b), a[1:3].dist(b, p=1)), normal(4, 3), normal(2, 3, seed=1))
    # torch has no second derivative of cdist (ours is checked by gradgradcheck)
    compare(
        lambda m, a, b: (m.cdist(a, b), m.cdist(a, b, p=1.5), m.cdist(a, a)),
        normal(4, 3),
        normal(2, 3, seed=1),
        second=False,
    )


def test_searchsorted_bucketize_bincount():
    boundaries, values = np.array([1.0, 2.0, 2.0, 3.0]), np.array([[2.0, 0.5], [3.0, 9.0]])
    compare(
        lambda m, s, v: (m.searchsorted(s, v), m.searchsorted(s, v, right=True), m.searchsorted(s, v, side="right")),
        boundaries,
        values,
        grad=False,
    )
    compare(lambda m, s, v: m.searchsorted(s.reshape(2, 2), v), boundaries, values, grad=False)
    compare(lambda m, s, v: (m.bucketize(v, s), m.bucketize(v, s, right=True)), boundaries, values, grad=False)
    counts = np.array([0, 2, 2, 5])
    compare(lambda m, i: (m.bincount(i), m.bincount(i, minlength=8)), counts)
    compare(lambda m, i, w: m.bincount(i, weights=w), counts, np.array([0.5, 1.0, 2.0, -1.0]), grad=False)
    for m in (tn, torch):
        with pytest.raises(RuntimeError):
            m.bincount(m.tensor([-1, 2]))
