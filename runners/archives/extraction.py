"""Unpack an inspected archive, counting the real bytes as they come out.

A zip's declared sizes can lie, so extraction trusts nothing that inspection
read from the zip's directory: it writes only the members inspection passed and
stops the moment one produces more bytes than it declared.
"""

from __future__ import annotations

import copy
import shutil
import zipfile
import zlib
from pathlib import Path

from runners.archives.rules import CHUNK, ArchiveError, ArchiveInfo


def extract_archive(path: Path, info: ArchiveInfo, dest: Path) -> Path:
    """Unpack the inspected files into ``dest`` (the model folder) and return it.

    Only ``info.members`` are written, with the top folder stripped, as read-only
    files. Bytes are counted as they are decompressed and the zip reader is told
    to read past each member's declared size, so an entry whose header lies about
    its size is caught (``upload.zip_bomb``) instead of being trusted; on any
    failure ``dest`` is removed.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"extract_archive needs an empty destination, not {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    base = dest.resolve()
    prefix = f"{info.root}/" if info.root else ""
    try:
        with zipfile.ZipFile(path) as zf:
            written = 0
            for name in info.members:
                member = zf.getinfo(name)
                relative = name[len(prefix) :]
                target = (base / relative).resolve()
                if not target.is_relative_to(base) or target == base:
                    raise ArchiveError(
                        "upload.path_traversal", f"Unsafe path {name!r}."
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _extract_member(zf, member, target, info, written)
                target.chmod(0o444)
    except ArchiveError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise ArchiveError(
            "upload.corrupt_zip",
            f"The zip file is damaged ({exc}). Zip the model folder again and "
            "re-upload it.",
        ) from exc
    return dest


def _extract_member(
    zf: zipfile.ZipFile,
    member: zipfile.ZipInfo,
    target: Path,
    info: ArchiveInfo,
    written_before: int,
) -> int:
    """Copy one member, refusing to produce more bytes than it declared."""
    declared = member.file_size
    probe = copy.copy(member)
    # zipfile stops at the declared size and then checks the CRC, so a lying header
    # would only look "damaged". Letting it read up to one chunk past the declared
    # size shows the extra data for what it is, and still bounds what is produced.
    probe.file_size = declared + CHUNK + 1
    count = 0
    with zf.open(probe) as source, open(target, "xb") as out:
        while chunk := source.read(CHUNK):
            count += len(chunk)
            if count > declared or written_before + count > info.total_uncompressed:
                raise ArchiveError(
                    "upload.zip_bomb",
                    f"The archive entry {member.filename!r} unpacks to more than its "
                    f"declared {declared} bytes; the archive is refused.",
                )
            out.write(chunk)
    if count != declared:
        raise ArchiveError(
            "upload.corrupt_zip",
            f"The archive entry {member.filename!r} is shorter than declared; the "
            "zip file is damaged.",
        )
    return count
