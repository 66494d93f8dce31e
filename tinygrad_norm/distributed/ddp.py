"""`DistributedDataParallel`: the same model in every process, each training on its share of the batch, with the
gradients averaged across processes after backward, so every process takes the same optimizer step.

Construction checks that every process holds the same parameters and buffers (names, shapes, dtypes, in order) and
broadcasts their values from rank 0. With `broadcast_buffers=True` (torch's default) each training forward also
broadcasts rank 0's buffers (BatchNorm's running statistics), so that every process keeps rank 0's.

When gradients are averaged. Each training forward (grad mode on, outside `no_sync()`, more than one process)
first records an op that outputs a zero scalar, then runs the wrapped module and adds that zero to its output(s).
The tape runs nodes from the newest down, so backward reaches the zero's node after every op of this forward, when
every parameter's gradient from it has landed in `.grad`; the node's backward averages the gradients there. (The
engine has no gradient hooks; this is one ordinary node.) Ops recorded before the wrapper's forward that also lead
to its parameters run later and are not averaged.

How. The gradients of each dtype are copied into flat buckets of at most `bucket_cap_mb` MiB (25, as torch), in
reverse registration order, and reduced by one all_reduce per bucket, all in flight at once, beside one small
all_reduce saying which parameters got a gradient. Parameters whose gradient is None on this process (unused by
its forward) add zeros. As torch's DDP with find_unused_parameters=True: a parameter that got a gradient on some
process gets the average on every process (a new `.grad` where it was None); one that got none anywhere keeps None.

Averaging is linear, so gradients accumulated before the reduction come out right: under `no_sync()` each process
adds its own gradients, and the next synchronized backward averages the sum, as torch's gradient accumulation does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import Function, is_grad_enabled, no_grad
from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .collectives import all_gather, all_reduce, broadcast
from .world import init, world_size

DEFAULT_BUCKET_CAP_MB = 25


@dataclass
class _Bucket:
    params: list[Parameter] = field(default_factory=list)
    flat: Any = None  # (total elements,) array of the parameters' dtype, allocated once


class DistributedDataParallel(Module):
    """Wraps `module` for data-parallel training (see the module docstring); `module` is registered as the child
    "module", so state_dict keys start with "module." as torch's do. Unlike torch there are no device_ids, process
    groups or communication hooks; every process runs on its own device (CPU, or CuPy's current GPU)."""

    def __init__(self, module: Module, broadcast_buffers: bool = True, bucket_cap_mb: float | None = None):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel wraps a Module, got {type(module).__name__}")
        cap_mb = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(cap_mb, bool) or not isinstance(cap_mb, (int, float)) or not cap_mb > 0:
            raise ValueError(f"bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter that requires "
                "a gradient."
            )
        init()
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.require_backward_grad_sync = True  # torch's name; False inside no_sync()
        _check_same_layout(module)
        _broadcast_values([*module.parameters(), *module.buffers()])
        self._buckets = _plan_buckets(params, cap_mb * 2**20)
        # the leaf the averaging node hangs on, in the parameters' array module, as the outputs it is added to
        self._anchor = Tensor._from_array(params[0].xp.zeros((), np.float32), True)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        training = self.training and is_grad_enabled() and world_size() > 1
        if training and self.broadcast_buffers:
            _broadcast_values(list(self.module.buffers()))
        if not (training and self.require_backward_grad_sync):
            return self.module(*inputs, **kwargs)
        zero = _AverageGradients.apply(self._anchor, ddp=self)  # recorded before every op of the forward
        return _add_to_outputs(self.module(*inputs, **kwargs), zero)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Forwards inside leave their gradients unaveraged, each process accumulating its own; the first
        synchronized backward after averages the sum."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    def _average_gradients(self) -> None:
        """Average every parameter's gradient across processes, in buckets (see the module docstring)."""
        params = [p for bucket in self._buckets for p in bucket.params]
        used = np.array([p.grad is not None for p in params], np.int32)
        works = [all_reduce(used, async_op=True)]
        for bucket in self._buckets:
            for p, part in zip(bucket.params, _parts(bucket)):
                part[...] = 0 if p.grad is None else p.grad.data.reshape(-1)
            works.append(all_reduce(bucket.flat, "avg", async_op=True))
        for work in works:
            work.wait()
        got_any = iter(used > 0)
        for bucket in self._buckets:
            for p, part in zip(bucket.params, _parts(bucket)):
                if not next(got_any):
                    continue
                if p.grad is None:
                    p.grad = Tensor._from_array(part.reshape(p.shape).copy(), False)
                else:
                    p.grad.data[...] = part.reshape(p.shape)


class _AverageGradients(Function):
    """A zero scalar whose backward averages the wrapper's gradients; it has no gradient of its own to pass on."""

    saved_inputs = ()

    def forward(self, anchor, *, ddp: DistributedDataParallel):
        self.ddp = ddp
        return self.xp.zeros((), anchor.dtype)

    def backward(self, grad):
        self.ddp._average_gradients()
        return None


def _add_to_outputs(output: Any, zero: Tensor) -> Any:
    """`output` with `zero` added to each floating Tensor in it that requires grad (in tuples, lists, dicts)."""
    if isinstance(output, Tensor):
        return output + zero if output.requires_grad and output.dtype.kind == "f" else output
    if isinstance(output, (tuple, list)):
        return type(output)(_add_to_outputs(item, zero) for item in output)
    if isinstance(output, dict):
        return {key: _add_to_outputs(item, zero) for key, item in output.items()}
    return output


def _plan_buckets(params: list[Parameter], cap_bytes: float) -> list[_Bucket]:
    """Buckets of one dtype and array module each, filled in reverse order up to `cap_bytes` (a larger parameter
    gets a bucket of its own)."""
    buckets: list[_Bucket] = []
    filling: dict[tuple, _Bucket] = {}
    for p in reversed(params):
        key = (p.dtype, type(p.data))
        bucket = filling.get(key)
        if bucket is None or sum(q.data.nbytes for q in bucket.params) + p.data.nbytes > cap_bytes:
            bucket = filling[key] = _Bucket()
            buckets.append(bucket)
        bucket.params.append(p)
    for bucket in buckets:
        bucket.flat = bucket.params[0].xp.empty(sum(p.numel() for p in bucket.params), bucket.params[0].dtype)
    return buckets


def _parts(bucket: _Bucket) -> Iterator[Any]:
    """The slices of the bucket's flat array that hold each of its parameters, in order."""
    offset = 0
    for p in bucket.params:
        yield bucket.flat[offset : offset + p.numel()]
        offset += p.numel()


@no_grad()
def _broadcast_values(tensors: list[Tensor]) -> None:
    """Give every process rank 0's values of `tensors`: one broadcast per dtype and array module."""
    groups: dict[tuple, list[Tensor]] = {}
    for t in tensors:
        groups.setdefault((t.dtype, type(t.data)), []).append(t)
    for group in groups.values():
        flat = group[0].xp.concatenate([t.data.reshape(-1) for t in group])
        broadcast(flat, 0)
        offset = 0
        for t in group:
            t.data[...] = flat[offset : offset + t.numel()].reshape(t.shape)
            offset += t.numel()


def _layout(module: Module) -> list[str]:
    """One line per parameter and buffer: what must be the same on every process."""
    params = [f"parameter {name} {tuple(p.shape)} {p.dtype}{'' if p.requires_grad else ' frozen'}"
              for name, p in module.named_parameters()]
    return params + [f"buffer {name} {tuple(b.shape)} {b.dtype}" for name, b in module.named_buffers()]


def _check_same_layout(module: Module) -> None:
    """ValueError on every process, naming the first difference, unless all hold the same parameters and buffers."""
    if world_size() == 1:
        return
    text = "\n".join(_layout(module)).encode()
    lengths = all_gather(np.array([len(text)], np.int64))[:, 0]
    padded = np.zeros(int(lengths.max()), np.uint8)
    padded[: len(text)] = np.frombuffer(text, np.uint8)
    layouts = [row[:length].tobytes().decode().split("\n") for row, length in zip(all_gather(padded), lengths)]
    for rank, layout in enumerate(layouts[1:], start=1):
        if layout == layouts[0]:
            continue
        differ = next((i for i, (a, b) in enumerate(zip(layouts[0], layout)) if a != b), None)
        if differ is None:
            found = f"{len(layouts[0])} parameters and buffers on rank 0, {len(layout)} on rank {rank}"
        else:
            found = f"{layouts[0][differ]} on rank 0, {layout[differ]} on rank {rank}"
        raise ValueError(f"DistributedDataParallel: the processes hold different models: {found}")
