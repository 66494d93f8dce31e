"""docs/autograd.md: its generated blocks and drawing match what docs/autograd_examples.py makes today, and the
LayerNorm it composes from Tensor ops gives the fused op's output and gradients."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_norm as tn
from tinygrad_norm import Tensor
from tinygrad_norm.nn import functional

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "autograd_examples.py"


def _examples():
    spec = importlib.util.spec_from_file_location("autograd_examples", EXAMPLES)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_page_shows_what_the_examples_make_today():
    """In a fresh process, as the page is written: tape positions count every op since the process started."""
    run = subprocess.run([sys.executable, str(EXAMPLES), "--check"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout + run.stderr


def test_every_generated_block_has_its_place_on_the_page():
    examples = _examples()
    page = (ROOT / "docs" / "autograd.md").read_text()
    for name in examples.blocks():
        assert page.count(f"<!-- begin {name} -->") == page.count(f"<!-- end {name} -->") == 1, name


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 7)])
def test_layer_norm_composed_from_tensor_ops_gives_the_fused_ops_output_and_gradients(shape, backend):
    composed_layer_norm = _examples().composed_layer_norm
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(shape) * 3 + 1, rng.standard_normal(shape[-1:]), rng.standard_normal(shape[-1:])]
    upstream = rng.standard_normal(shape)
    results = []
    with tn.use_backend(backend):
        for layer_norm in (composed_layer_norm, lambda x, w, b: functional.layer_norm(x, shape[-1:], w, b)):
            inputs = [Tensor(a.copy(), requires_grad=True) for a in arrays]
            y = layer_norm(*inputs)
            y.backward(upstream)
            results.append([y.numpy(), *(t.grad.numpy() for t in inputs)])
    for name, composed, fused in zip(("y", "dx", "dweight", "dbias"), *results):
        np.testing.assert_allclose(composed, fused, rtol=1e-10, atol=1e-12, err_msg=name)


# ---- the higher-order examples ----------------------------------------------------------------------------

torch = pytest.importorskip("torch")


def _cubic_coupled(x):
    """A small function with a full Hessian: every pair of neighbours coupled, a cubic and a tanh term."""
    return (x**3).sum() + ((x[:-1] * x[1:]) ** 2).sum() + (x.tanh() * x).sum()


def test_hessian_vector_products_match_the_full_hessian():
    examples = _examples()
    rng = np.random.default_rng(0)
    x0, v0 = rng.standard_normal(4), rng.standard_normal(4)
    x = Tensor(x0, requires_grad=True)
    expected = torch.autograd.functional.hessian(_cubic_coupled, torch.from_numpy(x0)).numpy()
    np.testing.assert_allclose(examples.full_hessian(_cubic_coupled, x).numpy(), expected, rtol=1e-10)
    hvp = examples.hessian_vector_product(_cubic_coupled, x, Tensor(v0))
    np.testing.assert_allclose(hvp.numpy(), expected @ v0, rtol=1e-10)


def test_gradient_penalty_through_an_mlp_with_layer_norm_matches_torch():
    examples = _examples()
    tn.manual_seed(0)
    critic = tn.nn.Sequential(tn.nn.Linear(3, 8), tn.nn.LayerNorm(8), tn.nn.Tanh(), tn.nn.Linear(8, 1)).double()
    twin = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.LayerNorm(8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    twin = twin.double()
    with torch.no_grad():
        for ours, theirs in zip(critic.parameters(), twin.parameters()):
            theirs.copy_(torch.from_numpy(ours.numpy()))
    x0 = np.random.default_rng(1).standard_normal((5, 3))
    penalty = examples.gradient_penalty(critic, Tensor(x0))
    penalty.backward()
    x = torch.from_numpy(x0).requires_grad_()
    (grad,) = torch.autograd.grad(twin(x).sum(), x, create_graph=True)
    expected = ((grad.norm(dim=1) - 1) ** 2).mean()
    expected.backward()
    np.testing.assert_allclose(penalty.item(), expected.item(), rtol=1e-10)
    for ours, theirs in zip(critic.parameters(), twin.parameters()):
        if theirs.grad is None:  # the last bias: the gradient with respect to x does not depend on it
            assert ours.grad is None
        else:
            np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-8, atol=1e-12)


def test_one_maml_step_matches_torch():
    examples = _examples()
    rng = np.random.default_rng(2)
    arrays = [rng.standard_normal(shape) * 0.5 for shape in ((6, 2), (6,), (1, 6), (1,))]
    support = rng.standard_normal((4, 2)), rng.standard_normal((4, 1))
    query = rng.standard_normal((3, 2)), rng.standard_normal((3, 1))
    params = [Tensor(a, requires_grad=True) for a in arrays]
    loss = examples.maml_outer_loss(params, tuple(map(Tensor, support)), tuple(map(Tensor, query)))
    grads = tn.autograd.grad(loss, params)

    def twin_mlp(ps, x):
        w1, b1, w2, b2 = ps
        return torch.nn.functional.linear(torch.nn.functional.linear(x, w1, b1).tanh(), w2, b2)

    twins = [torch.from_numpy(a).requires_grad_() for a in arrays]
    (xs, ys), (xq, yq) = [tuple(map(torch.from_numpy, pair)) for pair in (support, query)]
    inner = torch.autograd.grad(torch.nn.functional.mse_loss(twin_mlp(twins, xs), ys), twins, create_graph=True)
    adapted = [p - 0.1 * g for p, g in zip(twins, inner)]
    expected = torch.nn.functional.mse_loss(twin_mlp(adapted, xq), yq)
    np.testing.assert_allclose(loss.item(), expected.item(), rtol=1e-10)
    for ours, theirs in zip(grads, torch.autograd.grad(expected, twins)):
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-8, atol=1e-12)
