"""Safetensors headers, checked from the zip without reading the tensors.

A loader trusts a safetensors header's byte ranges, so a malformed header could
make it read past the file; only the header (at most ``MAX_SAFETENSORS_HEADER``
bytes) is read here, never the weights.
"""

from __future__ import annotations

import json
import math
import struct
import zipfile
from typing import Any

from runners.archives.rules import MAX_SAFETENSORS_HEADER, ArchiveError

_DTYPE_BYTES: dict[str, int] = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
"""Element sizes used to check that a tensor's byte range fits its shape. Other
(newer) dtypes are accepted with only the bounds check."""


def _bad_safetensors(name: str, why: str) -> ArchiveError:
    return ArchiveError(
        "upload.bad_safetensors",
        f"{name} is not a valid safetensors file: {why}. Save the weights again with "
        "safetensors (save_pretrained(..., safe_serialization=True)).",
    )


def check_safetensors(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Validate the header of a safetensors member by reading only its start.

    The format is an 8-byte little-endian header length, a JSON header naming
    each tensor's dtype, shape and byte range, then the raw data; every range must
    lie inside the file, or a loader could read past it.
    """
    name, size = info.filename, info.file_size
    if size < 8:
        raise _bad_safetensors(name, "it is shorter than its 8-byte header length")
    with zf.open(info) as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if length > size - 8 or length > MAX_SAFETENSORS_HEADER:
            raise _bad_safetensors(
                name, f"its header claims {length} bytes but the file has {size}"
            )
        raw = handle.read(length)
    if len(raw) != length:
        raise _bad_safetensors(name, "the file ends inside its header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _bad_safetensors(name, "its header is not JSON") from exc
    if not isinstance(header, dict):
        raise _bad_safetensors(name, "its header is not a JSON object")
    data_size = size - 8 - length
    for key, entry in header.items():
        if key == "__metadata__":
            if not isinstance(entry, dict) or not all(
                isinstance(v, str) for v in entry.values()
            ):
                raise _bad_safetensors(name, "its __metadata__ is not text")
            continue
        _check_tensor(name, key, entry, data_size)


def _check_tensor(name: str, key: str, entry: Any, data_size: int) -> None:
    if not isinstance(entry, dict):
        raise _bad_safetensors(name, f"tensor {key!r} has no description")
    dtype, shape, offsets = (
        entry.get("dtype"),
        entry.get("shape"),
        entry.get("data_offsets"),
    )
    ints = (
        isinstance(offsets, list)
        and len(offsets) == 2
        and all(type(v) is int for v in offsets)
    )
    if (
        not isinstance(dtype, str)
        or not isinstance(shape, list)
        or not all(type(v) is int and v >= 0 for v in shape)
        or not ints
    ):
        raise _bad_safetensors(name, f"tensor {key!r} has a malformed description")
    begin, end = offsets
    if not 0 <= begin <= end <= data_size:
        raise _bad_safetensors(
            name,
            f"tensor {key!r} claims bytes {begin}..{end} but the data has "
            f"{data_size} bytes",
        )
    width = _DTYPE_BYTES.get(dtype)
    if width is not None and math.prod(shape) * width != end - begin:
        raise _bad_safetensors(
            name, f"tensor {key!r} has {end - begin} bytes, not what its shape needs"
        )
