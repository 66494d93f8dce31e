"""`load_mnist` on small IDX files the tests write: local raw and gzip files, malformed sets, and downloads
from mirrors served on 127.0.0.1 (good, down, wrong checksum, cut off mid-transfer), with the module's
mirror and checksum tables patched for the test."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import re
import socket
import threading

import numpy as np
import pytest

from tinygrad_norm.data import load_mnist, mnist

from .idx_files import idx_bytes, tiny_mnist, write_idx

TRAIN_IMAGES, TRAIN_LABELS = mnist.FILES[True]
TEST_IMAGES, TEST_LABELS = mnist.FILES[False]


def write_set(folder, images, labels, train=True, suffix=""):
    folder.mkdir(parents=True, exist_ok=True)
    image_name, label_name = mnist.FILES[train]
    write_idx(folder / f"{image_name}{suffix}", images)
    write_idx(folder / f"{label_name}{suffix}", labels)


def assert_loaded(loaded, images, labels):
    x, y = loaded
    assert x.dtype == np.float32 and x.shape == (len(images), 1, 28, 28)
    assert y.dtype == np.int64 and y.shape == (len(labels),)
    np.testing.assert_array_equal(x[:, 0], images.astype(np.float32) / 255)
    np.testing.assert_array_equal(y, labels)


@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("kind", ["mnist", "fashion-mnist"])
def test_local_files_load_from_the_kind_folder(kind, train, suffix, tmp_path):
    images, labels = tiny_mnist()
    write_set(tmp_path / kind, images, labels, train, suffix)
    assert_loaded(load_mnist(tmp_path, kind, train=train), images, labels)
    x, _ = load_mnist(str(tmp_path), kind, train)
    assert x.min() >= 0 and x.max() <= 1


def test_the_raw_file_wins_over_the_gz_one(tmp_path):
    images, labels = tiny_mnist()
    write_set(tmp_path / "mnist", images, labels)
    (tmp_path / "mnist" / f"{TRAIN_IMAGES}.gz").write_bytes(b"not even gzip")
    assert_loaded(load_mnist(tmp_path), images, labels)


def test_an_unknown_kind_raises(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of"):
        load_mnist(tmp_path, "kmnist")


def test_missing_files_say_which_files_to_put_where(tmp_path):
    images, labels = tiny_mnist()
    write_set(tmp_path / "mnist", images, labels, train=True)
    (tmp_path / "mnist" / TRAIN_LABELS).unlink()
    folder = re.escape(str(tmp_path / "mnist"))
    with pytest.raises(FileNotFoundError, match=rf"put {TRAIN_LABELS} \(raw or .gz\) in {folder}/ \(or pass download"):
        load_mnist(tmp_path)
    with pytest.raises(FileNotFoundError, match=rf"put {TEST_IMAGES} and {TEST_LABELS} \(raw or .gz\) in {folder}/"):
        load_mnist(tmp_path, train=False)


@pytest.mark.parametrize(
    ("images", "labels", "message"),
    [
        (np.zeros((3, 28, 28), np.uint8), np.zeros(4, np.uint8), "holds 3 images but .* holds 4 labels"),
        (np.zeros((3, 28, 28), np.uint8), np.array([0, 10, 1], np.uint8), r"label 10 outside 0..9"),
        (np.zeros((3, 784), np.uint8), np.zeros(3, np.uint8), r"expected \(n, rows, columns\) uint8 images"),
        (np.zeros((3, 28, 28), np.float32), np.zeros(3, np.uint8), r"expected \(n, rows, columns\) uint8 images"),
        (np.zeros((3, 28, 28), np.uint8), np.zeros((3, 1), np.uint8), r"expected \(n,\) uint8 labels"),
    ],
)
def test_a_set_that_does_not_fit_together_raises_value_error(images, labels, message, tmp_path):
    write_set(tmp_path / "mnist", images, labels)
    with pytest.raises(ValueError, match=message):
        load_mnist(tmp_path)


def test_a_malformed_file_raises_value_error_naming_it(tmp_path):
    images, labels = tiny_mnist()
    write_set(tmp_path / "mnist", images, labels)
    path = tmp_path / "mnist" / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(ValueError, match=re.escape(str(path))):
        load_mnist(tmp_path)


# ---- downloads ---------------------------------------------------------------------------------------------


class Mirrors:
    """An HTTP server on 127.0.0.1 whose routes are `{"/a/file.gz": bytes}`; a `(bytes, "cut")` value
    announces the full length but sends half and hangs up. Unknown routes answer 404."""

    def __init__(self):
        self.routes: dict[str, object] = {}
        self.requests: list[str] = []
        routes, requests = self.routes, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                requests.append(self.path)
                body = routes.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                cut = isinstance(body, tuple)
                data = body[0] if cut else body
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data[: len(data) // 2] if cut else data)
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirrors():
    server = Mirrors()
    yield server
    server.close()


@pytest.fixture
def down_url():
    """A URL on a port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


@pytest.fixture
def tiny_set(monkeypatch):
    """gzip bytes of a tiny training set and test set, with the checksum table patched to their SHA-256."""
    files = {}
    for train, seed in ((True, 0), (False, 1)):
        images, labels = tiny_mnist(seed=seed)
        for name, array in zip(mnist.FILES[train], (images, labels)):
            files[f"{name}.gz"] = gzip.compress(idx_bytes(array), mtime=0)  # the same bytes every run
    digests = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    for kind in mnist.SHA256:
        monkeypatch.setitem(mnist.SHA256, kind, digests)
    return files


def serve(mirrors, prefix, files, change=lambda data: data):
    for name, data in files.items():
        mirrors.routes[f"/{prefix}/{name}"] = change(data)
    return f"{mirrors.url}/{prefix}/"


def test_download_fetches_verifies_and_loads(tmp_path, mirrors, tiny_set, monkeypatch):
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [serve(mirrors, "good", tiny_set)])
    assert_loaded(load_mnist(tmp_path, download=True), *tiny_mnist(seed=0))
    assert_loaded(load_mnist(tmp_path, train=False, download=True), *tiny_mnist(seed=1))
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(tiny_set)  # no temporary files
    fetched = len(mirrors.requests)
    load_mnist(tmp_path, download=True)  # present files are not fetched again
    assert len(mirrors.requests) == fetched == 4


@pytest.mark.parametrize("bad", ["down", "missing", "wrong checksum", "cut off"])
def test_a_bad_mirror_falls_through_to_the_next(bad, tmp_path, mirrors, tiny_set, down_url, monkeypatch):
    first = {
        "down": lambda: down_url,
        "missing": lambda: f"{mirrors.url}/empty/",
        "wrong checksum": lambda: serve(mirrors, "wrong", tiny_set, lambda data: data[:-1] + b"\x00"),
        "cut off": lambda: serve(mirrors, "cut", tiny_set, lambda data: (data, "cut")),
    }[bad]()
    monkeypatch.setitem(mnist.MIRRORS, "fashion-mnist", [first, serve(mirrors, "good", tiny_set)])
    assert_loaded(load_mnist(tmp_path, "fashion-mnist", download=True), *tiny_mnist(seed=0))
    for name in mnist.FILES[True]:
        data = (tmp_path / "fashion-mnist" / f"{name}.gz").read_bytes()
        assert data == tiny_set[f"{name}.gz"]
    assert not (tmp_path / "mnist").exists()


def test_when_every_mirror_fails_nothing_is_left_and_the_error_says_what_to_do(
    tmp_path, mirrors, tiny_set, down_url, monkeypatch
):
    monkeypatch.setitem(
        mnist.MIRRORS,
        "mnist",
        [
            down_url,
            f"{mirrors.url}/empty/",
            serve(mirrors, "wrong", tiny_set, lambda data: b"<html>moved</html>"),
            serve(mirrors, "cut", tiny_set, lambda data: (data, "cut")),
        ],
    )
    folder = re.escape(str(tmp_path / "mnist"))
    with pytest.raises(FileNotFoundError) as error:
        load_mnist(tmp_path, download=True)
    message = str(error.value)
    where = rf"load_mnist: put {TRAIN_IMAGES} and {TRAIN_LABELS} \(raw or .gz\) in {folder}/"
    assert re.match(where + r" \(download failed: could not download", message)
    assert message.count("Connection refused") == message.count("HTTP Error 404") == message.count("SHA-256") == 1
    assert message.count("connection closed after") == 1  # one file's failures: the second is not tried
    assert list((tmp_path / "mnist").iterdir()) == []


def test_without_download_nothing_is_fetched(tmp_path, mirrors, tiny_set, monkeypatch):
    monkeypatch.setitem(mnist.MIRRORS, "mnist", [serve(mirrors, "good", tiny_set)])
    with pytest.raises(FileNotFoundError, match="or pass download=True"):
        load_mnist(tmp_path)
    assert mirrors.requests == [] and not (tmp_path / "mnist").exists()


def test_the_tables_cover_every_file_of_every_kind():
    for kind in ("mnist", "fashion-mnist"):
        assert mnist.MIRRORS[kind] and all(url.endswith("/") for url in mnist.MIRRORS[kind])
        expected = {f"{name}.gz" for names in mnist.FILES.values() for name in names}
        assert set(mnist.SHA256[kind]) == expected
        assert all(re.fullmatch("[0-9a-f]{64}", digest) for digest in mnist.SHA256[kind].values())
