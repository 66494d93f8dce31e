"""`save(obj, path)` and `load(path)`: checkpoints in torch's spirit, without pickle.

A checkpoint is one uncompressed `.npz` (zip) file. Its member `header.npy` holds UTF-8 JSON: the format name,
a version and the object tree; every array in the tree is a member of its own, `0.npy`, `1.npy`, ..., which
`load` reads with `allow_pickle=False`. Nothing in the file is ever executed, and object arrays are refused.

What goes in and what comes back:

| saved | loaded |
| --- | --- |
| `dict` (keys `str` or `int`), `list`, `tuple` | the same type, keys and order (an `OrderedDict` loads as `dict`) |
| `None`, `bool`, `int` (any size), `float` (nan and inf too), `str` | the same value |
| numpy array (no object dtype), numpy scalar | the same dtype, shape and bytes |
| `Tensor` / `nn.Parameter` (any device) | a CPU `Tensor` / `Parameter`: same data and `requires_grad` (not `.grad`) |

Anything else raises TypeError naming its place in the tree (`obj['optim']['state'][0]`) before the file is
touched. Unlike torch, arrays that share memory are stored twice and load as separate arrays.
"""

from __future__ import annotations

import json
import os
import struct
import zipfile
import zlib
from typing import Any

import numpy as np

from .atomic_file import atomic_write
from .devices import CPU, copy_to
from .nn.module import Parameter
from .tensor import Tensor

_FORMAT = "tinygrad_norm.checkpoint"
_VERSION = 1
_HEADER = "header"


def save(obj: Any, path: str | os.PathLike) -> None:
    """Write `obj` to `path` atomically: a crash mid-write leaves the previous file at `path` intact.

    Raises TypeError (unsupported object or dict key) or ValueError (a container that contains itself),
    naming the place in `obj`, before anything is written.
    """
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(obj, "obj", arrays, set())
    header = json.dumps({"format": _FORMAT, "version": _VERSION, "object": tree}).encode()
    with atomic_write(path) as file:
        np.savez(file, **{_HEADER: np.frombuffer(header, np.uint8)}, **arrays)


def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by `save` (see the module docstring for the types that come back).

    A file that is not one, or is truncated or corrupt, raises ValueError naming `path`; a missing file
    raises FileNotFoundError.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            header = json.loads(_read_array(archive, _HEADER, np.uint8).tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != _FORMAT or "object" not in header:
                raise ValueError("no tinygrad_norm checkpoint header")
            if header.get("version") != _VERSION:
                raise ValueError(f"checkpoint version {header.get('version')!r}, this version reads {_VERSION}")
            return _decode(header["object"], archive)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, KeyError, struct.error, NotImplementedError) as e:
        raise ValueError(f"cannot load {os.fspath(path)!r}: not a readable tinygrad_norm checkpoint ({e})") from e


# ---- the object tree: every JSON object is a one-key tag, so plain JSON values are never ambiguous ------------


def _encode(obj: Any, where: str, arrays: dict[str, np.ndarray], open_containers: set[int]) -> Any:
    if isinstance(obj, np.generic):  # first: np.float64 is a float and np.str_ a str
        return {"scalar": _store(np.asarray(obj), where, arrays)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)):
        return int(obj) if isinstance(obj, int) else float(obj)
    if isinstance(obj, np.ndarray):
        return {"array": _store(obj, where, arrays)}
    if isinstance(obj, Tensor):
        return {
            "tensor": {
                "array": _store(copy_to(obj.data, CPU, copy=False), where, arrays),
                "requires_grad": obj.requires_grad,
                "parameter": isinstance(obj, Parameter),
            }
        }
    if not isinstance(obj, (dict, list, tuple)):
        raise TypeError(f"save: cannot store {type(obj).__module__}.{type(obj).__qualname__} at {where}")
    if id(obj) in open_containers:
        raise ValueError(f"save: {where} contains itself")
    open_containers.add(id(obj))
    if isinstance(obj, dict):
        for key in obj:
            if not _is_key(key):
                raise TypeError(f"save: dict keys must be str or int, got {type(key).__name__} {key!r} in {where}")
        pairs = [[key, _encode(value, f"{where}[{key!r}]", arrays, open_containers)] for key, value in obj.items()]
        encoded = {"dict": pairs}
    else:
        items = [_encode(value, f"{where}[{i}]", arrays, open_containers) for i, value in enumerate(obj)]
        encoded = {"tuple": items} if isinstance(obj, tuple) else items
    open_containers.discard(id(obj))
    return encoded


def _store(array: np.ndarray, where: str, arrays: dict[str, np.ndarray]) -> str:
    if array.dtype.hasobject:
        raise TypeError(f"save: cannot store an array of Python objects (dtype {array.dtype}) at {where}")
    name = str(len(arrays))
    arrays[name] = array
    return name


def _decode(node: Any, archive: zipfile.ZipFile) -> Any:
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        return [_decode(item, archive) for item in node]
    if not isinstance(node, dict) or len(node) != 1:
        raise ValueError(f"malformed node {node!r:.80}")
    ((tag, payload),) = node.items()
    if tag == "dict" and isinstance(payload, list) and all(_is_pair(pair) for pair in payload):
        return {key: _decode(value, archive) for key, value in payload}
    if tag == "tuple" and isinstance(payload, list):
        return tuple(_decode(item, archive) for item in payload)
    if tag == "array" and isinstance(payload, str):
        return _read_array(archive, payload)
    if tag == "scalar" and isinstance(payload, str):
        return _read_array(archive, payload)[()]
    if tag == "tensor" and _is_tensor_payload(payload):
        array, requires_grad = _read_array(archive, payload["array"]), payload["requires_grad"]
        if requires_grad and array.dtype.kind not in "fc":
            raise ValueError(f"a {array.dtype} tensor cannot require grad")
        return Parameter(array, requires_grad) if payload["parameter"] else Tensor(array, requires_grad)
    raise ValueError(f"malformed {tag!r} node")


def _is_key(key: Any) -> bool:
    return isinstance(key, (str, int)) and not isinstance(key, bool)


def _is_pair(pair: Any) -> bool:
    return isinstance(pair, list) and len(pair) == 2 and _is_key(pair[0])


def _is_tensor_payload(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and payload.keys() == {"array", "requires_grad", "parameter"}
        and isinstance(payload["requires_grad"], bool)
        and isinstance(payload["parameter"], bool)
    )


def _read_array(archive: zipfile.ZipFile, name: Any, dtype: type | None = None) -> np.ndarray:
    if not isinstance(name, str):
        raise ValueError(f"malformed array reference {name!r:.80}")
    with archive.open(f"{name}.npy") as member:
        array = np.lib.format.read_array(member, allow_pickle=False)
    if dtype is not None and (array.dtype != dtype or array.ndim != 1):
        raise ValueError(f"{name}.npy is not a byte string")
    return array
