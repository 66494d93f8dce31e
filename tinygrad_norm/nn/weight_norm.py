"""Weight normalization (Salimans & Kingma, arXiv:1602.07868) as torch's `torch.nn.utils.weight_norm`.

A parameter w is replaced by two, `<name>_g` and `<name>_v`, with

    w = g * v / ||v||          (the 2-norm over every dim of v but `dim`; dim=None: over all of v)

so g (shaped like ||v||, size-1 axes kept) sets each slice's length and v only its direction. w is recomputed
from g and v before every forward (a forward pre-hook, as torch), and gradients reach g and v through the
composed ops. state_dict keys are `<name>_g` and `<name>_v`, as torch.

A slice of v with zero norm has no direction: torch returns NaN there. Here `weight_norm` and every forward
raise ValueError naming the zero slices instead.
"""

from __future__ import annotations

from typing import Any

from ..devices import CPU, copy_to
from ..tensor import Tensor
from .module import Module, Parameter


def _norm_except_dim(v: Tensor, dim: int | None) -> Tensor:
    """||v|| over every axis but `dim`, size-1 axes kept so it broadcasts against v; dim=None: one 0-d norm."""
    if dim is None:
        return (v * v).sum().sqrt()
    axes = tuple(a for a in range(v.ndim) if a != dim)
    return (v * v).sum(axis=axes, keepdims=True).sqrt()


def _check_nonzero(norm: Tensor, name: str, dim: int | None) -> None:
    zero = (copy_to(norm.data, CPU, copy=False) == 0).reshape(-1).nonzero()[0]
    if zero.size:
        where = "all of it" if dim is None else f"indices {zero.tolist()} along dim {dim}"
        raise ValueError(f"weight_norm: {name}_v has zero norm at {where}; its direction, and so {name}, is undefined")


class WeightNorm:
    """The forward pre-hook of one reparametrized parameter: sets module.<name> = g * v / ||v||."""

    def __init__(self, name: str, dim: int | None):
        self.name, self.dim = name, dim

    def compute_weight(self, module: Module) -> Tensor:
        g, v = getattr(module, self.name + "_g"), getattr(module, self.name + "_v")
        norm = _norm_except_dim(v, self.dim)
        _check_nonzero(norm, self.name, self.dim)
        return g * (v / norm)

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


def _hook_of(module: Module, name: str) -> tuple[int, WeightNorm] | None:
    """The key and the WeightNorm hook of `name` among the module's forward pre-hooks, or None."""
    for key, hook in module._forward_pre_hooks.items():
        if isinstance(hook, WeightNorm) and hook.name == name:
            return key, hook
    return None


def weight_norm(module: Module, name: str = "weight", dim: int | None = 0) -> Module:
    """Reparametrize `module.<name>` as `<name>_g * <name>_v / ||<name>_v||`; returns the module.

    `dim` is the axis that keeps one norm per slice (0: per output row of Linear or Conv). As in torch,
    dim=None and dim=-1 both take a single norm over the whole tensor.
    """
    if _hook_of(module, name) is not None:
        raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
    weight = getattr(module, name)
    if not isinstance(weight, Parameter):
        raise TypeError(f"weight_norm: module.{name} must be a Parameter, got {type(weight).__name__}")
    if dim is not None and not -weight.ndim <= dim < weight.ndim:
        raise ValueError(f"weight_norm: dim {dim} is out of range for {name} of shape {weight.shape}")
    dim = None if dim is None or dim == -1 else dim % weight.ndim
    norm = _norm_except_dim(weight.detach(), dim)
    _check_nonzero(norm, name, dim)
    delattr(module, name)
    module.register_parameter(name + "_g", Parameter(norm.data))
    module.register_parameter(name + "_v", Parameter(weight))
    hook = WeightNorm(name, dim)
    setattr(module, name, hook.compute_weight(module))
    module.register_forward_pre_hook(hook)
    return module


def remove_weight_norm(module: Module, name: str = "weight") -> Module:
    """Undo `weight_norm`: `module.<name>` becomes a Parameter again holding g * v / ||v||; returns the module."""
    found = _hook_of(module, name)
    if found is None:
        raise ValueError(f"weight_norm of '{name}' not found in {module}")
    key, hook = found
    weight = hook.compute_weight(module).detach()
    for attribute in (name, name + "_g", name + "_v"):
        delattr(module, attribute)
    module.register_parameter(name, Parameter(weight))
    del module._forward_pre_hooks[key]
    return module
