"""Containers with torch.nn's names: Sequential and ModuleList (modules under the keys "0", "1", ...),
ModuleDict (modules by name), and ParameterList and ParameterDict (parameters, by number or by name).

Difference from torch: ParameterList and ParameterDict hold tensors only (a plain Tensor becomes a Parameter
sharing its array, as in torch); torch also lets them hold arbitrary objects.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..tensor import Tensor
from .module import Module, Parameter, _addindent


def _position(index: Any, length: int) -> int:
    """An int index (negative counts from the end) as a position in [0, length)."""
    if not isinstance(index, int):
        raise TypeError(f"indices must be integers or slices, not {type(index).__name__}")
    if not -length <= index < length:
        raise IndexError(f"index {index} is out of range")
    return index % length


class _Numbered(Module):
    """Children kept in order. `append`/`extend` add under the next numbers; `insert`, `del` and `pop`
    leave the children numbered "0", "1", ... again (as torch)."""

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def append(self, module: Module) -> _Numbered:
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> _Numbered:
        for module in modules:
            self.append(module)
        return self

    def __iadd__(self, modules: Iterable[Module]) -> _Numbered:
        return self.extend(modules)

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def insert(self, index: int, module: Module) -> _Numbered:
        """Put `module` before position `index` (list.insert's rule for the index)."""
        modules = list(self)
        modules.insert(index, module)
        self._renumber(modules)
        return self

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self)
        del modules[index if isinstance(index, slice) else _position(index, len(modules))]
        self._renumber(modules)

    def pop(self, index: int | slice = -1) -> Module:
        module = self[index]
        del self[index]
        return module


class Sequential(_Numbered):
    """Calls its modules in order, each on the previous one's output.

    `Sequential(m0, m1, ...)` names them "0", "1", ...; `Sequential(OrderedDict(name=module, ...))`
    keeps the given names. A slice is a Sequential of the selected modules under their names (as torch).
    """

    def __init__(self, *args: Module | OrderedDict):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, index: int | slice) -> Module:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(OrderedDict(items[index]))
        return items[_position(index, len(items))][1]

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the module at `index`, keeping its name."""
        self.add_module(list(self._modules)[_position(index, len(self))], module)

    def forward(self, input: Any) -> Any:
        for module in self:
            input = module(input)
        return input


class ModuleList(_Numbered):
    """A list of modules whose parameters belong to the owner; it has no forward of its own. A slice
    is a ModuleList renumbered from 0 (as torch)."""

    def __init__(self, modules: Iterable[Module] | None = None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[_position(index, len(modules))]

    def __setitem__(self, index: int, module: Module) -> None:
        self.add_module(str(_position(index, len(self))), module)

    def __repr__(self) -> str:
        """Runs of identical children are shown once, as `(first-last): count x repr` (as torch)."""
        reprs = [repr(module) for module in self]
        if not reprs:
            return f"{type(self).__name__}()"
        runs: list[list] = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if runs and runs[-1][2] == text:
                runs[-1][1] = i
            else:
                runs.append([i, i, text])
        lines = [
            f"({first}): {text}" if first == last else f"({first}-{last}): {last - first + 1} x {text}"
            for first, last, text in runs
        ]
        return f"{type(self).__name__}(\n  " + "\n  ".join(_addindent(line, 2) for line in lines) + "\n)"


# ---- containers by name ---------------------------------------------------------------------------------------


class _Keyed(Module):
    """A dict over one of the module's registries (`_modules` or `_parameters`), in insertion order;
    subclasses say which and how a value is stored (`_put`)."""

    _registry_name: str

    def _put(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def _entries(self) -> dict:
        return getattr(self, self._registry_name)

    def __getitem__(self, key: str) -> Any:
        return self._entries()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._put(key, value)

    def __delitem__(self, key: str) -> None:
        del self._entries()[key]

    def __len__(self) -> int:
        return len(self._entries())

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries())

    def __contains__(self, key: object) -> bool:
        return key in self._entries()

    def keys(self):
        return self._entries().keys()

    def items(self):
        return self._entries().items()

    def values(self):
        return self._entries().values()

    def clear(self) -> None:
        self._entries().clear()

    def pop(self, key: str) -> Any:
        value = self[key]
        del self[key]
        return value

    def update(self, entries: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Add or replace entries from a mapping or from (key, value) pairs, in their order."""
        pairs = entries.items() if isinstance(entries, Mapping) else entries
        for i, pair in enumerate(pairs):
            if isinstance(pair, str) or len(pair) != 2:
                raise ValueError(f"{type(self).__name__}.update: element #{i} should be a (key, value) pair")
            self[pair[0]] = pair[1]


class ModuleDict(_Keyed):
    """Modules by name, registered as children (their parameters belong to the owner); no forward of its own."""

    _registry_name = "_modules"

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def _put(self, key: str, module: Module) -> None:
        self.add_module(key, module)


def _as_parameter(value: Any) -> Parameter:
    """A Parameter as it is; a plain Tensor as a Parameter on its array (as torch's parameter containers)."""
    if not isinstance(value, Tensor):
        raise TypeError(f"a parameter container holds tensors, got {type(value).__name__}")
    return value if isinstance(value, Parameter) else Parameter(value)


def _parameter_line(key: str, param: Parameter) -> str:
    size = "x".join(map(str, param.shape))
    return f"({key}): Parameter containing: [{param.dtype} of size {size}]"


def _parameters_repr(container: Module) -> str:
    lines = [_parameter_line(key, param) for key, param in container._parameters.items()]
    return f"{type(container).__name__}(" + "".join(f"\n    {line}" for line in lines) + ("\n)" if lines else ")")


class ParameterDict(_Keyed):
    """Parameters by name; `state_dict` keys are the names."""

    _registry_name = "_parameters"

    def __init__(self, parameters: Mapping[str, Tensor] | Iterable[tuple[str, Tensor]] | None = None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def _put(self, key: str, value: Tensor) -> None:
        self.register_parameter(key, _as_parameter(value))

    def __repr__(self) -> str:
        return _parameters_repr(self)


class ParameterList(Module):
    """Parameters in order, registered under "0", "1", ... (the `state_dict` keys)."""

    def __init__(self, values: Iterable[Tensor] | None = None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self) -> int:
        return len(self._parameters)

    def __iter__(self) -> Iterator[Parameter]:
        return iter(self._parameters.values())

    def __getitem__(self, index: int | slice) -> Parameter | ParameterList:
        values = list(self._parameters.values())
        if isinstance(index, slice):
            return ParameterList(values[index])
        return values[_position(index, len(values))]

    def __setitem__(self, index: int, value: Tensor) -> None:
        self.register_parameter(str(_position(index, len(self))), _as_parameter(value))

    def append(self, value: Tensor) -> ParameterList:
        self.register_parameter(str(len(self)), _as_parameter(value))
        return self

    def extend(self, values: Iterable[Tensor]) -> ParameterList:
        for value in values:
            self.append(value)
        return self

    def __iadd__(self, values: Iterable[Tensor]) -> ParameterList:
        return self.extend(values)

    def __repr__(self) -> str:
        return _parameters_repr(self)
