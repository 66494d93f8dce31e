"""The tape made visible: `tape(root)` lists the nodes a tensor depends on, `to_dot` draws them as Graphviz
DOT text and `render` writes that drawing to SVG or PNG. All of it reads the tape and changes nothing.

    loss = model(x).sum()
    loss.print_tape(params=dict(model.named_parameters()))   # #7 Mul (4, 3) float32 <- #5, leaf 0.weight (3, 2)
    viz.render(loss, "tape.svg", params=dict(model.named_parameters()))

A node's output is not kept on the node (the output owns the node, not the other way round), so its shape and
dtype are read from the tensor that its consumer took as input, or from `root` itself. A graph that a backward
without `retain_graph=True` has freed cannot be read; draw it before, or keep it, to see gradient norms.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from .autograd import Function, graph_nodes

if TYPE_CHECKING:
    from .tensor import Tensor

VIZ_EXTRA = "pip install 'tinygrad-norm[viz]' and Graphviz's dot program (e.g. apt-get install graphviz)"


# ---- the tape as a list ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TapeInput:
    """One input of a node: the output of the node at `position` ("node"), a leaf that requires grad ("leaf",
    `name` when `params` knows it) or a tensor the tape does not differentiate ("const")."""

    kind: str
    shape: tuple[int, ...]
    position: int | None = None
    name: str | None = None
    tensor: Any = field(default=None, repr=False, compare=False)

    def __str__(self) -> str:
        if self.kind == "node":
            return f"#{self.position}"
        return " ".join(str(part) for part in (self.kind, self.name, self.shape) if part is not None)


@dataclass(frozen=True)
class TapeEntry:
    """One node: its tape position, op, output shape and dtype, and inputs; `node` is the `Function` itself and
    `output` the tensor it made."""

    position: int
    op: str
    shape: tuple[int, ...]
    dtype: np.dtype
    inputs: tuple[TapeInput, ...]
    node: Function = field(repr=False, compare=False)
    output: Any = field(repr=False, compare=False)

    def __str__(self) -> str:
        inputs = ", ".join(str(i) for i in self.inputs)
        return f"#{self.position} {self.op} {self.shape} {self.dtype} <- {inputs}"


def tape(root: Tensor, params: Mapping[str, Tensor] | None = None) -> list[TapeEntry]:
    """The nodes `root` depends on, in the order backward runs them (newest tape position first); empty for a
    leaf. `params` (e.g. `dict(model.named_parameters())`) names the leaves it holds."""
    if root._ctx is None:
        return []
    names = {id(t): name for name, t in (params or {}).items()}
    nodes = graph_nodes([root._ctx])
    outputs = {id(root._ctx): root}
    for fn in nodes:
        for tensor, parent in zip(fn.inputs, fn.parents):
            if parent is not None:
                outputs.setdefault(id(parent), tensor)
    entries = []
    for fn in nodes:
        inputs = tuple(
            TapeInput("node", t.shape, position=parent.position, tensor=t)
            if parent is not None
            else TapeInput("leaf" if needed else "const", t.shape, name=names.get(id(t)), tensor=t)
            for t, parent, needed in zip(fn.inputs, fn.parents, fn.needs_input_grad)
        )
        out = outputs[id(fn)]
        entries.append(TapeEntry(fn.position, type(fn).__name__, out.shape, out.dtype, inputs, fn, out))
    return entries


# ---- the tape as a drawing ------------------------------------------------------------------------------------


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _grad_norm(tensor) -> str:
    """A line with the norm of `tensor.grad`, or nothing when it has none."""
    if tensor is None or tensor.grad is None:
        return ""
    norm = float(tensor.xp.linalg.norm(tensor.grad.data.reshape(-1).astype(np.float64)))
    return f"\ngrad norm {norm:.4g}" if math.isfinite(norm) else f"\ngrad norm {norm}"


def to_dot(root: Tensor, params: Mapping[str, Tensor] | None = None) -> str:
    """Graphviz DOT text of the graph `root` depends on, data flowing down: leaves (green when they require
    grad), constants (grey), ops as boxes with tape position, output shape and dtype, `root` outlined twice.
    An input that needs a gradient is a solid edge, one that does not a dashed one. After a backward with
    `retain_graph=True`, leaves (and tensors that `retain_grad()`) show the norm of their gradient."""
    lines = [
        "digraph tape {",
        '  graph [rankdir=TB, fontname="Helvetica"];',
        '  node [fontname="Helvetica", fontsize=10];',
        '  edge [color="#555555"];',
    ]
    leaf_ids: dict[int, str] = {}  # id(tensor) -> DOT name, so a leaf used twice is drawn once
    for entry in reversed(tape(root, params)):  # oldest first: the drawing reads top-down in tape order
        node_id = f"n{entry.position}"
        out = entry.output
        grad = _grad_norm(out) if out._retains_grad and out._ctx is entry.node else ""
        outline = ", peripheries=2" if entry.node is root._ctx else ""
        label = f"#{entry.position} {entry.op}\n{entry.shape} {entry.dtype}{grad}"
        lines.append(f'  {node_id} [label={_quote(label)}, shape=box, style="rounded,filled", '
                     f'fillcolor="#dbe8f6"{outline}];')
        for source in entry.inputs:
            if source.kind == "node":
                lines.append(f"  n{source.position} -> {node_id};")
                continue
            key = id(source.tensor)
            if key not in leaf_ids:
                leaf_ids[key] = f"t{len(leaf_ids)}"
                lines.append(f"  {leaf_ids[key]} [{_leaf_style(source)}];")
            style = "" if source.kind == "leaf" else ' [style=dashed, color="#999999"]'
            lines.append(f"  {leaf_ids[key]} -> {node_id}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _leaf_style(source: TapeInput) -> str:
    tensor = source.tensor
    if source.kind == "leaf":
        label = f"{source.name or 'leaf'}\n{source.shape} {tensor.dtype}{_grad_norm(tensor)}"
        return f'label={_quote(label)}, shape=ellipse, style=filled, fillcolor="#d5f0d5"'
    return f'label={_quote(f"const {source.shape}")}, shape=plaintext, fontcolor="#777777"'


def render(root: Tensor, path: str | os.PathLike, params: Mapping[str, Tensor] | None = None) -> str:
    """Draw `to_dot(root, params)` into `path`, in the format its suffix names (.svg, .png, .pdf); returns the
    path. Needs the `graphviz` package and Graphviz's `dot` program (the `viz` extra)."""
    return render_dot(to_dot(root, params), path)


def render_dot(dot: str, path: str | os.PathLike) -> str:
    """Draw DOT text into `path`, in the format its suffix names; returns the path (see `render`)."""
    try:
        import graphviz
    except ImportError:
        raise ImportError(f"render needs the graphviz package: {VIZ_EXTRA}") from None
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1]
    if not suffix:
        raise ValueError(f"render: path must end in the format to write, e.g. .svg or .png, got {path!r}")
    try:
        return graphviz.Source(dot).render(outfile=path, format=suffix[1:], cleanup=True)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(f"render needs Graphviz's dot program on PATH: {VIZ_EXTRA}") from None
