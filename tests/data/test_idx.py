"""`read_idx`: every IDX type, raw and gzip, and a ValueError naming the file for every malformed case."""

from __future__ import annotations

import gzip
import re

import numpy as np
import pytest

from tinygrad_norm.data import read_idx

from .idx_files import TYPE_CODES, idx_bytes, write_idx


@pytest.mark.parametrize("dtype", list(TYPE_CODES))
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_every_type_reads_back_in_native_byte_order(dtype, suffix, tmp_path):
    array = (np.arange(24) * 37 - 300).astype(dtype).reshape(2, 3, 4)
    loaded = read_idx(write_idx(tmp_path / f"a-idx3{suffix}", array))
    assert loaded.dtype == np.dtype(dtype) and loaded.dtype.isnative and loaded.flags.writeable
    np.testing.assert_array_equal(loaded, array)


def test_one_and_zero_sized_dimensions(tmp_path):
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "l", np.arange(5, dtype=np.uint8))), np.arange(5))
    assert read_idx(write_idx(tmp_path / "e", np.zeros((0, 28, 28), np.uint8))).shape == (0, 28, 28)


GOOD = idx_bytes(np.arange(12, dtype=np.uint8).reshape(3, 4))

MALFORMED = {
    "empty": (b"", "not an IDX file"),
    "short magic": (b"\x00\x00", "not an IDX file"),
    "nonzero first bytes": (b"\x01" + GOOD[1:], "not an IDX file"),
    "unknown type": (GOOD[:2] + b"\x0a" + GOOD[3:], "not an IDX file"),
    "truncated header": (GOOD[:9], "truncated IDX header"),
    "truncated data": (GOOD[:-1], r"needs 12 bytes of data, the file holds 11"),
    "extra data": (GOOD + b"\x00", r"needs 12 bytes of data, the file holds 13"),
    "more dimensions than sizes": (GOOD[:3] + b"\x03" + GOOD[4:], "needs"),
}


@pytest.mark.parametrize("case", MALFORMED)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_a_malformed_file_raises_value_error_naming_it(case, suffix, tmp_path):
    data, message = MALFORMED[case]
    path = tmp_path / f"bad-idx3-ubyte{suffix}"
    path.write_bytes(gzip.compress(data) if suffix else data)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: .*{message}"):
        read_idx(path)


@pytest.mark.parametrize(
    "data",
    [GOOD, gzip.compress(GOOD)[:-10], gzip.compress(GOOD)[:12] + b"\xff" * 20 + gzip.compress(GOOD)[32:]],
    ids=["not gzip", "truncated gzip", "corrupt gzip"],
)
def test_broken_gzip_raises_value_error_naming_the_file(data, tmp_path):
    path = tmp_path / "bad-idx3-ubyte.gz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: broken gzip data"):
        read_idx(path)


def test_a_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent")
