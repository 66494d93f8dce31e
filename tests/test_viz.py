"""Watching the tape: `autograd.tape` and `Tensor.print_tape`, `viz.to_dot` and `viz.render`, `autograd.trace`."""

from __future__ import annotations

import re
import shutil
import sys

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor, autograd, nn, viz


def _net() -> tuple[nn.Module, Tensor, dict]:
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    return model, tn.randn(4, 3), dict(model.named_parameters())


# ---- tape ------------------------------------------------------------------------------------------------------


def test_tape_lists_the_nodes_in_backward_order_with_op_shape_dtype_and_inputs():
    x = Tensor(np.ones((4, 3), np.float32))
    w = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    y = x @ w
    z = (y * 2).sum()
    entries = autograd.tape(z, params={"0.weight": w})
    assert [e.op for e in entries] == ["Sum", "Mul", "MatMul"]
    assert [e.position for e in entries] == sorted((e.position for e in entries), reverse=True)
    assert [(e.shape, str(e.dtype)) for e in entries] == [((), "float32"), ((4, 2), "float32"), ((4, 2), "float32")]
    total, mul, matmul = entries
    assert [i.kind for i in matmul.inputs] == ["const", "leaf"]
    assert mul.inputs[0].kind == "node" and mul.inputs[0].position == matmul.position
    assert str(matmul) == f"#{matmul.position} MatMul (4, 2) float32 <- const (4, 3), leaf 0.weight (3, 2)"
    assert str(mul) == f"#{mul.position} Mul (4, 2) float32 <- #{matmul.position}, const ()"
    assert str(total) == f"#{total.position} Sum () float32 <- #{mul.position}"
    assert str(autograd.tape(y)[0]).endswith("<- const (4, 3), leaf (3, 2)")  # an unnamed leaf
    assert autograd.tape(w) == []


def test_print_tape_prints_one_line_per_node(capsys):
    model, x, params = _net()
    loss = model(x).sum()
    loss.print_tape(params=params)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [str(entry) for entry in autograd.tape(loss, params)]
    assert len(lines) == 4 and lines[0].split()[1] == "Sum" and lines[-1].split()[1] == "AffineMap"
    assert lines[-1].endswith("<- const (4, 3), leaf 0.bias (2,), leaf 0.weight (2, 3)")


def test_a_graph_freed_by_backward_cannot_be_listed():
    model, x, params = _net()
    loss = model(x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        autograd.tape(loss)


# ---- DOT -------------------------------------------------------------------------------------------------------


def _dot_nodes(dot: str) -> dict[str, str]:
    """DOT node name -> label."""
    return dict(re.findall(r'^  (\w+) \[label="([^"]*)"', dot, flags=re.MULTILINE))


def test_to_dot_has_every_node_leaf_and_edge_and_gradient_norms_after_backward():
    model, x, params = _net()
    loss = model(x).sum()
    entries = autograd.tape(loss, params)
    dot = viz.to_dot(loss, params)
    assert dot.startswith("digraph tape {") and dot.endswith("}\n")
    nodes = _dot_nodes(dot)
    for entry in entries:
        assert nodes[f"n{entry.position}"] == f"#{entry.position} {entry.op}\\n{entry.shape} {entry.dtype}"
    leaves = sorted(label for name, label in nodes.items() if name.startswith("t"))
    assert leaves == sorted([f"{n}\\n{p.shape} float32" for n, p in params.items()] + ["const (4, 3)"])
    edges = re.findall(r"^  (\w+) -> (\w+)( \[style=dashed)?", dot, flags=re.MULTILINE)
    assert len(edges) == sum(len(e.inputs) for e in entries)
    assert sum(bool(dashed) for *_, dashed in edges) == 1  # the input x, which needs no gradient
    assert f"n{entries[0].position} [" in dot and "peripheries=2" in dot.split(f"n{entries[0].position} [")[1]

    loss.backward(retain_graph=True)
    nodes = _dot_nodes(viz.to_dot(loss, params))
    norm = np.linalg.norm(params["2.weight"].grad.numpy())
    assert any(label.startswith("2.weight") and label.endswith(f"grad norm {norm:.4g}") for label in nodes.values())


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_render_writes_the_drawing(tmp_path, suffix):
    pytest.importorskip("graphviz")
    model, x, params = _net()
    loss = model(x).sum()
    path = viz.render(loss, tmp_path / f"tape{suffix}", params)
    data = open(path, "rb").read()
    assert data.startswith(b"\x89PNG") if suffix == ".png" else b"<svg" in data and b"0.weight" in data
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"tape{suffix}"]  # the DOT source is cleaned up


def test_render_without_graphviz_says_which_extra_to_install(tmp_path, monkeypatch):
    model, x, _ = _net()
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz raises ImportError
    with pytest.raises(ImportError, match=r"tinygrad-norm\[viz\]") as error:
        viz.render(model(x).sum(), tmp_path / "tape.svg")
    assert "\n" not in str(error.value)


def test_render_without_the_dot_program_says_so(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    model, x, _ = _net()
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="dot program") as error:
        viz.render(model(x).sum(), tmp_path / "tape.svg")
    assert "\n" not in str(error.value) and "apt-get install graphviz" in str(error.value)


def test_render_needs_a_format_suffix(tmp_path):
    pytest.importorskip("graphviz")
    with pytest.raises(ValueError, match="must end in the format"):
        viz.render(tn.ones(2, requires_grad=True).sum(), tmp_path / "tape")


# ---- trace -----------------------------------------------------------------------------------------------------


def test_trace_records_forward_ops_and_backward_nodes_with_bytes_of_new_arrays():
    a = tn.ones(8, 4, requires_grad=True)
    with autograd.trace() as t:
        y = (a + 1).reshape(32)
        with tn.no_grad():
            a * 2
        y.sum().backward()
    phases = [(e.phase, e.op) for e in t.events]
    assert phases == [
        ("forward", "Add"),
        ("forward", "Reshape"),
        ("forward", "Mul"),
        ("forward", "Sum"),
        ("backward", "Sum"),
        ("backward", "Reshape"),
        ("backward", "Add"),
    ]
    add, reshape, mul, *_ = t.events
    assert add.bytes == 8 * 4 * 4 and reshape.bytes == 0  # a view allocates nothing
    assert mul.position is None and add.position is not None  # recorded only with grad on
    assert t.events[4].bytes == 0  # Sum's backward broadcasts its gradient: a view
    assert all(e.seconds >= 0 for e in t.events)
    assert not autograd._watchers  # off again after the block


def test_trace_table_is_sorted_by_time_with_one_row_per_op_and_phase():
    model, x, _ = _net()
    with autograd.trace() as t:
        model(x).sum().backward()
    header, *rows = t.table().splitlines()
    assert header.split() == ["op", "phase", "calls", "total", "ms", "mean", "us", "time", "bytes"]
    totals = [float(row.split()[3]) for row in rows]
    assert totals == sorted(totals, reverse=True)
    assert {tuple(row.split()[:3]) for row in rows} >= {("AffineMap", "forward", "2"), ("AffineMap", "backward", "2")}
    assert len(t.table(limit=3).splitlines()) == 4


def test_watchers_are_removed_when_the_block_raises():
    with pytest.raises(KeyError), autograd.trace():
        raise KeyError
    assert not autograd._watchers
