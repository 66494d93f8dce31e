"""detect_anomaly: the first backward node that makes a NaN or Inf is named with its tape position, shapes and the
source line of its forward; torch's anomaly mode blames the same op; outside the block nothing is kept."""

from __future__ import annotations

import inspect
import re

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import autograd, nn

SQRT_LINE = 0  # set by `_net_forward`: the line that runs the op whose backward makes the NaN


def _net_forward(layer, x):
    """Linear -> ReLU -> sqrt, multiplied by zero: the zero gradient reaching sqrt where ReLU made exactly 0 becomes
    0 / (2 * 0) = NaN in Sqrt's backward. The same code runs on our tensors and on torch's."""
    global SQRT_LINE
    h = layer(x).relu()
    SQRT_LINE = inspect.currentframe().f_lineno + 1
    return (h.sqrt() * 0).sum() + h.sum()


def _layer(framework, framework_nn):
    framework.manual_seed(0)
    layer = framework_nn.Linear(3, 4)
    with framework.no_grad():
        layer.bias.fill_(-10.0)  # every ReLU output exactly 0
    return layer


def test_the_first_nan_names_sqrt_its_position_shapes_and_the_source_line():
    layer = _layer(tn, nn)
    with autograd.detect_anomaly(), pytest.raises(RuntimeError) as error, np.errstate(invalid="ignore"):
        loss = _net_forward(layer, tn.randn(2, 3))
        sqrt_node = [e for e in autograd.tape(loss) if e.op == "Sqrt"]
        loss.backward()
    message = str(error.value)
    first = message.splitlines()[0]
    assert first.startswith(f"Function 'Sqrt' at tape position {sqrt_node[0].position} returned nan values")
    assert "gradient of its input 0 (inputs of shapes (2, 4); output gradient of shape (2, 4))" in first
    assert first.endswith(f"{__file__}:{SQRT_LINE} in _net_forward: return (h.sqrt() * 0).sum() + h.sum()")
    assert "Forward call stack (most recent call last):" in message
    assert re.search(r"test_anomaly\.py\", line \d+, in test_the_first_nan_names_sqrt", message)  # the caller


def test_torch_anomaly_mode_blames_the_same_op():
    torch = pytest.importorskip("torch")
    layer = _layer(torch, torch.nn)
    with pytest.raises(RuntimeError, match=r"Function 'SqrtBackward0' returned nan values"), pytest.warns(UserWarning):
        with torch.autograd.detect_anomaly():
            _net_forward(layer, torch.randn(2, 3)).backward()


def test_inf_is_caught_too_and_check_nan_false_only_keeps_the_stacks():
    x = tn.zeros(3, requires_grad=True)
    with autograd.detect_anomaly(), pytest.raises(RuntimeError, match="'Sqrt' .* returned inf values"):
        with np.errstate(divide="ignore"):
            x.sqrt().sum().backward()
    with autograd.detect_anomaly(check_nan=False), np.errstate(divide="ignore"):
        y = x.sqrt()
        assert y.grad_fn.forward_stack
        y.sum().backward()
    assert np.isinf(x.grad.numpy()).all()


def test_outside_the_block_nothing_is_kept_and_nothing_is_checked():
    loss = _net_forward(_layer(tn, nn), tn.randn(2, 3))
    assert all("forward_stack" not in e.node.__dict__ for e in autograd.tape(loss))
    with np.errstate(invalid="ignore"):
        loss.backward()  # the NaN reaches the weight's gradient unchecked
    assert not autograd._watchers


def test_a_forward_from_before_the_block_is_named_without_a_line():
    x = tn.zeros(3, requires_grad=True)
    y = x.sqrt()
    with autograd.detect_anomaly(), pytest.raises(RuntimeError, match="ran before detect_anomaly"):
        with np.errstate(divide="ignore"):
            y.sum().backward()
