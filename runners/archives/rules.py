"""What an uploaded archive may be: the limits, the refused kinds of file, and
the error and the findings every check shares."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.errors import UserError

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB

NESTED_ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".zip",
    ".tar",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".zst",
    ".7z",
    ".rar",
)
PICKLE_SUFFIXES: tuple[str, ...] = (
    ".bin",
    ".pt",
    ".pth",
    ".pkl",
    ".pickle",
    ".ckpt",
)
"""Formats that are (or usually wrap) Python pickles, which execute code on load."""

IGNORED_PREFIXES: tuple[str, ...] = ("__MACOSX/",)
IGNORED_NAMES: frozenset[str] = frozenset({".DS_Store"})
"""Litter that macOS Finder adds to zips; skipped rather than refused, so that a
zip made by double-clicking a folder works."""

RATIO_MIN_BYTES = 1 * MIB
"""Compression ratios are only checked above this size: tiny files (a config of
spaces, a small zero tensor) can compress very well and are harmless anyway."""

MAX_CONFIG_BYTES = 1 * MIB
MAX_SAFETENSORS_HEADER = 100 * MIB
"""The safetensors library's own limit on the JSON header."""

REMOTE_CODE_CONFIGS: tuple[str, ...] = ("config.json", "tokenizer_config.json")
CHUNK = 1 * MIB
"""Read and decompress in pieces of this size, so a member's size does not matter."""


class ArchiveError(UserError):
    """The uploaded archive is refused; ``code`` says why, ``message`` how to fix."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on an uploaded archive; the ratio applies per member and in total."""

    max_archive_bytes: int = 2 * GIB
    max_total_uncompressed_bytes: int = 4 * GIB
    max_ratio: float = 200.0
    max_members: int = 2000


@dataclass(frozen=True)
class ArchiveInfo:
    """What :func:`inspect_archive` found, and what :func:`extract_archive` obeys.

    ``root`` is the single top folder that holds ``config.json`` ("" when it sits
    at the top of the zip); ``members`` are the regular files to extract, as named
    in the zip; ``total_uncompressed`` is their declared total size.
    """

    root: str
    members: list[str]
    total_uncompressed: int
    has_weights: bool
    config: dict[str, Any] = field(default_factory=dict)


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
