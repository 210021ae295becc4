"""Check and unpack an uploaded task bundle: a zip of a spec and data files.

A bundle is not a model, so only the zip-safety and size rules of model uploads
apply (``runners.archives``: the same entry checks, not a copy of them): no
absolute or ``..`` paths, no links or devices, no duplicate names, no encrypted or
oddly compressed entries, no archive inside the archive (an importer would open it
without these checks: unpack it first), the member count, the total and per-entry
expansion ratio. Extraction is the model uploads' too, counting real bytes.

A suite bundle holds one ``.toml`` spec at its top (or in its single top folder);
the data files sit in whatever layout the spec's importers read, beside it.
"""

from __future__ import annotations

import shutil
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from leaderboard.catalogue.curated import SpecError

# The model uploads' entry checks, reused as they are (runners/ owns them). Their
# messages speak of a model folder, so the two about names are reworded below.
from runners.archives import ArchiveError, ArchiveInfo, ArchiveLimits, extract_archive
from runners.archives.inspection import (
    _check_bomb,
    _check_kind,
    _check_name,
    _is_ignored,
)
from runners.archives.rules import NESTED_ARCHIVE_SUFFIXES
from tasks.spec_text import key_line
from tasks.specs import TaskSpec

SPEC_SUFFIX = ".toml"
MAX_SPEC_BYTES = 1024 * 1024
_COMPRESSION = {
    zipfile.ZIP_STORED,
    zipfile.ZIP_DEFLATED,
    zipfile.ZIP_BZIP2,
    zipfile.ZIP_LZMA,
}


@dataclass(frozen=True)
class BundleArchive:
    """What :func:`bundle_inspect` found: the files to extract, their declared
    total, the single top folder all of them share ("" if none), and the spec."""

    members: tuple[str, ...]
    total: int
    top: str
    spec_name: str | None
    spec_text: str | None


def _open(path: Path) -> zipfile.ZipFile:
    if path.stat().st_size == 0:
        raise ArchiveError("upload.empty", "The uploaded file is empty.")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveError(
            "upload.not_zip",
            "The bundle is not a zip archive (or is damaged). Zip the folder with "
            "the spec and the data files and upload the .zip.",
        ) from exc


def _check_entry(info: zipfile.ZipInfo) -> None:
    try:
        _check_name(info.orig_filename)
    except ArchiveError as error:
        raise ArchiveError(
            error.code,
            f"The bundle has an unsafe file name ({info.orig_filename!r}): names "
            "must be relative, use '/', and hold no '..', drive letter or control "
            "character.",
        ) from None
    _check_kind(info)
    if info.is_dir() or _is_ignored(info.filename):
        return
    if info.flag_bits & 0x1:
        raise ArchiveError(
            "upload.encrypted",
            f"The bundle entry {info.filename!r} is encrypted; zip it without a "
            "password.",
        )
    if info.compress_type not in _COMPRESSION:
        raise ArchiveError(
            "upload.corrupt_zip",
            f"The bundle entry {info.filename!r} uses an unsupported compression "
            "method; use ordinary zip (deflate) compression.",
        )
    if info.filename.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
        raise ArchiveError(
            "upload.nested_archive",
            f"The bundle contains another archive ({info.filename!r}). Unpack it "
            "and zip its files: the importers read the unpacked release files.",
        )


def _files(zf: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    entries = zf.infolist()
    if len(entries) > limits.max_members:
        raise ArchiveError(
            "upload.too_many_files",
            f"The bundle holds {len(entries)} entries; the limit is "
            f"{limits.max_members}.",
        )
    seen: set[str] = set()
    files = []
    for info in entries:
        _check_entry(info)
        if info.filename in seen:
            raise ArchiveError(
                "upload.duplicate_name", f"The bundle holds {info.filename!r} twice."
            )
        seen.add(info.filename)
        if not info.is_dir() and not _is_ignored(info.filename):
            files.append(info)
    if not files:
        raise ArchiveError("upload.empty", "The bundle contains no files.")
    return files


def _top_folder(names: list[str]) -> str:
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        return tops.pop()
    return ""


def _read_spec(
    zf: zipfile.ZipFile, files: list[zipfile.ZipInfo], top: str
) -> tuple[str, str]:
    depth = 1 if top else 0
    specs = [
        info
        for info in files
        if info.filename.lower().endswith(SPEC_SUFFIX)
        and info.filename.count("/") == depth
    ]
    if len(specs) != 1:
        found = ", ".join(info.filename for info in specs) or "none"
        raise ArchiveError(
            "bundle.spec_not_found" if not specs else "bundle.several_specs",
            "A bundle needs exactly one .toml spec at its top (or in its single top "
            f"folder), beside the data; found {found}.",
        )
    info = specs[0]
    if info.file_size > MAX_SPEC_BYTES:
        raise ArchiveError(
            "bundle.spec_too_large", f"{info.filename} is over 1 MiB; a spec is small."
        )
    with zf.open(info) as handle:
        data = handle.read(MAX_SPEC_BYTES + 1)
    try:
        return info.filename, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ArchiveError(
            "bundle.spec_not_utf8", f"{info.filename}, line {line}: not valid UTF-8."
        ) from exc


def bundle_inspect(
    path: Path, *, limits: ArchiveLimits, want_spec: bool
) -> BundleArchive:
    """Check a bundle's entries and sizes and read its spec (when ``want_spec``),
    without extracting anything; raises ``ArchiveError`` with a stable code."""
    path = Path(path)
    if path.stat().st_size > limits.max_archive_bytes:
        raise ArchiveError(
            "upload.too_large",
            f"The bundle is larger than the limit of {limits.max_archive_bytes:,} "
            "bytes.",
        )
    zf = _open(path)
    try:
        files = _files(zf, limits)
        total = _check_bomb(files, path.stat().st_size, limits)
        names = [info.filename for info in files]
        top = _top_folder(names)
        spec_name, spec_text = _read_spec(zf, files, top) if want_spec else (None, None)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ArchiveError(
            "upload.corrupt_zip", f"The bundle's zip file is damaged ({exc})."
        ) from exc
    finally:
        zf.close()
    return BundleArchive(
        members=tuple(names),
        total=total,
        top=top,
        spec_name=spec_name,
        spec_text=spec_text,
    )


def bundle_extract(path: Path, archive: BundleArchive, dest: Path) -> Path:
    """Unpack the checked files into ``dest``; returns the data root (the single
    top folder when the zip has one)."""
    info = ArchiveInfo(
        root="",
        members=list(archive.members),
        total_uncompressed=archive.total,
        has_weights=False,
    )
    extract_archive(path, info, dest)
    root = dest / archive.top if archive.top else dest
    return root


def remove_extracted(dest: Path) -> None:
    """Remove an extracted bundle (its files are read-only)."""
    if dest.exists():
        for child in dest.rglob("*"):
            if child.is_dir() and not child.is_symlink():
                child.chmod(0o700)
        shutil.rmtree(dest, ignore_errors=True)


def _unsafe(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return (
        not path or path.startswith("/") or "\\" in path or ".." in parts or ":" in path
    )


def check_task_paths(task: TaskSpec, *, text: str = "", source: str = "") -> None:
    """A bundle spec's ``folder`` and ``files`` name places inside the bundle
    (an importer reads ``folder/file``: it must not leave the unpacked bundle)."""
    places = [(("tasks", task.key), "folder", task.folder)] + [
        (("tasks", task.key, "files"), split, name)
        for split, name in task.files.items()
    ]
    for table, key, value in places:
        if _unsafe(value):
            raise SpecError(
                "bundle.unsafe_path",
                f"task {task.key!r}: {key} = {value!r} must be a path inside the "
                "bundle (relative, with '/', no '..').",
                source=source,
                line=key_line(text, table, key) if text else None,
            )


def declares_files(task: TaskSpec, archive: BundleArchive) -> bool:
    """Whether the bundle holds any file the task's spec names (by file name)."""
    wanted = {PurePosixPath(name).name for name in task.files.values()}
    return any(PurePosixPath(name).name in wanted for name in archive.members)
