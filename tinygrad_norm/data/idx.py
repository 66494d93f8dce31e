"""IDX files, the format MNIST and Fashion-MNIST ship in, raw or gzip-compressed.

Layout (big-endian): two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
0x0E float64), a byte with the number of dimensions d, d uint32 sizes, then the values in C order.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array in an IDX file (gzip-compressed when the name ends in `.gz`), in native byte order.

    A file that is not IDX (bad magic), whose data disagree with the header's sizes (truncated or too long),
    or a broken gzip stream raises ValueError naming the file.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                data = file.read()
        else:
            data = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise ValueError(f"{path}: broken gzip data ({error})") from error
    if len(data) < 4 or data[0] or data[1] or data[2] not in _TYPES:
        raise ValueError(f"{path}: not an IDX file (magic bytes {data[:4].hex() or 'missing'})")
    ndim = data[3]
    start = 4 + 4 * ndim
    if len(data) < start:
        raise ValueError(f"{path}: truncated IDX header ({len(data)} bytes, {ndim} dimensions need {start})")
    shape = struct.unpack(f">{ndim}I", data[4:start])
    dtype = np.dtype(_TYPES[data[2]])
    expected = math.prod(shape) * dtype.itemsize
    if len(data) - start != expected:
        raise ValueError(
            f"{path}: the header's shape {shape} needs {expected} bytes of data, the file holds {len(data) - start}"
        )
    return np.frombuffer(data, dtype, offset=start).reshape(shape).astype(dtype.newbyteorder("="))
