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
