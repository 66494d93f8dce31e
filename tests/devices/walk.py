"""Every public op as one call on tensors of a given device, for the walk in test_cuda_tensors.py.

`OPS` maps a name to (call, input shapes): the inputs are float64 tensors that require grad, drawn from one seed,
on the device under test; constants a call needs it makes on its input's device (`x.device`). `NOT_OPS` lists the
public names that compute nothing on a tensor's values, each with the reason, and the device changes, which have
tests of their own. Every public Tensor method, torch-style module function and nn.functional function is in one
of the two (test_walk_covers_every_public_op).
"""

from __future__ import annotations

import numpy as np

import tinygrad_norm as tn
from tinygrad_norm.nn import functional as F

M = (3, 4)  # a matrix
IMAGES = (2, 3, 5, 6)  # (N, C, H, W)


def constant(like, values, dtype=None):
    """A tensor of `values` on `like`'s device (no gradient)."""
    return tn.tensor(values, dtype=dtype, device=like.device)


def positive(x):
    return x.abs() + 0.5


def hooked(x):
    """x * 2 * x, with a hook that triples the gradient reaching x * 2 (on the gradient's device)."""
    doubled = x * 2.0
    doubled.register_hook(lambda grad: grad * 3.0)
    return doubled * x


OPS = {
    # element-wise and operators
    "__add__": (lambda x, y: x + y, [M, (4,)]),
    "__radd__": (lambda x: 2.0 + x, [M]),
    "__sub__": (lambda x, y: x - y, [M, M]),
    "__rsub__": (lambda x: 1.0 - x, [M]),
    "__mul__": (lambda x, y: x * y, [M, (3, 1)]),
    "__rmul__": (lambda x: 3.0 * x, [M]),
    "__truediv__": (lambda x, y: x / positive(y), [M, M]),
    "__rtruediv__": (lambda x: 1.0 / positive(x), [M]),
    "__pow__": (lambda x, y: positive(x) ** y, [M, M]),
    "__rpow__": (lambda x: 2.0**x, [M]),
    "__neg__": (lambda x: -x, [M]),
    "__matmul__": (lambda x, y: x @ y, [M, (4, 2)]),
    "__rmatmul__": (lambda x: constant(x, np.ones((2, 3))) @ x, [M]),
    "matmul": (lambda x, y: x.matmul(y), [(2, 3, 4), (4,)]),
    "scalar_tensor_on_host": (lambda x: x * tn.tensor(2.0) + tn.tensor(1.0) * x, [M]),
    "abs": (lambda x: x.abs(), [M]),
    "exp": (lambda x: x.exp(), [M]),
    "log": (lambda x: positive(x).log(), [M]),
    "sqrt": (lambda x: positive(x).sqrt(), [M]),
    "rsqrt": (lambda x: positive(x).rsqrt(), [M]),
    "tanh": (lambda x: x.tanh(), [M]),
    "sigmoid": (lambda x: x.sigmoid(), [M]),
    "relu": (lambda x: x.relu(), [M]),
    "leaky_relu": (lambda x: x.leaky_relu(0.2), [M]),
    "gelu": (lambda x: x.gelu() + x.gelu("tanh"), [M]),
    "clip": (lambda x: x.clip(-0.5, 0.5), [M]),
    "clamp": (lambda x: x.clamp(min=0.1), [M]),
    "astype": (lambda x: x.astype("float32"), [M]),
    "float": (lambda x: x.float(), [M]),
    "double": (lambda x: x.float().double(), [M]),
    "clone": (lambda x: x.clone(), [M]),
    "detach": (lambda x: x.detach() * x, [M]),
    "register_hook": (hooked, [M]),
    "where": (lambda x, y: tn.where(x > 0, x, y), [M, M]),
    "__lt__": (lambda x, y: (x < y) * x, [M, M]),
    "__le__": (lambda x: (x <= 0) * x, [M]),
    "__gt__": (lambda x: (x > constant(x, 0.5)) * x, [M]),
    "__ge__": (lambda x, y: (x >= y) * y, [M, M]),
    "__eq__": (lambda x: (x == x[0]) * x, [M]),
    "__ne__": (lambda x: (x != x[:, :1]) * x, [M]),
    # reductions
    "sum": (lambda x: x.sum(axis=1), [M]),
    "mean": (lambda x: x.mean(), [M]),
    "var": (lambda x: x.var(axis=0), [M]),
    "std": (lambda x: x.std(axis=1, keepdims=True), [M]),
    "amax": (lambda x: x.amax(axis=1), [M]),
    "amin": (lambda x: x.amin(axis=0), [M]),
    "max": (lambda x: x.max() + x.max(axis=1).values.sum(), [M]),
    "min": (lambda x: x.min() + x.min(dim=0).values.sum(), [M]),
    "argmax": (lambda x: x.argmax(axis=1), [M]),
    "argmin": (lambda x: x.argmin(), [M]),
    "logsumexp": (lambda x: x.logsumexp(axis=1), [M]),
    "softmax": (lambda x: x.softmax(axis=0), [M]),
    "log_softmax": (lambda x: x.log_softmax(axis=1), [M]),
    "item": (lambda x: constant(x, x.sum().item()), [M]),
    "tolist": (lambda x: constant(x, x.tolist()), [M]),
    # shapes and indexing
    "reshape": (lambda x: x.reshape(4, 3), [M]),
    "view": (lambda x: x.view(-1), [M]),
    "flatten": (lambda x: x.flatten(), [(2, 3, 2)]),
    "permute": (lambda x: x.permute(2, 0, 1), [(2, 3, 2)]),
    "transpose": (lambda x: x.transpose(0, 1), [M]),
    "t": (lambda x: x.t(), [M]),
    "T": (lambda x: x.T, [M]),
    "mT": (lambda x: x.mT, [(2, 3, 4)]),
    "unsqueeze": (lambda x: x.unsqueeze(1), [M]),
    "squeeze": (lambda x: x.squeeze(), [(3, 1, 4)]),
    "expand": (lambda x: x.expand(3, 4), [(3, 1)]),
    "pad": (lambda x: x.pad(((1, 0), (0, 2)), value=0.5), [M]),
    "__getitem__": (lambda x: x[:, ::2] + x[constant(x, [2, 0, 2])][:, :2] + x[x[:, 0] > 0].sum(), [M]),
    "cat": (lambda x, y: tn.cat([x, y], dim=1), [M, (3, 2)]),
    "stack": (lambda x, y: tn.stack([x, y], axis=0), [M, M]),
    # in place, recorded on a copy (a leaf cannot change in place)
    "add_": (lambda x, y: x.clone().add_(y, alpha=2.0), [M, M]),
    "sub_": (lambda x, y: x.clone().sub_(y), [M, M]),
    "mul_": (lambda x, y: x.clone().mul_(y), [M, M]),
    "div_": (lambda x: x.clone().div_(2.0), [M]),
    "__iadd__": (lambda x, y: x.clone().__iadd__(y), [M, M]),
    "__isub__": (lambda x, y: x.clone().__isub__(y), [M, M]),
    "__imul__": (lambda x: x.clone().__imul__(2.0), [M]),
    "__itruediv__": (lambda x, y: x.clone().__itruediv__(positive(y)), [M, M]),
    "clamp_": (lambda x: x.clone().clamp_(-0.5, 0.5), [M]),
    "clip_": (lambda x: x.clone().clip_(max=0.5), [M]),
    "fill_": (lambda x, y: x.clone().fill_(y.sum()), [M, M]),
    "zero_": (lambda x: x.clone().zero_() + x, [M]),
    "copy_": (lambda x, y: x.clone().copy_(y), [M, M]),
    "copy_from_host": (lambda x: x.clone().copy_(tn.tensor(np.arange(12.0).reshape(3, 4))) * x, [M]),
    "normal_": (lambda x: x.detach().clone().normal_() * x, [M]),
    "uniform_": (lambda x: x.detach().clone().uniform_(-1, 1) * x, [M]),
    # nn.functional
    "F.linear": (lambda x, w, b: F.linear(x, w, b), [M, (2, 4), (2,)]),
    "F.conv2d": (lambda x, w, b: F.conv2d(x, w, b, stride=1, padding=1, groups=1), [IMAGES, (4, 3, 3, 3), (4,)]),
    "F.max_pool2d": (lambda x: F.max_pool2d(x, 2), [IMAGES]),
    "F.avg_pool2d": (lambda x: F.avg_pool2d(x, 2, padding=1), [IMAGES]),
    "F.adaptive_avg_pool2d": (lambda x: F.adaptive_avg_pool2d(x, (2, 4)), [IMAGES]),
    "F.batch_norm": (
        lambda x, w, b: F.batch_norm(x, constant(x, np.zeros(3)), constant(x, np.ones(3)), w, b, training=True)
        + F.batch_norm(x, constant(x, np.ones(3)), constant(x, np.full(3, 2.0)), w, b, training=False),
        [IMAGES, (3,), (3,)],
    ),
    "F.layer_norm": (lambda x, w, b: F.layer_norm(x, (4,), w, b), [M, (4,), (4,)]),
    "F.rms_norm": (lambda x, w: F.rms_norm(x, (5, 6), w), [IMAGES, (5, 6)]),
    "F.group_norm": (lambda x, w, b: F.group_norm(x, 3, w, b), [IMAGES, (3,), (3,)]),
    "F.instance_norm": (
        lambda x, w, b: F.instance_norm(x, constant(x, np.zeros(3)), constant(x, np.ones(3)), w, b),
        [IMAGES, (3,), (3,)],
    ),
    "F.dropout": (lambda x: F.dropout(x, 0.3), [(64, 8)]),
    "F.dropout2d": (lambda x: F.dropout2d(x, 0.5), [IMAGES]),
    "F.alpha_dropout": (lambda x: F.alpha_dropout(x, 0.2, training=True), [(16, 8)]),
    "F.embedding": (lambda w: F.embedding(constant(w, [[0, 2], [3, 2]]), w, padding_idx=3), [(4, 3)]),
    "F.cross_entropy": (
        lambda x, w: F.cross_entropy(x, constant(x, [0, 3, 1]), w, label_smoothing=0.1)
        + F.cross_entropy(x, x.softmax(axis=1).detach()),
        [M, (4,)],
    ),
    "F.nll_loss": (lambda x: F.nll_loss(x.log_softmax(axis=1), constant(x, [1, -100, 2]), reduction="sum"), [M]),
    "F.mse_loss": (lambda x, y: F.mse_loss(x, y, reduction="none"), [M, M]),
    "F.binary_cross_entropy_with_logits": (
        lambda x, y, p: F.binary_cross_entropy_with_logits(x, y.sigmoid().detach(), pos_weight=positive(p)),
        [M, M, (4,)],
    ),
    "F.relu": (lambda x: F.relu(x), [M]),
    "F.leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [M]),
    "F.gelu": (lambda x: F.gelu(x, approximate="tanh"), [M]),
    "F.tanh": (lambda x: F.tanh(x), [M]),
    "F.sigmoid": (lambda x: F.sigmoid(x), [M]),
    "F.silu": (lambda x: F.silu(x), [M]),
    "F.softmax": (lambda x: F.softmax(x, dim=1), [M]),
    "F.log_softmax": (lambda x: F.log_softmax(x, dim=0), [M]),
}

DROPOUT_OPS = {"F.dropout", "F.dropout2d", "F.alpha_dropout"}  # their masks must match bit for bit

NOT_OPS = {
    **dict.fromkeys(
        ["shape", "ndim", "dim", "size", "numel", "dtype", "device", "is_cuda", "xp", "data", "grad", "grad_fn",
         "is_leaf", "requires_grad", "requires_grad_", "retain_grad", "detach_", "backward"],
        "an attribute or autograd bookkeeping: no arithmetic on the values (backward runs in every op's check)",
    ),
    "numpy": "refuses a CUDA tensor (test_numpy_refuses_a_cuda_tensor)",
    "__init__": "the constructor: test_copy_semantics_on_the_gpu",
    **dict.fromkeys(["__dlpack__", "__dlpack_device__"], "sharing: test_copy_semantics_on_the_gpu"),
    "__repr__": "printing: test_a_cuda_tensor_prints_its_device",
    "print_tape": "printing the tape's nodes: no arithmetic on the values",
    **dict.fromkeys(["__len__", "__iter__"], "the length and the rows of the first axis (indexing: __getitem__)"),
    **dict.fromkeys(["__bool__", "__float__", "__int__"], "a one-element tensor as a number (as item)"),
    **dict.fromkeys(["to", "cuda", "cpu"], "device changes: test_moves_between_devices_are_differentiable"),
}
