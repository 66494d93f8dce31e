"""Sequential and ModuleList: modules that hold other modules under the keys "0", "1", ..."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from .module import Module, _addindent


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
