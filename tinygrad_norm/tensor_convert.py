"""Tensor's dtype and device conversions: `astype`, `to`, `cuda`, `cpu` and the shorthands `float`, `double`, `half`,
`int`, `long`, `bool`. Casts and moves are differentiable; a cast to an integer or bool dtype leaves the graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .devices import CPU, Device, parse_to_args, resolve
from .dtypes import as_dtype
from .ops.elementwise import Cast
from .ops.movement import ToDevice

if TYPE_CHECKING:
    from .tensor import Tensor


class ConversionMethods:
    __slots__ = ()

    def astype(self, dtype) -> Tensor:
        """A differentiable cast (gradients are cast back to this tensor's dtype); a cast to an integer
        or bool dtype leaves the graph (as torch)."""
        dtype = as_dtype(dtype)
        if dtype == self.dtype:
            return self
        return Cast.apply(self if dtype.kind in "fc" else self.detach(), dtype=dtype)

    def to(self, *args, device=None, dtype=None, non_blocking: bool = False, copy: bool = False) -> Tensor:
        """torch's `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(tensor)` (its device and dtype): a cast and
        a copy to another device, both differentiable (the gradient goes back to this tensor's device), or this
        tensor itself when nothing changes (a copy with `copy=True`). Copies between devices are synchronous:
        `non_blocking` is accepted and changes nothing."""
        device, dtype = parse_to_args(*args, device=device, dtype=dtype)
        out = self if dtype is None else self.astype(dtype)
        if device is not None and resolve(device) != out.device:
            return ToDevice.apply(out, device=device)
        return out.clone() if copy and out is self else out

    def cuda(self, device: Device | str | int | None = None) -> Tensor:
        """A copy on a GPU (default: the current one), or this tensor when it is there already (as torch)."""
        device = Device("cuda") if device is None else Device(device)
        if device.type != "cuda":
            raise ValueError(f"cuda(): device must be a CUDA device, got {str(device)!r}")
        return self.to(device)

    def cpu(self) -> Tensor:
        """A copy in host memory, or this tensor when it is there already (as torch)."""
        return self.to(CPU)

    def float(self) -> Tensor:
        return self.astype(np.float32)

    def double(self) -> Tensor:
        return self.astype(np.float64)

    def half(self) -> Tensor:
        return self.astype(np.float16)

    def int(self) -> Tensor:
        return self.astype(np.int32)

    def long(self) -> Tensor:
        return self.astype(np.int64)

    def bool(self) -> Tensor:
        return self.astype(np.bool_)
