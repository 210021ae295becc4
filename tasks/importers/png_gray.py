"""A small reader for 8-bit grayscale PNG files (zlib and numpy only).

LRA's Pathfinder images are released as PNG files with one 8-bit gray channel;
TensorFlow's ``decode_png`` read them for LRA. The catalogue needs no image library
for them: PNG is zlib-compressed rows, each preceded by one filter byte (PNG
specification, section 9). Only what such a file uses is read: colour type 0, bit
depth 8, no interlacing; anything else is refused with the reason, as is a
chunk whose CRC does not match or a file cut short.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


class PngError(ValueError):
    """The bytes are not an 8-bit grayscale PNG this reader can decode."""


def read_gray_png(data: bytes) -> np.ndarray:
    """Decode PNG bytes to a ``(height, width)`` uint8 array."""
    if not data.startswith(SIGNATURE):
        raise PngError("not a PNG file (bad signature)")
    header, compressed = _chunks(data)
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour != 0:
        raise PngError(
            f"bit depth {depth}, colour type {colour}; expected 8-bit grayscale "
            "(colour type 0)"
        )
    if interlace:
        raise PngError("interlaced PNG files are not supported")
    expected = height * (width + 1)
    # Inflate at most one byte past what the header allows: a small file whose
    # data inflates to gigabytes (a decompression bomb) stops there.
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, expected + 1)
    except zlib.error as exc:
        raise PngError(f"image data does not decompress: {exc}") from exc
    if len(raw) > expected or inflater.unconsumed_tail:
        raise PngError(
            f"more image data than {height} rows of {width} pixels "
            f"({expected} bytes) hold"
        )
    if len(raw) != expected:
        raise PngError(
            f"image data holds {len(raw)} bytes; {height} rows of {width} pixels "
            f"need {expected}"
        )
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
    image = np.zeros((height, width), dtype=np.uint8)
    previous = np.zeros(width, dtype=np.uint8)
    for index in range(height):
        previous = _unfilter(int(rows[index, 0]), rows[index, 1:], previous)
        image[index] = previous
    return image


def _chunks(data: bytes) -> tuple[bytes, bytes]:
    """(IHDR data, the IDAT chunks' data joined), each chunk's CRC checked."""
    header = None
    idat = bytearray()
    at = len(SIGNATURE)
    while at < len(data):
        if at + 8 > len(data):
            raise PngError("file cut short inside a chunk header")
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        crc = data[at + 8 + length : at + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PngError(f"file cut short inside the {kind!r} chunk")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise PngError(f"the {kind!r} chunk's CRC does not match")
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        at += 12 + length
    if header is None or len(header) != 13:
        raise PngError("no IHDR chunk")
    if not idat:
        raise PngError("no image data (IDAT chunk)")
    return header, bytes(idat)


def _unfilter(kind: int, line: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """Undo one row's filter (one byte per pixel), given the row above."""
    if kind == 0:
        return line.copy()
    if kind == 1:  # Sub: uint8 sums wrap modulo 256, as the filter does.
        return np.cumsum(line, dtype=np.uint8)
    if kind == 2:  # Up
        return line + prior
    if kind not in (3, 4):
        raise PngError(f"unknown row filter type {kind}")
    out = np.zeros_like(line)
    left = 0
    for i in range(len(line)):
        up = int(prior[i])
        if kind == 3:  # Average
            guess = (left + up) // 2
        else:  # Paeth
            upper_left = int(prior[i - 1]) if i else 0
            guess = _paeth(left, up, upper_left)
        left = (int(line[i]) + guess) & 0xFF
        out[i] = left
    return out


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c
