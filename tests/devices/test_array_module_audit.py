"""No hidden numpy call on device data: the code that computes on a tensor's array (ops/, the tensor, autograd and
the tools that watch it, nn/, optim/) goes through the array's module (`xp`: numpy or CuPy). A numpy function
called there on a CuPy array would copy it to the host (or fail), so every call of a numpy function in those files
is listed below with why it never sees device data. A new call fails this test until it is checked and listed; a
listed call that is gone fails it too, so the list stays the code's. (test_cuda_tensors.py walks every op on a real
GPU.)
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "tinygrad_norm"
SCANNED = ["ops/*.py", "tensor*.py", "autograd.py", "hooks.py", "anomaly.py", "trace.py", "viz.py", "nn/*.py",
           "optim/*.py"]

AT_CONSTRUCTION = "a layer's parameters and buffers are made in host memory; Module.to moves them"
HOST_STEP = "an optimizer's step count is a host scalar (torch keeps it on the CPU too)"
SHAPES = "arithmetic on shapes and axes, host integers"
NO_WARNINGS = "numpy's warning switch; CuPy warns not"
ALLOWED = {  # file: {the call's source: why its arguments are never device arrays}
    "autograd.py": {"np.asarray(data)": "only for a numpy scalar (isinstance np.generic), which CuPy never returns"},
    "nn/attention.py": {"np.broadcast_shapes(mask.shape, scores.shape)": SHAPES},
    "nn/conv.py": {
        "np.empty((*channels, *self.kernel_size), np.float32)": AT_CONSTRUCTION,
        "np.empty(out_channels, np.float32)": AT_CONSTRUCTION,
    },
    "nn/linear.py": {
        "np.empty((self.out_features, self.in_features), np.float32)": AT_CONSTRUCTION,
        "np.empty((self.num_embeddings, self.embedding_dim), np.float32)": AT_CONSTRUCTION,
        "np.empty(self.out_features, np.float32)": AT_CONSTRUCTION,
    },
    "nn/activation_layers.py": {
        "np.dtype(dtype or np.float32)": "a dtype object",
        "np.full(self.num_parameters, init, dtype=np.dtype(dtype or np.float32))": AT_CONSTRUCTION,
    },
    "nn/loss.py": {"np.dtype(np.int64)": "a dtype object"},
    "nn/multihead_attention.py": {
        call: AT_CONSTRUCTION
        for call in ("np.empty((3 * E, E), np.float32)", "np.empty((E, features), np.float32)",
                     "np.empty(3 * E, np.float32)", "np.empty((1, 1, E), np.float32)")
    },
    "nn/module.py": {"np.empty(0, np.float32)": "an empty Parameter() made in host memory, as torch's"},
    "nn/normalization.py": {
        "np.zeros(num_features, np.float32)": AT_CONSTRUCTION,
        "np.ones(num_features, np.float32)": AT_CONSTRUCTION,
        "np.zeros((), np.int64)": AT_CONSTRUCTION,
        "np.ones(shape, np.float32)": AT_CONSTRUCTION,
        "np.zeros(shape, np.float32)": AT_CONSTRUCTION,
        "np.ones(self.normalized_shape, np.float32)": AT_CONSTRUCTION,
    },
    "nn/norms.py": {"np.finfo(input.dtype)": "of a dtype"},
    "nn/state_dict.py": {
        call: "a state dict's values are first copied to host memory (_as_array)"
        for call in ("np.iinfo(dtype)", "np.asarray(value)", "np.array(array.tolist())", "np.isin(array, (0, 1))",
                     "np.isfinite(array)", "np.round(array)")
    },
    "nn/utils.py": {
        "np.minimum(max_norm / (total + 1e-6), 1.0)": "of Python floats (the norm was summed with float())",
        "np.asarray(total, dtype=grads[0].dtype)": "of a Python float, then placed on the gradients' device",
    },
    "nn/upsampling.py": {"np.dtype(dtype)": "a dtype object"},
    "ops/binary.py": {
        call: NO_WARNINGS
        for call in ('np.errstate(divide="ignore", invalid="ignore")', 'np.errstate(invalid="ignore")',
                     'np.errstate(over="ignore", invalid="ignore")')
    },
    "ops/cumulative.py": {'np.errstate(divide="ignore", invalid="ignore", over="ignore")': NO_WARNINGS},
    "ops/elementwise.py": {'np.errstate(divide="ignore", invalid="ignore")': NO_WARNINGS},
    "ops/scatter.py": {"np.iinfo(dtype)": "of a dtype"},
    "ops/unary.py": {'np.errstate(all="ignore")': NO_WARNINGS},
    "ops/movement.py": {"np.argsort(self.axes)": "of a tuple of axes"},
    "ops/pool.py": {"np.iinfo(x.dtype)": "of a dtype"},
    "shapes.py": {"np.prod(shape, dtype=np.int64)": SHAPES},
    "ops/special.py": {"np.empty(work.shape, work.dtype)": "in the numpy branch only (CuPy arrays take cupyx's erf)"},
    "optim/adagrad.py": {"np.array(0.0, np.float32)": HOST_STEP},
    "optim/adam.py": {"np.array(0.0, np.float32)": HOST_STEP},
    "optim/rmsprop.py": {"np.array(0.0, np.float32)": HOST_STEP},
    "optim/optimizer.py": {
        "np.asarray(_host_copy(value))": HOST_STEP,
        "np.array(float(step), np.float32)": HOST_STEP,
        "np.asarray(value)": "only when array_module(value) is numpy; copy_to then moves it beside the parameter",
    },
    "tensor.py": {
        'np.array2string(host, separator=", ", prefix="tensor(", precision=4, threshold=100)': "of a host copy",
        "np.array(data)": "of Python numbers and lists only (arrays go to copy_to)",
        "np.dtype(np.float32)": "a dtype object",
    },
    "tensor_indexing.py": {"np.broadcast_shapes(self.shape, mask.shape)": SHAPES, "np.prod(shape)": SHAPES},
    "tensor_inplace.py": {"np.broadcast_shapes(self.shape, shape)": SHAPES},
    "tensor_linalg.py": {"np.broadcast_shapes(a.shape, b.shape)": SHAPES},
    "tensor_math.py": {"np.finfo(self.dtype)": "of a dtype", "np.log(2)": "a constant"},
    "tensor_reduce.py": {"np.prod([t.shape[a] for a in axes], dtype=np.int64)": SHAPES},
    "tensor_shape.py": {
        "np.broadcast_to(np.asarray(pad_width, dtype=np.int64), (self.ndim, 2))": "of the pad widths, host integers",
        "np.asarray(pad_width, dtype=np.int64)": "of the pad widths, host integers",
    },
}


def numpy_calls(source: str) -> list[str]:
    """The source of every call of a function reached through `np` (np.f(...), np.add.at(...)), and every
    other way of reaching numpy (`from numpy import ...`, numpy under another name), which would hide calls."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy":
            found.append(ast.get_source_segment(source, node))
        if isinstance(node, ast.Import):
            found += [f"import numpy as {a.asname}" for a in node.names if a.name == "numpy" and a.asname != "np"]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            root = node.func
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "np":
                found.append(ast.get_source_segment(source, node))
    return found


def test_the_scan_finds_hidden_calls():
    planted = (
        "import numpy as np\nfrom numpy import exp\nimport numpy as numeric\n"
        "def backward(self, grad):\n    return np.exp(grad) + np.add.at(grad, 0, 1) + self.xp.exp(grad)\n"
    )
    hidden = ["from numpy import exp", "import numpy as numeric", "np.add.at(grad, 0, 1)", "np.exp(grad)"]
    assert sorted(numpy_calls(planted)) == hidden


def test_every_numpy_call_on_tensor_code_is_listed_with_its_reason():
    files = sorted({path for pattern in SCANNED for path in ROOT.glob(pattern)})
    assert len(files) > 30  # the scan sees the package (ops/, nn/, optim/ and the tensor)
    unlisted, stale = [], []
    for path in files:
        name = path.relative_to(ROOT).as_posix()
        calls = set(numpy_calls(path.read_text()))
        allowed = ALLOWED.get(name, {})
        unlisted += [f"{name}: {call}" for call in sorted(calls - allowed.keys())]
        stale += [f"{name}: {call}" for call in sorted(allowed.keys() - calls)]
    assert not unlisted, "numpy calls in tensor code (use xp, or list them with the reason):\n" + "\n".join(unlisted)
    assert not stale, "listed calls that are gone (remove them from ALLOWED):\n" + "\n".join(stale)
