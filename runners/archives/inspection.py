"""Decide whether an uploaded zip is safe and usable, without extracting it.

Only the zip's directory and a few bytes of its members are read (the configs,
the safetensors headers). Checks run from the cheapest to the most expensive,
so a hostile archive is turned away before any member is decompressed.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from runners.archives.rules import (
    GIB,
    IGNORED_NAMES,
    IGNORED_PREFIXES,
    MAX_CONFIG_BYTES,
    MIB,
    NESTED_ARCHIVE_SUFFIXES,
    PICKLE_SUFFIXES,
    RATIO_MIN_BYTES,
    REMOTE_CODE_CONFIGS,
    ArchiveError,
    ArchiveInfo,
    ArchiveLimits,
)
from runners.archives.weights import check_safetensors

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_SUPPORTED_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


def inspect_archive(path: Path, limits: ArchiveLimits) -> ArchiveInfo:
    """Decide whether an uploaded zip is safe and usable, without extracting it.

    Raises :class:`ArchiveError` with a stable code; see the module docstring for
    what is refused. Checks run from the cheapest to the most expensive, so a
    hostile archive is turned away before any member is decompressed.
    """
    path = Path(path)
    zf = _open_zip(path, limits)
    try:
        return _inspect(zf, path.stat().st_size, limits)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(
            "upload.corrupt_zip",
            f"The zip file is damaged ({exc}). Zip the model folder again and "
            "re-upload it.",
        ) from exc
    finally:
        zf.close()


def _inspect(zf: zipfile.ZipFile, size: int, limits: ArchiveLimits) -> ArchiveInfo:
    """The checks of :func:`inspect_archive` on an open zip: its entries, its size,
    its configs, its weights' headers."""
    files = _files(zf, limits)
    total = _check_bomb(files, size, limits)
    names = [info.filename for info in files]
    root = _find_root(names)
    prefix = f"{root}/" if root else ""
    by_name = {info.filename: info for info in files}
    config = _read_json(zf, by_name[f"{prefix}config.json"], "config.json")
    if not isinstance(config, dict):
        raise ArchiveError("upload.bad_config", "config.json must hold a JSON object.")
    for extra in REMOTE_CODE_CONFIGS:
        info = by_name.get(f"{prefix}{extra}")
        if info is not None:
            data = config if extra == "config.json" else _read_json(zf, info, extra)
            _check_remote_code(extra, data)
    weights = [i for i in files if i.filename.lower().endswith(".safetensors")]
    for info in weights:
        check_safetensors(zf, info)
    return ArchiveInfo(
        root=root,
        members=names,
        total_uncompressed=total,
        has_weights=bool(weights),
        config=config,
    )


def _files(zf: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The regular files to extract, every entry's name and kind checked first;
    folders and Finder litter are skipped, an empty archive is refused."""
    entries = zf.infolist()
    if len(entries) > limits.max_members:
        raise ArchiveError(
            "upload.too_many_files",
            f"The archive holds {len(entries)} entries; the limit is "
            f"{limits.max_members}.",
        )
    seen: set[str] = set()
    files: list[zipfile.ZipInfo] = []
    for info in entries:
        _check_name(info.orig_filename)
        _check_kind(info)
        if info.filename in seen:
            raise ArchiveError(
                "upload.duplicate_name",
                f"The archive holds {info.filename!r} twice.",
            )
        seen.add(info.filename)
        if info.is_dir() or _is_ignored(info.filename):
            continue
        _check_file(info)
        files.append(info)
    if not files:
        raise ArchiveError("upload.empty", "The archive contains no files.")
    return files


def _check_file(info: zipfile.ZipInfo) -> None:
    """Refuse a file that cannot be read safely or that runs code when loaded."""
    if info.flag_bits & 0x1:
        raise ArchiveError(
            "upload.encrypted",
            f"The archive entry {info.filename!r} is encrypted; upload a zip "
            "without a password.",
        )
    if info.compress_type not in _SUPPORTED_COMPRESSION:
        raise ArchiveError(
            "upload.corrupt_zip",
            f"The archive entry {info.filename!r} uses an unsupported "
            "compression method; use ordinary zip (deflate) compression.",
        )
    lower = info.filename.lower()
    if lower.endswith(NESTED_ARCHIVE_SUFFIXES):
        raise ArchiveError(
            "upload.nested_archive",
            f"The archive contains another archive ({info.filename!r}). Unpack it "
            "and zip the model folder itself.",
        )
    if lower.endswith(PICKLE_SUFFIXES):
        raise ArchiveError(
            "upload.pickle_weights",
            f"{info.filename!r} is a pickle file, and loading a pickle can run "
            "arbitrary code. Convert the weights to safetensors "
            "(model.save_pretrained(folder, safe_serialization=True)) and leave "
            "out .bin/.pt/.pth/.pkl/.ckpt files.",
        )


def _open_zip(path: Path, limits: ArchiveLimits) -> zipfile.ZipFile:
    size = path.stat().st_size
    if size == 0:
        raise ArchiveError("upload.empty", "The uploaded file is empty.")
    if size > limits.max_archive_bytes:
        raise ArchiveError(
            "upload.too_large",
            f"The archive is {size / GIB:.1f} GiB; the limit is "
            f"{limits.max_archive_bytes / GIB:.1f} GiB.",
        )
    with open(path, "rb") as handle:
        magic = handle.read(4)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        if magic in (b"PK\x03\x04", b"PK\x05\x06"):
            raise ArchiveError(
                "upload.corrupt_zip",
                "The zip file is damaged or incomplete (was the upload cut short?). "
                "Zip the model folder again and re-upload it.",
            ) from exc
        raise ArchiveError(
            "upload.not_zip",
            "The uploaded file is not a zip archive. Upload the model folder "
            "compressed as a .zip file.",
        ) from exc


def _is_ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIXES) or PurePosixPath(name).name in (
        IGNORED_NAMES
    )


def _check_name(raw: str) -> None:
    """Refuse names that could land outside the destination or confuse tools."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise ArchiveError(
            "upload.bad_filename",
            f"The archive has a file name with control characters ({raw!r}). "
            "Rename the file and zip the folder again.",
        )
    parts = raw.split("/")
    if (
        raw.startswith("/")
        or "\\" in raw
        or _DRIVE_RE.match(raw)
        or ".." in parts
        or any(":" in part for part in parts)
    ):
        raise ArchiveError(
            "upload.path_traversal",
            f"The archive has an unsafe path ({raw!r}): paths must be relative, use "
            "'/' and not contain '..' or a drive letter. Zip the model folder itself.",
        )


def _check_kind(info: zipfile.ZipInfo) -> None:
    """Only regular files and folders: links and devices are refused."""
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == 0 or stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return
    what = "a symbolic link" if stat.S_ISLNK(mode) else "not a regular file"
    raise ArchiveError(
        "upload.link",
        f"The archive entry {info.filename!r} is {what}. Only regular files are "
        "accepted; replace links with the files they point to.",
    )


def _check_bomb(
    members: list[zipfile.ZipInfo], size: int, limits: ArchiveLimits
) -> int:
    total = 0
    for info in members:
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_BYTES and ratio > limits.max_ratio:
            raise ArchiveError(
                "upload.zip_bomb",
                f"The archive entry {info.filename!r} expands {ratio:.0f} times "
                f"(the limit is {limits.max_ratio:g}); this looks like a zip bomb.",
            )
    if total > limits.max_total_uncompressed_bytes:
        raise ArchiveError(
            "upload.zip_bomb",
            f"The archive would unpack to {total / GIB:.1f} GiB; the limit is "
            f"{limits.max_total_uncompressed_bytes / GIB:.1f} GiB.",
        )
    if total > RATIO_MIN_BYTES and total / max(size, 1) > limits.max_ratio:
        raise ArchiveError(
            "upload.zip_bomb",
            f"The archive expands {total / max(size, 1):.0f} times (the limit is "
            f"{limits.max_ratio:g}); this looks like a zip bomb.",
        )
    return total


def _find_root(files: list[str]) -> str:
    """Where config.json is: the zip's top, or its one and only top folder."""
    if "config.json" in files:
        return ""
    tops = {name.split("/", 1)[0] for name in files}
    if len(tops) == 1 and all("/" in name for name in files):
        top = tops.pop()
        if f"{top}/config.json" in files:
            return top
    raise ArchiveError(
        "upload.no_config",
        "The archive has no config.json at its top or inside a single top folder. "
        "Zip the folder written by save_pretrained(), which holds config.json.",
    )


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> Any:
    if info.file_size > MAX_CONFIG_BYTES:
        raise ArchiveError(
            "upload.bad_config",
            f"{label} is larger than {MAX_CONFIG_BYTES // MIB} MiB; a model config "
            "is a few kilobytes.",
        )
    with zf.open(info) as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(
            "upload.bad_config", f"{label} is not valid JSON ({exc})."
        ) from exc


def _check_remote_code(name: str, data: Any) -> None:
    if not isinstance(data, dict):
        return
    if "auto_map" in data or data.get("trust_remote_code") is True:
        raise ArchiveError(
            "upload.remote_code",
            f"{name} asks to run the model's own Python code (auto_map or "
            "trust_remote_code). Glew only runs architectures built into "
            "transformers; remove the custom code and use a standard model class.",
        )
