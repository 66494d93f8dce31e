"""The examples in docs/autograd.md, generated so the page cannot go stale.

    python docs/autograd_examples.py            # rewrite the generated blocks of autograd.md (and the SVG, with dot)
    python docs/autograd_examples.py --check    # exit 1 when autograd.md differs from what this prints

Each block sits between `<!-- begin NAME -->` and `<!-- end NAME -->` in autograd.md. Tape positions count every
op since the process started, so the blocks are made in a fresh process (as the test does).
"""

from __future__ import annotations

import argparse
import inspect
import re
import shutil
import sys
from pathlib import Path

import numpy as np

import tinygrad_norm as tn
from tinygrad_norm import Tensor, autograd, nn, viz

HERE = Path(__file__).resolve().parent
PAGE = HERE / "autograd.md"
DRAWING = HERE / "two_layer_net.svg"


def two_layer_net() -> tuple[nn.Module, Tensor, dict]:
    """The net the page watches, in float64 so its gradient norms print the same on every machine."""
    tn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    x = tn.randn(5, 3, dtype=tn.float64)
    loss = nn.functional.cross_entropy(model(x), tn.tensor([0, 1, 1, 0, 1]))
    return model, loss, dict(model.named_parameters())


def composed_layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    """LayerNorm over the last axis from Tensor ops: the tape derives the backward the fused kernel hard-codes."""
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)  # biased, as LayerNorm
    x_hat = centered * (var + eps) ** -0.5
    return x_hat * weight + bias


# ---- higher-order gradients -------------------------------------------------------------------------------


def hessian_vector_product(f, x: Tensor, v: Tensor) -> Tensor:
    """H v for the Hessian H of the scalar f at x, without forming H: the gradient of <grad f(x), v>."""
    (grad,) = autograd.grad(f(x), x, create_graph=True)  # recorded, so it can be differentiated again
    (hvp,) = autograd.grad((grad * v).sum(), x)
    return hvp


def full_hessian(f, x: Tensor) -> Tensor:
    """The Hessian of f at a vector x, one row H e_i per basis vector e_i."""
    eye = Tensor(np.eye(x.shape[0], dtype=x.dtype))
    return tn.stack([hessian_vector_product(f, x, eye[i]) for i in range(x.shape[0])])


def gradient_penalty(critic: nn.Module, x: Tensor) -> Tensor:
    """WGAN-GP's mean of (||grad_x D(x)|| - 1)^2 over the samples: a loss made of a gradient, so its backward
    differentiates the critic's backward."""
    x = x.detach().requires_grad_()
    (grad,) = autograd.grad(critic(x).sum(), x, create_graph=True)
    norms = (grad * grad).sum(axis=1).sqrt()
    return ((norms - 1) ** 2).mean()


def mlp(params: list[Tensor], x: Tensor) -> Tensor:
    """A one-hidden-layer net written as a function of its weights, so adapted weights can be swapped in."""
    w1, b1, w2, b2 = params
    return nn.functional.linear(nn.functional.linear(x, w1, b1).tanh(), w2, b2)


def maml_outer_loss(params: list[Tensor], support: tuple, query: tuple, inner_lr: float = 0.1) -> Tensor:
    """MAML: one gradient step on the support set, kept on the tape, then the loss of the adapted weights on the
    query set. Its gradient reaches `params` through the inner step (second derivatives)."""
    (xs, ys), (xq, yq) = support, query
    grads = autograd.grad(nn.functional.mse_loss(mlp(params, xs), ys), params, create_graph=True)
    adapted = [p - inner_lr * g for p, g in zip(params, grads)]
    return nn.functional.mse_loss(mlp(adapted, xq), yq)


# The reading path of the page: (file, names in it) in reading order.
READING_PATH = [
    ("tinygrad_norm/tensor.py", ["Tensor.__add__", "Tensor._promoted_operands", "Tensor._wrap_operand"]),
    ("tinygrad_norm/autograd.py", ["Function"]),
    ("tinygrad_norm/engine.py", ["VersionCounter"]),
    ("tinygrad_norm/ops/elementwise.py", ["Add", "Mul"]),
    ("tinygrad_norm/shapes.py", ["unbroadcast"]),
    ("tinygrad_norm/tensor.py", ["Tensor.backward"]),
    ("tinygrad_norm/engine.py", ["graph_nodes", "run_backward", "_accumulate_grad", "_owned_by_one_leaf"]),
    ("tinygrad_norm/engine.py", ["grad_hooks_of", "_run_hooks", "_HeldLeafGrads", "Watcher", "watching"]),
]


def reading_path() -> str:
    """The reading path as a Markdown table with each piece's first line and length, read from the code."""
    import importlib

    rows, total = ["| # | file | read | lines |", "| --- | --- | --- | --- |"], 0
    for step, (path, names) in enumerate(READING_PATH, 1):
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        pieces = []
        for name in names:
            obj = module
            for part in name.split("."):
                obj = getattr(obj, part)
            lines, first = inspect.getsourcelines(obj)
            pieces.append((name, first, len(lines)))
        count = sum(n for *_, n in pieces)
        total += count
        read = ", ".join(f"[`{name}`](../{path}#L{first})" for name, first, _ in pieces)
        rows.append(f"| {step} | `{path}` | {read} | {count} |")
    rows.append(f"| | | in all | {total} |")
    return "\n".join(rows)


def _tape_lines(root: Tensor, params: dict | None = None) -> str:
    return "\n".join(str(entry) for entry in autograd.tape(root, params))


def blocks() -> dict[str, str]:
    """Each generated block of the page by name; "dot" is the DOT text of the drawing."""
    model, loss, params = two_layer_net()
    listing = _tape_lines(loss, params)
    loss.backward(retain_graph=True)
    dot = viz.to_dot(loss, params)

    x = Tensor(tn.randn(2, 4, dtype=tn.float64).data, requires_grad=True)
    weight, bias = tn.ones(4, dtype=tn.float64, requires_grad=True), tn.zeros(4, dtype=tn.float64, requires_grad=True)
    composed = _tape_lines(composed_layer_norm(x, weight, bias).sum(), {"weight": weight, "bias": bias})
    fused = _tape_lines(nn.functional.layer_norm(x, (4,), weight, bias).sum(), {"weight": weight, "bias": bias})
    return {
        "reading-path": reading_path(),
        "tape": f"```text\n{listing}\n```",
        "dot": f"```dot\n{dot}```",
        "layer-norm-code": f"```python\n{inspect.getsource(composed_layer_norm)}```",
        "layer-norm-tapes": f"```text\n# composed from Tensor ops\n{composed}\n\n# the fused op\n{fused}\n```",
        "higher-order-code": "```python\n"
        + "\n\n".join(
            inspect.getsource(fn)
            for fn in (hessian_vector_product, full_hessian, gradient_penalty, mlp, maml_outer_loss)
        )
        + "```",
    }


def svg_contents(svg: str) -> set[str]:
    """The DOT names of the nodes and edges and the label lines drawn in an SVG that Graphviz wrote."""
    titles = set(re.findall(r"<title>([^<]*)</title>", svg)) - {"tape"}
    return titles | set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))


def dot_contents(dot: str) -> set[str]:
    """What `svg_contents` reads back from a drawing of `dot`: node names, `a&#45;&gt;b` edges, label lines."""
    nodes = set(re.findall(r"^  (\w+) \[", dot, flags=re.MULTILINE)) - {"graph", "node", "edge"}
    edges = {f"{a}&#45;&gt;{b}" for a, b in re.findall(r"^  (\w+) -> (\w+)", dot, flags=re.MULTILINE)}
    labels = {line for label in re.findall(r'label="([^"]*)"', dot) for line in label.split("\\n")}
    return nodes | edges | labels


def updated_page(page: str, generated: dict[str, str]) -> str:
    for name, text in generated.items():
        pattern = re.compile(rf"(<!-- begin {name} -->\n)(?:.*?\n)?(<!-- end {name} -->)", flags=re.DOTALL)
        if not pattern.search(page):
            raise SystemExit(f"autograd.md has no block {name!r}")
        page = pattern.sub(lambda match, text=text: match.group(1) + text + "\n" + match.group(2), page)
    return page


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only compare autograd.md with the generated blocks")
    args = parser.parse_args()
    generated = blocks()
    page = PAGE.read_text()
    expected = updated_page(page, generated)
    if args.check:
        stale = [name for name in generated if updated_page(page, {name: generated[name]}) != page]
        if stale:
            print(f"docs/autograd.md is stale in {', '.join(stale)}: run python docs/autograd_examples.py")
            return 1
        if svg_contents(DRAWING.read_text()) != dot_contents(generated["dot"]):
            print("docs/two_layer_net.svg does not draw the page's DOT text: run python docs/autograd_examples.py")
            return 1
        return 0
    PAGE.write_text(expected)
    if shutil.which("dot"):
        dot = generated["dot"].removeprefix("```dot\n").removesuffix("```")
        viz.render_dot(dot, DRAWING)
    else:
        print("dot is not installed: the SVG drawing was left as it is", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
