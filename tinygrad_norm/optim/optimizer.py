"""`Optimizer`, the base of every optimizer: parameter groups, per-parameter state, `zero_grad`, and
`state_dict`/`load_state_dict` in torch.optim's layout.

A state dict is `{"state": {index: {name: value}}, "param_groups": [{option: value, ..., "params": [index]}]}`,
parameters numbered in group order, as torch numbers them. State values are numpy arrays: tensors of the
parameter's shape, and `step`, a 0-d float32 array where torch keeps a 0-d float32 tensor. A state dict's arrays
are in host memory whatever the parameters' device; the state itself lives beside each parameter, and a loaded
state dict's arrays move there. So a state dict moves
to torch with `torch.as_tensor` on each array, and torch's loads here as it is (tensors are converted).

Differences from torch: `state_dict()` copies the state (a snapshot, as `Module.state_dict` here), where torch
returns the live tensors; `load_state_dict` checks the shape of every state array against its parameter, and
changes nothing when any check fails; there are no hooks.
"""

from __future__ import annotations

import copy
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from itertools import chain
from typing import Any

import numpy as np

from ..autograd import enable_grad
from ..devices import CPU, array_module, copy_to, current
from ..tensor import Tensor

ParamsT = Iterable[Tensor] | Iterable[dict[str, Any]] | Iterable[tuple[str, Tensor]]


_OPTION_LABELS = {"lr": "learning rate", "eps": "epsilon value"}


def check_non_negative(**options: float) -> None:
    """ValueError with torch's message ("Invalid learning rate: -1") for the first option that is negative or nan."""
    for name, value in options.items():
        if not 0.0 <= value:
            raise ValueError(f"Invalid {_OPTION_LABELS.get(name, name + ' value')}: {value}")


def check_implementation_flags(foreach: bool | None = None, fused: bool | None = None,
                               differentiable: bool = False, capturable: bool = False) -> None:
    """torch's `foreach` and `fused` choose among its implementations of one update; here every update is one
    kernel per parameter, so both are accepted (and kept in each group, as torch keeps them) and change nothing.
    Differentiating through the update and CUDA-graph capture are not available."""
    if differentiable:
        raise ValueError("differentiable=True is not supported: the update runs outside the autograd tape")
    if capturable:
        raise ValueError("capturable=True is not supported: there is no CUDA graph capture")
    if fused and foreach:
        raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


def _to_array(value: Any) -> Any:
    """A state value as an array: our Tensors, numpy and CuPy arrays, torch tensors (anything with `.detach()`
    and `.numpy()`); other values (None, numbers) pass unchanged."""
    if isinstance(value, Tensor):
        return value.data
    if hasattr(value, "detach") and hasattr(value, "numpy"):
        return value.detach().cpu().numpy()
    return value


def _host_copy(value: Any) -> Any:
    """A numpy copy of an array (also of a CuPy one); other values unchanged."""
    return copy_to(value, CPU) if isinstance(value, np.ndarray) or array_module(value) is not np else value


class Optimizer:
    """Base class of the optimizers: keeps `param_groups` (dicts of options with their `params`) and `state`
    (per-parameter dicts), and runs `_update(param, group)` for each parameter with a gradient on `step()`.

    `params` is an iterable of tensors, of `(name, tensor)` pairs, or of dicts that each hold `params` and any
    options of their own (the others come from `defaults`).
    """

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: defaultdict[Tensor, dict[str, Any]] = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, but got Tensor"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines) + "\n)"

    # ---- parameters ------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters with its own options; options it leaves out take `defaults`."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors in "
                "sets will change between runs. Please use a list instead."
            )
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        param_group["params"] = params = [p[1] if isinstance(p, tuple) else p for p in params]
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {type(param).__name__}")
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            param_group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error",
                stacklevel=3,
            )
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                kind = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    f"all optimizer param groups should be with/without names. cannot add param group {kind} to the "
                    "optimizer"
                )
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if any(id(p) in existing for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (`set_to_none`, the default) or fill it with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data.fill(0)

    # ---- the update ------------------------------------------------------------------------------

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One update of every parameter that has a gradient (those whose `.grad` is None are skipped).
        `closure`, when given, recomputes the loss with gradients enabled; its result is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    with current(p.data):  # the update's temporaries go beside the parameter
                        self._update(p, group)
        return loss

    def _update(self, param: Tensor, group: dict[str, Any]) -> None:
        raise NotImplementedError

    @staticmethod
    def _zeros(param: Tensor) -> Any:
        """A state array for `param`: zeros of its shape and dtype, C-contiguous, on its device."""
        return param.xp.zeros(param.shape, param.dtype)

    # ---- saving and loading ----------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """`{"state": {index: {name: array}}, "param_groups": [...]}` (see the module docstring); a copy."""
        index: dict[int, int] = {}
        param_groups = []
        start = 0
        for group in self.param_groups:
            packed = {key: value for key, value in group.items() if key != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            param_groups.append(packed)
        state = {
            (index[id(key)] if isinstance(key, Tensor) else key): {name: _host_copy(v) for name, v in values.items()}
            for key, values in self.state.items()
        }
        return {"state": state, "param_groups": param_groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Load a state dict from `state_dict()` here or from torch.optim: its groups' options replace ours
        (an option it lacks takes `defaults`), its state arrays are copied, cast to each parameter's dtype.

        Checked first, changing nothing on failure: the number of groups and of parameters in each (ValueError,
        torch's messages) and the shape of every state array (ValueError naming the parameter and the entry).
        """
        if not isinstance(state_dict, Mapping) or not {"state", "param_groups"} <= state_dict.keys():
            raise TypeError("state_dict must be a dict with 'state' and 'param_groups', as state_dict() returns")
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(self.param_groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError(
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group"
            )
        params = dict(
            zip(chain.from_iterable(s["params"] for s in saved_groups),
                chain.from_iterable(g["params"] for g in self.param_groups))
        )
        state: defaultdict[Any, dict[str, Any]] = defaultdict(dict)
        errors = []
        for key, values in state_dict["state"].items():
            if key not in params:  # state of no parameter: kept as it is, as torch does
                state[key] = values
                continue
            param = params[key]
            for name, value in values.items():
                state[param][name] = value = self._state_value(param, name, value)
                if name != "step" and hasattr(value, "shape") and tuple(value.shape) != param.shape:
                    errors.append(
                        f"state {name!r} of parameter {key} has shape {tuple(value.shape)}, "
                        f"the parameter has shape {param.shape}"
                    )
        if errors:
            raise ValueError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for group, saved in zip(self.param_groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for name, default in self.defaults.items():
                saved.setdefault(name, default)
        self.state = state
        self.param_groups = saved_groups

    @staticmethod
    def _state_value(param: Tensor, name: str, value: Any) -> Any:
        """A loaded state entry as this optimizer keeps it: `step` a 0-d array (float32 unless it comes as a
        floating array), any other array a copy in the parameter's dtype on its device."""
        value = _to_array(value)
        if name == "step":
            step = np.asarray(_host_copy(value))
            return step if step.dtype.kind == "f" and step.ndim == 0 else np.array(float(step), np.float32)
        if not hasattr(value, "shape"):
            return value
        state = copy_to(np.asarray(value) if array_module(value) is np else value, param.device, param.dtype)
        return state if state.flags.c_contiguous else param.xp.ascontiguousarray(state)
