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


def unit(x):
    """Inside (-1, 1), the domain of acos, asin, atanh."""
    return x.tanh() * 0.9


def bits(x):
    """An int64 (3, 4) tensor on x's device, for the bitwise ops."""
    return constant(x, [[5, 3, 12, 7], [6, 1, 0, 9], [2, 8, 4, 15]])


def written(x, index, value):
    """A copy of x with `value` written at `index` (__setitem__)."""
    out = x.clone()
    out[index] = value
    return out


def rebuilt(x):
    """x's values rounded, rebuilt from `unique`'s values and inverse, times x; plus the counts' sum."""
    values, inverse, counts = x.round().unique(return_inverse=True, return_counts=True)
    return values[inverse] * x + counts.sum()


CAUSAL_OR_NONE = [[True] * 5, [False] * 5, [True, False, True, True, False]]  # a row that attends to nothing
SPECIAL = [[np.inf, -np.inf, np.nan, 1.0]]  # for the predicates on non-finite values

# unary element-wise ops (name: the domain they are called on), out of place and in place
UNARY = {
    **dict.fromkeys(["acos", "arccos", "asin", "arcsin", "atanh", "arctanh", "tan"], unit),
    **dict.fromkeys(["acosh", "arccosh"], lambda x: positive(x) + 1.0),
    **dict.fromkeys(["log", "log10", "log1p", "log2", "sqrt", "rsqrt", "reciprocal"], positive),
    "logit": lambda x: x.sigmoid() * 0.9,
    **dict.fromkeys(
        ["abs", "absolute", "asinh", "arcsinh", "atan", "arctan", "ceil", "cos", "cosh", "deg2rad", "erf", "erfc",
         "exp", "exp2", "expm1", "fix", "floor", "frac", "neg", "negative", "positive", "rad2deg", "relu", "round",
         "sgn", "sigmoid", "sign", "signbit", "sin", "sinh", "square", "tanh", "trunc"],
        lambda x: x * 1.0,  # a copy that may change in place (a leaf may not)
    ),
}


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
    # more element-wise ops: the unary ones in place, binary ones, predicates, bitwise ops on integers
    **{name: (lambda x, name=name, domain=domain: getattr(domain(x), name)(), [M])
       for name, domain in UNARY.items() if name not in ("abs", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid",
                                                         "relu")},
    **{f"{name}_": (lambda x, name=name, domain=domain: getattr(domain(x), f"{name}_")(), [M])
       for name, domain in UNARY.items() if name not in ("absolute", "arccos", "arcsin", "arctanh", "arccosh",
                                                         "arcsinh", "arctan", "deg2rad", "fix", "positive",
                                                         "rad2deg", "sgn", "signbit")},
    "__abs__": (lambda x: abs(x), [M]),
    "add": (lambda x, y: x.add(y, alpha=2.0), [M, M]),
    **{name: (lambda x, y, name=name: getattr(x, name)(y, alpha=0.5), [M, (4,)]) for name in ("sub", "subtract")},
    **{name: (lambda x, y, name=name: getattr(x, name)(y), [M, (3, 1)]) for name in ("mul", "multiply")},
    **{name: (lambda x, y, name=name: getattr(x, name)(positive(y)) + getattr(x, name)(positive(y),
              rounding_mode="floor") * x, [M, M]) for name in ("div", "divide")},
    "true_divide": (lambda x, y: x.true_divide(positive(y)), [M, M]),
    "pow": (lambda x, y: positive(x).pow(y), [M, M]),
    "pow_": (lambda x: positive(x).pow_(3.0), [M]),
    "float_power": (lambda x, y: positive(x).float_power(y), [M, M]),
    **{name: (lambda x, y, name=name: getattr(x, name)(y), [M, M])
       for name in ("atan2", "arctan2", "copysign", "hypot", "logaddexp", "logaddexp2", "maximum", "minimum",
                    "fmax", "fmin")},
    **{name: (lambda x, y, name=name: getattr(x, name)(positive(y)), [M, M])
       for name in ("fmod", "remainder", "floor_divide", "__floordiv__", "__mod__", "xlogy")},
    **{f"{name}_": (lambda x, y, name=name: getattr(x * 1.0, f"{name}_")(positive(y)), [M, M])
       for name in ("fmod", "remainder", "xlogy")},
    **{f"{name}_": (lambda x, y, name=name: getattr(x * 1.0, f"{name}_")(y), [M, M])
       for name in ("atan2", "copysign")},
    "__rfloordiv__": (lambda x: 2.0 // positive(x), [M]),
    "__rmod__": (lambda x: 2.0 % positive(x), [M]),
    "lerp": (lambda x, y, z: x.lerp(y, 0.3) + x.lerp(y, z.sigmoid()), [M, M, M]),
    "lerp_": (lambda x, y: x.clone().lerp_(y, 0.3), [M, M]),
    "addcmul": (lambda x, y, z: x.addcmul(y, z, value=0.5), [M, M, (4,)]),
    "addcmul_": (lambda x, y, z: x.clone().addcmul_(y, z), [M, M, M]),
    "addcdiv": (lambda x, y, z: x.addcdiv(y, positive(z), value=2.0), [M, M, M]),
    "addcdiv_": (lambda x, y, z: x.clone().addcdiv_(y, positive(z)), [M, M, M]),
    "clamp_max": (lambda x: x.clamp_max(0.3), [M]),
    "clamp_min": (lambda x: x.clamp_min(-0.3), [M]),
    "clamp_max_": (lambda x: x.clone().clamp_max_(0.3), [M]),
    "clamp_min_": (lambda x: x.clone().clamp_min_(-0.3), [M]),
    "nan_to_num": (lambda x: x.masked_fill(x > 1, np.nan).masked_fill(x < -1, -np.inf).nan_to_num(0.5, neginf=-2.0),
                   [M]),
    "nan_to_num_": (lambda x: x.masked_fill(x > 1, np.nan).nan_to_num_(-0.5), [M]),
    "isclose": (lambda x, y: x.isclose(x + y * 1e-9) * y, [M, M]),
    "allclose": (lambda x: constant(x, float(x.allclose(x + 1e-9))), [M]),
    **{name: (lambda x, name=name: getattr(constant(x, SPECIAL), name)() * x, [M])
       for name in ("isfinite", "isinf", "isnan", "isneginf", "isposinf")},
    **{name: (lambda x, y, name=name: getattr(x > 0, name)(y > 0) * x, [M, M])
       for name in ("logical_and", "logical_or", "logical_xor")},
    "logical_not": (lambda x: (x > 0).logical_not() * x, [M]),
    "logical_not_": (lambda x: (x > 0).logical_not_() * x, [M]),
    **{name: (lambda x, name=name: x * getattr(bits(x), name)(constant(x, [6, 3, 1, 2])), [M])
       for name in ("__and__", "__or__", "__xor__", "__lshift__", "__rshift__", "__rand__", "__ror__", "__rxor__",
                    "__rlshift__", "__rrshift__", "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_left_shift",
                    "bitwise_right_shift", "bitwise_and_", "bitwise_or_", "bitwise_xor_")},
    "__invert__": (lambda x: x * ~bits(x) + ~(x > 0) * x, [M]),
    "bitwise_not": (lambda x: x * bits(x).bitwise_not(), [M]),
    "bitwise_not_": (lambda x: x * bits(x).bitwise_not_(), [M]),
    # casts, and new tensors on a tensor's device
    **{name: (lambda x, name=name: getattr(x * 4.0, name)(), [M]) for name in ("bool", "int", "long", "half")},
    "type_as": (lambda x: x.type_as(constant(x, [1.0], "float32")), [M]),
    "contiguous": (lambda x: x.t().contiguous(), [M]),
    "new_tensor": (lambda x: x.new_tensor([[1.0, 2.0, 3.0, 4.0]]) * x, [M]),
    "new_empty": (lambda x: x.new_empty(3, 4).zero_() + x, [M]),
    "new_full": (lambda x: x.new_full((3, 4), 2.5) * x, [M]),
    "new_ones": (lambda x: x.new_ones(3, 4) * x, [M]),
    "new_zeros": (lambda x: x.new_zeros(3, 4) + x, [M]),
    # more reductions, scans, sorting; a (values, indices) pair is summed into one tensor
    "all": (lambda x: (x > -1).all(axis=1) * x[:, 0] + (x > 0).all(), [M]),
    "any": (lambda x: (x > 1).any(axis=0) * x[0] + (x > 0).any(), [M]),
    "count_nonzero": (lambda x: (x > 0).count_nonzero(axis=1) * x[:, 0], [M]),
    "prod": (lambda x: x.prod(1) + x.prod(), [M]),
    "nansum": (lambda x: x.masked_fill(x > 1, np.nan).nansum(axis=1), [M]),
    "nanmean": (lambda x: x.masked_fill(x > 1, np.nan).nanmean(axis=0), [M]),
    "norm": (lambda x: x.norm() + x.norm(1, axis=1).sum() + x.norm(np.inf, axis=0).sum(), [M]),
    "dist": (lambda x, y: x.dist(y, 3), [M, M]),
    "std_mean": (lambda x: sum(x.std_mean(axis=1)), [M]),
    "var_mean": (lambda x: sum(x.var_mean(axis=0, correction=0)), [M]),
    "aminmax": (lambda x: sum(x.aminmax(dim=1)), [M]),
    "median": (lambda x: x.median() + sum(x.median(axis=1)), [M]),
    "kthvalue": (lambda x: sum(x.kthvalue(2, axis=1)), [M]),
    "topk": (lambda x: sum(x.topk(2, axis=1)) + sum(x.topk(2, axis=0, largest=False)).sum(), [M]),
    "sort": (lambda x: sum(x.sort(axis=1)) + sum(x.sort(axis=0, descending=True)), [M]),
    "argsort": (lambda x: x.argsort(axis=1, descending=True), [M]),
    "msort": (lambda x: x.msort(), [M]),
    "cumsum": (lambda x: x.cumsum(1), [M]),
    "cumprod": (lambda x: x.cumprod(0), [M]),
    "logcumsumexp": (lambda x: x.logcumsumexp(1), [M]),
    "cummax": (lambda x: sum(x.cummax(1)), [M]),
    "cummin": (lambda x: sum(x.cummin(0)), [M]),
    "unique": (rebuilt, [M]),
    "diff": (lambda x, y, z: x.diff(2, dim=0, prepend=y) + x.diff(append=z), [M, (2, 4), (3, 1)]),
    # linear algebra
    "mm": (lambda x, y: x.mm(y), [M, (4, 2)]),
    "bmm": (lambda x, y: x.bmm(y), [(2, 3, 4), (2, 4, 2)]),
    "mv": (lambda x, y: x.mv(y), [M, (4,)]),
    "dot": (lambda x, y: x.dot(y), [(4,), (4,)]),
    "outer": (lambda x, y: x.outer(y), [(3,), (4,)]),
    "addmm": (lambda x, y, z: x.addmm(y, z, beta=0.5, alpha=2.0), [(3, 2), M, (4, 2)]),
    "baddbmm": (lambda x, y, z: x.baddbmm(y, z, beta=0.5), [(2, 3, 2), (2, 3, 4), (2, 4, 2)]),
    "cross": (lambda x, y: x.cross(y, dim=1), [(4, 3), (4, 3)]),
    "diag": (lambda x, y: x.diag(1).sum() + y.diag(), [M, (3,)]),
    "diagonal": (lambda x: x.diagonal(1, 0, 2), [(3, 2, 4)]),
    "trace": (lambda x: x.trace(), [M]),
    **{name: (lambda x, name=name: getattr(x, name)(1), [M]) for name in ("tril", "triu")},
    **{name: (lambda x, name=name: getattr(x.clone(), name)(-1), [M]) for name in ("tril_", "triu_")},
    # more shapes
    "chunk": (lambda x: tn.cat(x.chunk(3, dim=1)[::-1], dim=1), [M]),
    "split": (lambda x: tn.cat(x.split([1, 3], dim=1)[::-1], dim=1), [M]),
    "unbind": (lambda x: tn.stack(x.unbind(1)[::-1]), [M]),
    "flip": (lambda x: x.flip(0, 2), [(2, 3, 2)]),
    **{name: (lambda x, name=name: getattr(x, name)(), [M]) for name in ("fliplr", "flipud", "ravel")},
    **{name: (lambda x, name=name: getattr(x, name)(0, 2), [(2, 3, 2)])
       for name in ("moveaxis", "movedim", "swapaxes", "swapdims")},
    "narrow": (lambda x: x.narrow(1, 1, 2), [M]),
    "select": (lambda x: x.select(1, 2), [M]),
    "repeat": (lambda x: x.repeat(2, 1, 2), [M]),
    "tile": (lambda x: x.tile(2), [M]),
    "repeat_interleave": (
        lambda x: x.repeat_interleave(2, dim=1) + x.repeat_interleave(constant(x, [1, 0, 3]), dim=0).sum(), [M]
    ),
    "roll": (lambda x: x.roll((1, -1), (0, 1)), [M]),
    "rot90": (lambda x: x.rot90(1, (0, 1)), [M]),
    "unflatten": (lambda x: x.unflatten(1, (2, 2)), [M]),
    "unfold": (lambda x: x.unfold(1, 2, 1), [M]),
    **{name: (lambda x, y, name=name: getattr(x, name)(y), [(3, 1), M]) for name in ("expand_as",)},
    **{name: (lambda x, y, name=name: getattr(x, name)(y), [M, (4, 3)]) for name in ("reshape_as", "view_as")},
    # reading and writing at indices
    "__setitem__": (lambda x, y: written(x, (constant(x, [2, 0]),), y[:2]) + written(x, x > 0, 0.5), [M, M]),
    "gather": (lambda x: x.gather(1, constant(x, [[0, 3], [2, 2], [1, 0]])), [M]),
    "take": (lambda x: x.take(constant(x, [0, 11, 5, 5])), [M]),
    "take_along_dim": (lambda x: x.take_along_dim(x.argsort(1), 1), [M]),
    "index_select": (lambda x: x.index_select(1, constant(x, [3, 0, 3])), [M]),
    "masked_select": (lambda x: x.masked_select(x > 0), [M]),
    "masked_fill": (lambda x: x.masked_fill(x > 0, 0.5), [M]),
    "masked_fill_": (lambda x: x.clone().masked_fill_(x < 0, -0.5), [M]),
    "nonzero": (lambda x: x[(x > 0).nonzero(as_tuple=True)] + (x > 0).nonzero().sum(), [M]),
    "argwhere": (lambda x: (x > 0).argwhere(), [M]),
    "index_add": (lambda x, y: x.index_add(0, constant(x, [2, 0, 2]), y, alpha=2.0), [M, M]),
    "index_copy": (lambda x, y: x.index_copy(1, constant(x, [3, 1]), y), [M, (3, 2)]),
    "index_fill": (lambda x: x.index_fill(1, constant(x, [0, 2]), -1.0), [M]),
    "index_add_": (lambda x, y: x.clone().index_add_(1, constant(x, [0, 0]), y), [M, (3, 2)]),
    "index_copy_": (lambda x, y: x.clone().index_copy_(0, constant(x, [2, 0]), y), [M, (2, 4)]),
    "index_fill_": (lambda x: x.clone().index_fill_(0, constant(x, [1]), 2.0), [M]),
    "scatter": (lambda x, y: x.scatter(1, constant(x, [[0, 1], [2, 3], [1, 0]]), y)
                + x.scatter(0, constant(x, [[2, 0, 1, 1]]), value=0.5), [M, (3, 2)]),
    "scatter_": (lambda x, y: x.clone().scatter_(1, constant(x, [[3], [0], [2]]), y), [M, (3, 1)]),
    "scatter_add": (lambda x, y: x.scatter_add(1, constant(x, [[0, 0], [2, 3], [1, 1]]), y), [M, (3, 2)]),
    "scatter_add_": (lambda x, y: x.clone().scatter_add_(0, constant(x, [[2, 2, 0, 1]]), y), [M, (1, 4)]),
    "scatter_reduce": (lambda x, y: x.scatter_reduce(1, constant(x, [[0, 0], [2, 3], [1, 1]]), y, "amax")
                       + x.scatter_reduce(1, constant(x, [[0, 0], [2, 3], [1, 1]]), y, "mean", include_self=False),
                       [M, (3, 2)]),
    "scatter_reduce_": (lambda x, y: x.clone().scatter_reduce_(0, constant(x, [[2, 2, 0, 1]]), y, "prod"), [M, (1, 4)]),
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
    "F.conv1d": (lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2), [(2, 3, 7), (4, 3, 3), (4,)]),
    "F.conv3d": (lambda x, w, b: F.conv3d(x, w, b, padding=1), [(1, 2, 3, 4, 3), (3, 2, 2, 2, 2), (3,)]),
    "F.conv_transpose1d": (lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, output_padding=1),
                           [(2, 3, 5), (3, 2, 3), (2,)]),
    "F.conv_transpose2d": (lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, groups=1),
                           [(2, 3, 4, 5), (3, 2, 3, 3), (2,)]),
    "F.avg_pool1d": (lambda x: F.avg_pool1d(x, 3, stride=2, ceil_mode=True), [(2, 3, 7)]),
    "F.avg_pool3d": (lambda x: F.avg_pool3d(x, 2, padding=1, count_include_pad=False), [(1, 2, 3, 4, 4)]),
    "F.max_pool1d": (lambda x: F.max_pool1d(x, 3, stride=2, padding=1), [(2, 3, 7)]),
    "F.max_pool3d": (lambda x: F.max_pool3d(x, 2, dilation=1), [(1, 2, 3, 4, 4)]),
    "F.adaptive_avg_pool1d": (lambda x: F.adaptive_avg_pool1d(x, 4), [(2, 3, 7)]),
    "F.adaptive_avg_pool3d": (lambda x: F.adaptive_avg_pool3d(x, (2, 3, 2)), [(1, 2, 3, 4, 4)]),
    "F.adaptive_max_pool1d": (lambda x: sum(F.adaptive_max_pool1d(x, 4, return_indices=True)), [(2, 3, 7)]),
    "F.adaptive_max_pool2d": (lambda x: sum(F.adaptive_max_pool2d(x, (2, 4), return_indices=True)), [IMAGES]),
    "F.adaptive_max_pool3d": (lambda x: F.adaptive_max_pool3d(x, (2, 3, 2)), [(1, 2, 3, 4, 4)]),
    "F.max_unpool1d": (lambda x: F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True), 2), [(2, 3, 7)]),
    "F.max_unpool2d": (lambda x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 6)),
                       [IMAGES]),
    "F.max_unpool3d": (lambda x: F.max_unpool3d(*F.max_pool3d(x, 2, return_indices=True), 2), [(1, 2, 4, 4, 4)]),
    "F.pad": (lambda x: sum(F.pad(x, (1, 2, 2, -1), mode) for mode in ("reflect", "replicate", "circular"))
              + F.pad(x, (1, 2, 2, -1), value=0.5), [IMAGES]),
    "F.interpolate": (
        lambda x, y, z: sum(F.interpolate(x, (7, 9), mode=mode) for mode in ("nearest", "nearest-exact", "bilinear",
                                                                               "bicubic", "area"))
        + F.interpolate(x, scale_factor=1.5, mode="bicubic", align_corners=True).sum((2, 3), keepdims=True)
        + F.interpolate(y, scale_factor=2, mode="linear").sum(2, keepdims=True).unsqueeze(-1)
        + F.interpolate(z, size=(2, 5, 3), mode="trilinear").sum((2, 3, 4), keepdims=True).squeeze(-1),
        [IMAGES, (2, 3, 4), (2, 3, 3, 3, 2)],
    ),
    "F.pixel_shuffle": (lambda x: F.pixel_shuffle(x, 2), [(2, 8, 3, 2)]),
    "F.pixel_unshuffle": (lambda x: F.pixel_unshuffle(x, 2), [(2, 3, 4, 6)]),
    "F.scaled_dot_product_attention": (
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True)
        + F.scaled_dot_product_attention(q, k, v, attn_mask=constant(q, CAUSAL_OR_NONE), scale=0.3),
        [(2, 3, 4), (2, 5, 4), (2, 5, 3)],
    ),
    "F.local_response_norm": (lambda x: F.local_response_norm(x, 2, alpha=0.1), [IMAGES]),
    "F.normalize": (lambda x: F.normalize(x, p=3.0, dim=1), [M]),
    "F.one_hot": (lambda x: F.one_hot(constant(x, [0, 2, 1]), 4) * x, [M]),
    "F.dropout1d": (lambda x: F.dropout1d(x, 0.5), [(2, 8, 5)]),
    "F.dropout3d": (lambda x: F.dropout3d(x, 0.5), [(2, 8, 2, 3, 2)]),
    "F.relu": (lambda x: F.relu(x), [M]),
    "F.relu6": (lambda x: F.relu6(x * 4.0), [M]),
    "F.elu": (lambda x: F.elu(x, alpha=0.5), [M]),
    "F.celu": (lambda x: F.celu(x, alpha=2.0), [M]),
    "F.selu": (lambda x: F.selu(x), [M]),
    "F.glu": (lambda x: F.glu(x, dim=1), [M]),
    "F.hardsigmoid": (lambda x: F.hardsigmoid(x * 4.0), [M]),
    "F.hardswish": (lambda x: F.hardswish(x * 4.0), [M]),
    "F.hardtanh": (lambda x: F.hardtanh(x, -0.5, 0.5), [M]),
    "F.logsigmoid": (lambda x: F.logsigmoid(x), [M]),
    "F.mish": (lambda x: F.mish(x), [M]),
    "F.prelu": (lambda x, w: F.prelu(x, w), [IMAGES, (3,)]),
    "F.softmin": (lambda x: F.softmin(x, dim=1), [M]),
    "F.softplus": (lambda x: F.softplus(x, beta=2.0, threshold=1.0), [M]),
    "F.softsign": (lambda x: F.softsign(x), [M]),
    "F.leaky_relu": (lambda x: F.leaky_relu(x, 0.1), [M]),
    "F.gelu": (lambda x: F.gelu(x, approximate="tanh"), [M]),
    "F.tanh": (lambda x: F.tanh(x), [M]),
    "F.sigmoid": (lambda x: F.sigmoid(x), [M]),
    "F.silu": (lambda x: F.silu(x), [M]),
    "F.softmax": (lambda x: F.softmax(x, dim=1), [M]),
    "F.log_softmax": (lambda x: F.log_softmax(x, dim=0), [M]),
}

# their masks must match bit for bit
DROPOUT_OPS = {"F.dropout", "F.dropout1d", "F.dropout2d", "F.dropout3d", "F.alpha_dropout"}

NOT_OPS = {
    **dict.fromkeys(
        ["shape", "ndim", "dim", "size", "numel", "dtype", "device", "is_cuda", "xp", "data", "grad", "grad_fn",
         "is_leaf", "requires_grad", "requires_grad_", "retain_grad", "detach_", "backward", "ndimension",
         "is_contiguous"],
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
