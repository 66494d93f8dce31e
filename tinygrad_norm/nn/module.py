"""`Module`, the base of every layer, and `Parameter`, the tensors a module trains.

A module registers what is assigned to it: a `Parameter` becomes a parameter, a `Module` a child,
and tensors given to `register_buffer` become buffers (state that is saved but not trained, such
as running statistics). Names, traversal order (registration order, depth first), `state_dict`
keys and `repr` follow torch.nn.Module, so a torch checkpoint loads by name.

Hooks (forward pre-hooks, forward hooks, full backward hooks) have torch's signatures and handles; see
module_hooks.py.

Differences from torch: `state_dict()` values are numpy arrays in host memory, copied (a snapshot, where torch
returns views that follow later training, on the model's device); there are no global hooks nor state-dict hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..autograd import no_grad
from ..devices import CPU, Device, copy_to, parse_to_args
from ..tensor import Tensor
from .module_hooks import HookMethods
from .state_dict import IncompatibleKeys, convert


class Parameter(Tensor):
    """A tensor that a module trains: assigning one to a module attribute registers it.

    `Parameter(data, requires_grad=True)` shares the array (and version counter) of a Tensor argument, as
    torch does, and converts anything else like `Tensor(data)` (Python floats become float32).
    """

    __slots__ = ()

    def __init__(self, data: Any = None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, np.float32)
        tensor = data if isinstance(data, Tensor) else Tensor(data)
        self._init(tensor.data, requires_grad)
        self._version_counter = tensor._shared_counter()

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


def _check_name(name: Any, kind: str) -> None:
    if not isinstance(name, str):
        raise TypeError(f"{kind} name must be a string, got {type(name).__name__}")
    if name == "" or "." in name:
        raise KeyError(f'{kind} name can\'t be empty or contain ".", got {name!r}')


def _addindent(text: str, spaces: int) -> str:
    """Indent every line but the first (how torch nests child reprs)."""
    first, *rest = text.split("\n")
    return "\n".join([first] + [" " * spaces + line for line in rest])


class Module(HookMethods):
    """Base class of every layer: subclasses call `super().__init__()` and define `forward`.

    `module(x)` calls `module.forward(x)`, with the hooks around it when there are any. `training` is True after
    construction; `train()`/`eval()` set it on the module and every descendant.
    """

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", {})
        self._init_hooks()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_pre_hooks or self._forward_hooks or self._backward_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    # ---- registration ----------------------------------------------------------------------------

    def _registries(self) -> tuple[dict, dict, dict]:
        state = self.__dict__
        if "_parameters" not in state:
            raise AttributeError(f"cannot assign to {type(self).__name__} before Module.__init__() call")
        return state["_parameters"], state["_buffers"], state["_modules"]

    def _forget(self, name: str, keep: dict | None = None) -> None:
        """Remove `name` from the registries other than `keep` and from the plain attributes, before it
        is registered in `keep` (where an existing entry keeps its place in the order, as in torch)."""
        for registry in self._registries():
            if registry is not keep:
                registry.pop(name, None)
        self.__dict__.pop(name, None)
        if keep is not self._buffers:
            self._non_persistent_buffers.discard(name)

    def _register(self, registry: dict, kind: str, name: str, value: Any, expected: type) -> None:
        _check_name(name, kind)
        if hasattr(self, name) and name not in registry:
            raise KeyError(f"attribute '{name}' already exists")
        self._store(registry, kind, name, value, expected)

    def _store(self, registry: dict, kind: str, name: str, value: Any, expected: type) -> None:
        if value is not None and not isinstance(value, expected):
            raise TypeError(
                f"cannot assign '{type(value).__name__}' as {kind} '{name}' ({expected.__name__} or None expected)"
            )
        self._forget(name, registry)
        registry[name] = value

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register `param` (or a None placeholder, which parameters() skips) under `name`."""
        self._register(self._registries()[0], "parameter", name, param, Parameter)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register state that is not trained; persistent buffers are part of `state_dict()`."""
        self._register(self._registries()[1], "buffer", name, tensor, Tensor)
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Register `module` as a child named `name`."""
        self._register(self._registries()[2], "module", name, module, Module)

    def __setattr__(self, name: str, value: Any) -> None:
        """A Parameter or Module value is registered under `name`; a name already registered only takes
        a value of its kind (or None); anything else is a plain attribute (as torch)."""
        parameters, buffers, modules = self._registries()
        slots = (
            (parameters, "parameter", Parameter, True),
            (modules, "module", Module, True),
            (buffers, "buffer", Tensor, False),  # a Tensor value becomes a buffer only through register_buffer
        )
        for registry, kind, expected, claims_value in slots:
            if name in registry or (claims_value and isinstance(value, expected)):
                self._store(registry, kind, name, value, expected)
                return
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        # only called when normal lookup fails, i.e. for registered names
        state = self.__dict__
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in state.get(registry, ()):
                return state[registry][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        if any(name in registry for registry in self._registries()):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    # ---- traversal -------------------------------------------------------------------------------

    def named_modules(
        self, memo: set[int] | None = None, prefix: str = "", remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Module]]:
        """This module and every descendant, depth first in registration order, with dotted names."""
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(
        self, registry: str, prefix: str, recurse: bool, remove_duplicate: bool
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, tensor) for each entry of `registry` in this module (and descendants)."""
        modules = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) if recurse else [(prefix, self)]
        seen: set[int] = set()
        for module_prefix, module in modules:
            for name, tensor in getattr(module, registry).items():
                if tensor is None or (remove_duplicate and id(tensor) in seen):
                    continue
                seen.add(id(tensor))
                yield (f"{module_prefix}.{name}" if module_prefix else name), tensor

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names (`0.weight`), each shared parameter once."""
        yield from self._named_members("_parameters", prefix, recurse, remove_duplicate)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ---- modes and gradients ---------------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and every descendant; returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"training mode is expected to be boolean, got {type(mode).__name__}")
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every parameter's gradient (or fill it with zeros when `set_to_none=False`)."""
        for param in self.parameters():
            if set_to_none:
                param.grad = None
            elif param.grad is not None:
                param.grad.data[...] = 0

    def apply(self, fn: Callable[[Module], None]) -> Module:
        """Call `fn` on every descendant, then on this module (children first, as torch); returns self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ---- dtype and device ------------------------------------------------------------------------

    def to(self, *args: Any, device: Any = None, dtype: Any = None, non_blocking: bool = False) -> Module:
        """torch's `to(dtype)`, `to(device)`, `to(device, dtype)`, `to(tensor)`: move every parameter, its
        gradient and every buffer to `device` and cast the floating-point ones to `dtype`, in place (the
        Parameter objects stay the same, so an optimizer holding them still works). `non_blocking` changes
        nothing."""
        device, dtype = parse_to_args(*args, device=device, dtype=dtype)
        if dtype is not None and dtype.kind not in "fc":
            raise TypeError(f"Module.to only accepts floating point dtypes, got {dtype}")
        if device is None and dtype is None:
            return self
        for tensor in [*self.parameters(), *self.buffers()]:
            cast = dtype if tensor.dtype.kind in "fc" else None
            tensor.data = copy_to(tensor.data, device, cast, copy=False)
            if tensor.grad is not None:
                tensor.grad.data = copy_to(tensor.grad.data, device, cast, copy=False)
        return self

    def cuda(self, device: Device | str | int | None = None) -> Module:
        """Move every parameter and buffer to a GPU (default: the current one), in place; returns self."""
        device = Device("cuda") if device is None else Device(device)
        if device.type != "cuda":
            raise ValueError(f"cuda(): device must be a CUDA device, got {str(device)!r}")
        return self.to(device)

    def cpu(self) -> Module:
        """Move every parameter and buffer to host memory, in place; returns self."""
        return self.to(CPU)

    def float(self) -> Module:
        return self.to(np.float32)

    def double(self) -> Module:
        return self.to(np.float64)

    # ---- state dict ------------------------------------------------------------------------------

    def _state_tensors(self) -> dict[str, Tensor]:
        """The tensors `state_dict` saves, by key: each module's parameters, then its persistent
        buffers, then its children's (torch's order)."""
        state: dict[str, Tensor] = {}
        for prefix, module in self.named_modules(remove_duplicate=False):
            dot = f"{prefix}." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    state[dot + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    state[dot + name] = buffer
        return state

    def state_dict(self, keep_vars: bool = False) -> dict[str, Any]:
        """Parameters and persistent buffers by dotted name, as numpy array copies in host memory, from any
        device (the tensors themselves with `keep_vars=True`)."""
        return {key: t if keep_vars else copy_to(t.data, CPU) for key, t in self._state_tensors().items()}

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy `state_dict`'s values into this module's parameters and buffers, cast to their dtypes.

        All or nothing: every value is converted and checked first (see state_dict.py): missing and
        unexpected keys (when `strict`), wrong shapes and values the target cannot hold (always) raise one
        RuntimeError listing all of them, and the module is left unchanged. Returns (missing_keys,
        unexpected_keys).
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        targets = self._state_tensors()
        missing = [key for key in targets if key not in state_dict]
        unexpected = [key for key in state_dict if key not in targets]
        arrays, errors = {}, []
        for key, target in targets.items():
            if key in state_dict:
                try:
                    arrays[key] = convert(key, state_dict[key], target)
                except ValueError as refused:
                    errors.append(str(refused))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ". ")
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ". ")
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        with no_grad():
            for key, array in arrays.items():
                target = targets[key]
                target.copy_(Tensor._from_array(array, False))  # copy_ moves it to the target's device
        return IncompatibleKeys(missing, unexpected)

    # ---- printing --------------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The layer's own settings, shown inside its repr (e.g. `in_features=3, out_features=4`)."""
        return ""

    def __repr__(self) -> str:
        extra_lines = self.extra_repr().split("\n") if self.extra_repr() else []
        child_lines = [f"({name}): " + _addindent(repr(child), 2) for name, child in self._modules.items()]
        lines = extra_lines + child_lines
        body = ""
        if len(extra_lines) == 1 and not child_lines:
            body = extra_lines[0]
        elif lines:
            body = "\n  " + "\n  ".join(lines) + "\n"
        return f"{type(self).__name__}({body})"
