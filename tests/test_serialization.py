"""`tn.save` / `tn.load`: exact round trips of every supported type, refusals before writing, atomic writes
(a process killed mid-save leaves the previous checkpoint), clear errors for truncated and foreign files, and
no code execution from a file."""

from __future__ import annotations

import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

import tinygrad_norm as tn
import tinygrad_norm.nn as nn
from tinygrad_norm.random import get_state


def assert_same(loaded, expected, where="obj"):
    """Equal values of exactly the same types, recursively; arrays equal in dtype, shape and bytes."""
    assert type(loaded) is type(expected), f"{where}: {type(loaded)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(loaded) == list(expected), where
        for key in expected:
            assert type(next(k for k in loaded if k == key)) is type(key), f"{where}: key type of {key!r}"
            assert_same(loaded[key], expected[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(loaded) == len(expected), where
        for i, (a, b) in enumerate(zip(loaded, expected)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(expected, tn.Tensor):
        assert loaded.requires_grad == expected.requires_grad, where
        assert_same(loaded.numpy(), expected.numpy(), where)
    elif isinstance(expected, (np.ndarray, np.generic)):
        assert loaded.dtype == expected.dtype and loaded.shape == expected.shape, where
        assert np.asarray(loaded).tobytes() == np.asarray(expected).tobytes(), where
    elif isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(loaded), where
    elif isinstance(expected, float):
        assert loaded == expected and math.copysign(1, loaded) == math.copysign(1, expected), where
    else:
        assert loaded == expected, where


def round_trip(obj, tmp_path):
    path = tmp_path / "checkpoint.pt"
    tn.save(obj, path)
    return tn.load(path)


SCALARS = [None, True, False, 0, -7, 2**200, -(2**70), 0.0, -0.0, 1.5, 1e-310, math.inf, -math.inf, math.nan, "", "ü"]
ARRAYS = [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.arange(12, dtype=np.float64).reshape(3, 4).T,  # not C-contiguous
    np.array([1, -2, 3], np.int64),
    np.array([True, False]),
    np.zeros((0, 5), np.uint8),
    np.array(3.5, np.float16),  # 0-d
    np.array([1 + 2j], np.complex128),
    np.array(["ab", "c"]),
]
NUMPY_SCALARS = [np.float32(1.25), np.float64(-0.5), np.int64(-3), np.uint8(200), np.bool_(True), np.str_("é")]


@pytest.mark.parametrize("value", SCALARS + ARRAYS + NUMPY_SCALARS, ids=repr)
def test_every_supported_value_round_trips_exactly(value, tmp_path):
    obj = {"value": value, "nested": [value, (value,)]}
    assert_same(round_trip(obj, tmp_path), obj)


def test_containers_keep_their_types_key_types_and_order(tmp_path):
    obj = {"b": 1, 3: [(), [], {}], "a": (1, [2, (3,)]), 0: {1: {"x": None}}, "1": "str key, not int"}
    loaded = round_trip(obj, tmp_path)
    assert_same(loaded, obj)
    assert 1 not in loaded and "1" in loaded and loaded[3] == [(), [], {}]
    assert_same(round_trip(OrderedDict(b=1, a=2), tmp_path), {"b": 1, "a": 2})  # an OrderedDict loads as dict


def test_top_level_values_of_any_supported_type(tmp_path):
    for value in (None, 3, "x", [1, 2], (1,), np.ones(2)):
        assert_same(round_trip(value, tmp_path), value)


def test_tensors_come_back_as_tensors_and_parameters_as_parameters(tmp_path):
    tensor = tn.tensor([[1.0, 2.0]], dtype="float64", requires_grad=True)
    tensor.grad = tn.ones(1, 2, dtype="float64")
    parameter = nn.Parameter(tn.tensor([0.5, 1.5]))
    frozen = nn.Parameter(tn.tensor([3.0]), requires_grad=False)
    loaded = round_trip({"t": tensor, "p": parameter, "f": frozen, "i": tn.tensor([1, 2])}, tmp_path)
    assert type(loaded["t"]) is tn.Tensor and loaded["t"].grad is None  # gradients are not saved
    assert type(loaded["p"]) is nn.Parameter and type(loaded["f"]) is nn.Parameter
    assert_same(loaded, {"t": tensor, "p": parameter, "f": frozen, "i": tn.tensor([1, 2])})


def test_a_training_checkpoint_round_trips(tmp_path):
    """A model's state_dict, a torch-shaped optimizer state (int keys, tuples), an epoch and the random state."""
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    optim = {
        "state": {0: {"step": 3, "exp_avg": np.ones((3, 4), np.float32)}, 2: {"step": 3, "exp_avg": np.zeros(3)}},
        "param_groups": [{"params": [0, 1, 2, 3, 4, 5], "lr": 1e-3, "betas": (0.9, 0.999), "foreach": None}],
    }
    checkpoint = {"model": model.state_dict(), "optim": optim, "epoch": 4, "rng": get_state()}
    loaded = round_trip(checkpoint, tmp_path)
    assert_same(loaded, checkpoint)
    restored = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.Linear(3, 2))
    restored.load_state_dict(loaded["model"])
    assert_same(restored.state_dict(), model.state_dict())


def test_a_torch_optimizer_state_dict_survives_the_trip(tmp_path):
    torch = pytest.importorskip("torch")
    weights = [torch.nn.Parameter(torch.randn(3, 2)), torch.nn.Parameter(torch.randn(2))]
    optimizer = torch.optim.Adam(weights, lr=0.01, betas=(0.8, 0.9))
    for _ in range(2):
        optimizer.zero_grad()
        (weights[0].sum() * weights[1].sum()).backward()
        optimizer.step()

    def to_numpy(x):
        if isinstance(x, dict):
            return {k: to_numpy(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(to_numpy(v) for v in x)
        return x.numpy() if isinstance(x, torch.Tensor) else x

    def to_torch(x):
        if isinstance(x, dict):
            return {k: to_torch(v) for k, v in x.items()}
        if isinstance(x, (list, tuple)):
            return type(x)(to_torch(v) for v in x)
        return torch.from_numpy(x) if isinstance(x, np.ndarray) else x

    saved = to_numpy(optimizer.state_dict())
    loaded = round_trip(saved, tmp_path)
    assert_same(loaded, saved)
    fresh = torch.optim.Adam([torch.nn.Parameter(w.detach().clone()) for w in weights], lr=0.5)
    fresh.load_state_dict(to_torch(loaded))
    assert fresh.param_groups[0]["betas"] == (0.8, 0.9) and fresh.param_groups[0]["lr"] == 0.01
    for ours, theirs in zip(fresh.state.values(), optimizer.state.values()):
        assert all(torch.equal(ours[key], theirs[key]) for key in theirs)


class Unsupported:
    pass


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        ({"w": np.ones(2), "optim": {"state": {0: {"fn": Unsupported()}}}}, r"obj\['optim'\]\['state'\]\[0\]\['fn'\]"),
        ({"a": [1, {2, 3}]}, r"builtins.set at obj\['a'\]\[1\]"),
        ({"a": np.array([object()])}, r"Python objects .* at obj\['a'\]"),
        ({"a": {1.5: 2}}, r"keys must be str or int, got float 1.5 in obj\['a'\]"),
        ({"a": {(1, 2): 2}}, r"got tuple"),
        ({True: 1}, r"got bool"),
        (b"bytes", r"builtins.bytes at obj"),
    ],
)
def test_unsupported_objects_raise_before_anything_is_written(obj, message, tmp_path):
    path = tmp_path / "checkpoint.pt"
    tn.save({"previous": 1}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=message):
        tn.save(obj, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["checkpoint.pt"]


def test_a_container_that_contains_itself_raises(tmp_path):
    loop = {"a": []}
    loop["a"].append(loop)
    with pytest.raises(ValueError, match=r"obj\['a'\]\[0\] contains itself"):
        tn.save(loop, tmp_path / "c.pt")
    shared = [1]
    assert_same(round_trip({"x": shared, "y": shared}, tmp_path), {"x": [1], "y": [1]})  # shared is not a loop
    assert not (tmp_path / "c.pt").exists()


def test_a_failure_while_writing_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    tn.save({"epoch": 1}, path)

    def failing_savez(file, **arrays):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        tn.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert tn.load(path) == {"epoch": 1} and os.listdir(tmp_path) == ["checkpoint.pt"]


_KILLED_WRITER = """
import sys, numpy as np, tinygrad_norm as tn
tn.save({"epoch": 2, "weights": [np.full(1 << 20, i, np.float32) for i in range(64)]}, sys.argv[1])  # 256 MiB
"""


def test_a_process_killed_mid_save_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    tn.save({"epoch": 1, "weights": [np.ones(3, np.float32)]}, path)
    child = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(path)])
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.endswith(".tmp") and p.stat().st_size > (1 << 20) for p in tmp_path.iterdir()):
            assert child.poll() is None and time.monotonic() < deadline, "the writer ended before it was killed"
            time.sleep(0.001)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "checkpoint.pt"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".checkpoint.pt.")  # the write was cut short
    assert_same(tn.load(path), {"epoch": 1, "weights": [np.ones(3, np.float32)]})
    with pytest.raises(ValueError, match="cannot load"):
        tn.load(tmp_path / leftovers[0])


def test_truncated_files_raise_one_clear_error(tmp_path):
    path = tmp_path / "checkpoint.pt"
    tn.save({"w": np.arange(1000.0), "epoch": 3}, path)
    data = path.read_bytes()
    for size in (0, 10, len(data) // 2, len(data) - 1):
        cut = tmp_path / f"cut{size}.pt"
        cut.write_bytes(data[:size])
        with pytest.raises(ValueError, match=rf"cannot load '{re.escape(str(cut))}'"):
            tn.load(cut)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _checkpoint(tree, arrays=(), **header) -> bytes:
    """A zip laid out like a checkpoint, with any header fields and object tree."""
    fields = {"format": "tinygrad_norm.checkpoint", "version": 1, "object": tree, **header}
    text = np.frombuffer(json.dumps(fields).encode(), np.uint8)
    return _zip({"header.npy": _npy(text), **{f"{i}.npy": _npy(a) for i, a in enumerate(arrays)}})


def test_foreign_and_malformed_files_raise_one_clear_error(tmp_path):
    tensor = {"array": "0", "requires_grad": True, "parameter": False}
    files = {
        "text.pt": b"just some text\n",
        "array.npy": _npy(np.ones(3)),
        "other.npz": _zip({"x.npy": _npy(np.ones(3))}),
        "bad_json.pt": _zip({"header.npy": _npy(np.frombuffer(b"{not json", np.uint8))}),
        "float_header.pt": _zip({"header.npy": _npy(np.ones(3))}),
        "wrong_format.pt": _checkpoint(1, format="other"),
        "no_object.pt": _zip({"header.npy": _npy(np.frombuffer(b'{"format": "tinygrad_norm.checkpoint"}', np.uint8))}),
        "newer.pt": _checkpoint(1, version=2),
        "missing_array.pt": _checkpoint({"array": "0"}),
        "unknown_tag.pt": _checkpoint({"set": [1]}),
        "two_tags.pt": _checkpoint({"tuple": [], "list": []}),
        "bad_pair.pt": _checkpoint({"dict": [[1.5, 2]]}),
        "flag_not_bool.pt": _checkpoint({"tensor": {**tensor, "parameter": 0}}, [np.ones(3)]),
        "int_requires_grad.pt": _checkpoint({"tensor": tensor}, [np.arange(3)]),
    }
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        message = rf"cannot load '{re.escape(str(path))}': not a readable tinygrad_norm checkpoint"
        with pytest.raises(ValueError, match=message):
            tn.load(path)
    with pytest.raises(FileNotFoundError):
        tn.load(tmp_path / "absent.pt")


class _Exploit:
    """Unpickling this creates the file `marker`: proof that loading ran code from the file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_loading_never_unpickles(tmp_path):
    marker = tmp_path / "code_ran"
    payload = np.array([_Exploit(marker)], dtype=object)
    as_array, as_header = tmp_path / "array.pt", tmp_path / "header.pt"
    as_array.write_bytes(_checkpoint({"array": "0"}, [payload]))
    as_header.write_bytes(_zip({"header.npy": _npy(payload)}))
    np.save(tmp_path / "check.npy", payload, allow_pickle=True)
    np.load(tmp_path / "check.npy", allow_pickle=True)  # the payload does run when unpickled ...
    assert marker.exists()
    marker.unlink()
    for path in (as_array, as_header):
        with pytest.raises(ValueError, match="cannot load"):
            tn.load(path)
        assert not marker.exists()  # ... and load never unpickles it
