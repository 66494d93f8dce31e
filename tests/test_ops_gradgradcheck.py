"""Second derivatives of every op against float64 central differences (`tinygrad_norm.gradgradcheck`): the
backward recorded with create_graph must give the plain backward's first derivatives, and its own gradient must
match central differences of them. The cases are test_ops_gradcheck's."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_norm import gradgradcheck
from tinygrad_norm.nn import functional

from .test_ops_gradcheck import (
    ELEMENTWISE,
    GRAPHS,
    LINEAR_X_SHAPES,
    LOSSES,
    MATMUL_SHAPES,
    MOVEMENT,
    REDUCTIONS,
    _inputs,
)


def _check(fn, shapes, positive: bool) -> None:
    assert gradgradcheck(fn, *_inputs(shapes, positive))


@pytest.mark.parametrize(("fn", "shapes", "positive"), ELEMENTWISE)
def test_elementwise(fn, shapes, positive):
    _check(fn, shapes, positive)


def test_astype_round_trip():
    """Through float32 and back (and squared, so the second derivative is not zero): a large eps, as in the
    first-order check, since the forward rounds to float32."""
    (x,) = _inputs([(2, 3)])
    assert gradgradcheck(lambda t: (t.astype(np.float32).astype(np.float64) * 3) ** 2, x, eps=1e-2, atol=1e-4)


@pytest.mark.parametrize(("a_shape", "b_shape"), MATMUL_SHAPES, ids=str)
def test_matmul(a_shape, b_shape):
    _check(lambda a, b: a @ b, (a_shape, b_shape), positive=False)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no-bias"])
@pytest.mark.parametrize("x_shape", LINEAR_X_SHAPES, ids=str)
def test_linear(x_shape, bias):
    """The fused affine map: its composed formula against its backward, then its second derivatives."""
    shapes = (x_shape, (4, 3), (4,)) if bias else (x_shape, (4, 3))
    _check(lambda *xs: functional.linear(*xs) ** 2, shapes, positive=False)


def test_linear_with_a_1d_weight():
    _check(lambda *xs: functional.linear(*xs) ** 2, ((2, 3), (3,)), positive=False)


@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("axis", [None, 1, (0, 2)], ids=str)
@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction(name, axis, keepdims):
    reduce = REDUCTIONS[name]
    _check(lambda x: reduce(x, axis, keepdims), [(2, 3, 2)], positive=False)


@pytest.mark.parametrize("name", ["max", "min"])
def test_max_and_min_values_along_a_dim(name):
    _check(lambda x: getattr(x, name)(1).values ** 2, [(2, 3, 2)], positive=False)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_family(name, axis):
    _check(lambda x: getattr(x, name)(axis), [(2, 3, 2)], positive=False)


@pytest.mark.parametrize(("fn", "shapes", "positive"), MOVEMENT)
def test_movement(fn, shapes, positive):
    """Linear ops have zero second derivatives; squaring makes the check see the first derivative's graph."""
    _check(lambda *xs: fn(*xs) ** 2, shapes, positive)


@pytest.mark.parametrize(("fn", "shapes", "positive"), LOSSES)
def test_loss(fn, shapes, positive):
    _check(fn, shapes, positive)


@pytest.mark.parametrize(("fn", "shapes", "positive"), GRAPHS)
def test_graph(fn, shapes, positive):
    _check(fn, shapes, positive)
