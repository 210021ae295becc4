"""Check and unpack uploaded model archives without trusting anything in them.

A model arrives as a zip made by a stranger. Before anything reads the model,
:func:`inspect_archive` looks at the zip's directory and a few bytes of its
members (never extracting everything) and refuses, with a stable code and a
plain message, whatever could hurt the worker or the sandbox: path traversal,
links and device files, nested archives, zip bombs, pickle weights (loading a
pickle runs code), configs that ask for remote code, malformed safetensors.
:func:`extract_archive` then unpacks only the regular files that passed, counting
the real bytes as it goes, because a zip's declared sizes can lie.

Plain Python (zipfile, json, struct, hashlib): the worker and the upload API use
it, and the tests run it without Django.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from tasks.errors import UserError

_KIB = 1024
_MIB = 1024 * _KIB
_GIB = 1024 * _MIB

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

RATIO_MIN_BYTES = 1 * _MIB
"""Compression ratios are only checked above this size: tiny files (a config of
spaces, a small zero tensor) can compress very well and are harmless anyway."""

MAX_CONFIG_BYTES = 1 * _MIB
MAX_SAFETENSORS_HEADER = 100 * _MIB
"""The safetensors library's own limit on the JSON header."""

REMOTE_CODE_CONFIGS: tuple[str, ...] = ("config.json", "tokenizer_config.json")
_CHUNK = 1 * _MIB
_DRIVE_RE = re.compile(r"^[A-Za-z]:")
_SUPPORTED_COMPRESSION = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
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


class ArchiveError(UserError):
    """The uploaded archive is refused; ``code`` says why, ``message`` how to fix."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Caps on an uploaded archive; the ratio applies per member and in total."""

    max_archive_bytes: int = 2 * _GIB
    max_total_uncompressed_bytes: int = 4 * _GIB
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


# ------------------------------------------------------------------------ helpers


def sha256_file(path: Path) -> str:
    """The hex SHA-256 of a file, read in chunks so size does not matter."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _fail(code: str, message: str) -> ArchiveError:
    return ArchiveError(code, message)


def _is_ignored(name: str) -> bool:
    return name.startswith(IGNORED_PREFIXES) or PurePosixPath(name).name in (
        IGNORED_NAMES
    )


def _check_name(raw: str) -> None:
    """Refuse names that could land outside the destination or confuse tools."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in raw):
        raise _fail(
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
        raise _fail(
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
    raise _fail(
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
            raise _fail(
                "upload.zip_bomb",
                f"The archive entry {info.filename!r} expands {ratio:.0f} times "
                f"(the limit is {limits.max_ratio:g}); this looks like a zip bomb.",
            )
    if total > limits.max_total_uncompressed_bytes:
        raise _fail(
            "upload.zip_bomb",
            f"The archive would unpack to {total / _GIB:.1f} GiB; the limit is "
            f"{limits.max_total_uncompressed_bytes / _GIB:.1f} GiB.",
        )
    if total > RATIO_MIN_BYTES and total / max(size, 1) > limits.max_ratio:
        raise _fail(
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
    raise _fail(
        "upload.no_config",
        "The archive has no config.json at its top or inside a single top folder. "
        "Zip the folder written by save_pretrained(), which holds config.json.",
    )


def _read_json(zf: zipfile.ZipFile, info: zipfile.ZipInfo, label: str) -> Any:
    if info.file_size > MAX_CONFIG_BYTES:
        raise _fail(
            "upload.bad_config",
            f"{label} is larger than {MAX_CONFIG_BYTES // _MIB} MiB; a model config "
            "is a few kilobytes.",
        )
    with zf.open(info) as handle:
        data = handle.read(MAX_CONFIG_BYTES + 1)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail("upload.bad_config", f"{label} is not valid JSON ({exc}).") from exc


def _check_remote_code(name: str, data: Any) -> None:
    if not isinstance(data, dict):
        return
    if "auto_map" in data or data.get("trust_remote_code") is True:
        raise _fail(
            "upload.remote_code",
            f"{name} asks to run the model's own Python code (auto_map or "
            "trust_remote_code). Glew only runs architectures built into "
            "transformers; remove the custom code and use a standard model class.",
        )


def _bad_safetensors(name: str, why: str) -> ArchiveError:
    return _fail(
        "upload.bad_safetensors",
        f"{name} is not a valid safetensors file: {why}. Save the weights again with "
        "safetensors (save_pretrained(..., safe_serialization=True)).",
    )


def _check_safetensors(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
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


# ------------------------------------------------------------------------- public


def _open_zip(path: Path, limits: ArchiveLimits) -> zipfile.ZipFile:
    size = path.stat().st_size
    if size == 0:
        raise _fail("upload.empty", "The uploaded file is empty.")
    if size > limits.max_archive_bytes:
        raise _fail(
            "upload.too_large",
            f"The archive is {size / _GIB:.1f} GiB; the limit is "
            f"{limits.max_archive_bytes / _GIB:.1f} GiB.",
        )
    with open(path, "rb") as handle:
        magic = handle.read(4)
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        if magic in (b"PK\x03\x04", b"PK\x05\x06"):
            raise _fail(
                "upload.corrupt_zip",
                "The zip file is damaged or incomplete (was the upload cut short?). "
                "Zip the model folder again and re-upload it.",
            ) from exc
        raise _fail(
            "upload.not_zip",
            "The uploaded file is not a zip archive. Upload the model folder "
            "compressed as a .zip file.",
        ) from exc


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
        raise _fail(
            "upload.corrupt_zip",
            f"The zip file is damaged ({exc}). Zip the model folder again and "
            "re-upload it.",
        ) from exc
    finally:
        zf.close()


def _inspect(zf: zipfile.ZipFile, size: int, limits: ArchiveLimits) -> ArchiveInfo:
    entries = zf.infolist()
    if len(entries) > limits.max_members:
        raise _fail(
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
            raise _fail(
                "upload.duplicate_name",
                f"The archive holds {info.filename!r} twice.",
            )
        seen.add(info.filename)
        if info.is_dir() or _is_ignored(info.filename):
            continue
        if info.flag_bits & 0x1:
            raise _fail(
                "upload.encrypted",
                f"The archive entry {info.filename!r} is encrypted; upload a zip "
                "without a password.",
            )
        if info.compress_type not in _SUPPORTED_COMPRESSION:
            raise _fail(
                "upload.corrupt_zip",
                f"The archive entry {info.filename!r} uses an unsupported "
                "compression method; use ordinary zip (deflate) compression.",
            )
        lower = info.filename.lower()
        if lower.endswith(NESTED_ARCHIVE_SUFFIXES):
            raise _fail(
                "upload.nested_archive",
                f"The archive contains another archive ({info.filename!r}). Unpack it "
                "and zip the model folder itself.",
            )
        if lower.endswith(PICKLE_SUFFIXES):
            raise _fail(
                "upload.pickle_weights",
                f"{info.filename!r} is a pickle file, and loading a pickle can run "
                "arbitrary code. Convert the weights to safetensors "
                "(model.save_pretrained(folder, safe_serialization=True)) and leave "
                "out .bin/.pt/.pth/.pkl/.ckpt files.",
            )
        files.append(info)
    if not files:
        raise _fail("upload.empty", "The archive contains no files.")
    total = _check_bomb(files, size, limits)
    names = [info.filename for info in files]
    root = _find_root(names)
    prefix = f"{root}/" if root else ""
    by_name = {info.filename: info for info in files}
    config = _read_json(zf, by_name[f"{prefix}config.json"], "config.json")
    if not isinstance(config, dict):
        raise _fail("upload.bad_config", "config.json must hold a JSON object.")
    for extra in REMOTE_CODE_CONFIGS:
        info = by_name.get(f"{prefix}{extra}")
        if info is not None:
            data = config if extra == "config.json" else _read_json(zf, info, extra)
            _check_remote_code(extra, data)
    weights = [i for i in files if i.filename.lower().endswith(".safetensors")]
    for info in weights:
        _check_safetensors(zf, info)
    return ArchiveInfo(
        root=root,
        members=names,
        total_uncompressed=total,
        has_weights=bool(weights),
        config=config,
    )


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
                    raise _fail("upload.path_traversal", f"Unsafe path {name!r}.")
                target.parent.mkdir(parents=True, exist_ok=True)
                written += _extract_member(zf, member, target, info, written)
                target.chmod(0o444)
    except ArchiveError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, KeyError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise _fail(
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
    probe.file_size = declared + _CHUNK + 1
    count = 0
    with zf.open(probe) as source, open(target, "xb") as out:
        while chunk := source.read(_CHUNK):
            count += len(chunk)
            if count > declared or written_before + count > info.total_uncompressed:
                raise _fail(
                    "upload.zip_bomb",
                    f"The archive entry {member.filename!r} unpacks to more than its "
                    f"declared {declared} bytes; the archive is refused.",
                )
            out.write(chunk)
    if count != declared:
        raise _fail(
            "upload.corrupt_zip",
            f"The archive entry {member.filename!r} is shorter than declared; the "
            "zip file is damaged.",
        )
    return count


# ------------------------------------------------------------- model size (params)

MAX_CONFIG_DIMENSION = 1 << 24
"""No real model has a single size in its config above this (16.7 M): a vocabulary,
a hidden size, a position count. A larger one is refused before anything is built."""

MAX_CONFIG_LAYERS = 1024
"""Even building a model on the ``meta`` device costs Python objects per layer, so
an absurd layer count is refused from the arithmetic alone."""

_HIDDEN_KEYS = ("hidden_size", "d_model", "n_embd", "dim", "embed_dim")
_VOCAB_KEYS = ("vocab_size",)
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx")
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_DECODER_LAYER_KEYS = ("num_decoder_layers", "decoder_layers")
_FFN_KEYS = ("intermediate_size", "d_ff", "n_inner", "ffn_dim", "hidden_dim")
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")
_DIMENSION_KEYS = (
    *_HIDDEN_KEYS,
    *_VOCAB_KEYS,
    *_POSITION_KEYS,
    *_FFN_KEYS,
    "num_attention_heads",
    "num_heads",
    "n_head",
    "d_kv",
    "head_dim",
)


def _config_int(config: dict[str, Any], keys: tuple[str, ...], default: int = 0) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value)
    return default


def estimate_parameters(config: dict[str, Any]) -> int:
    """A rough parameter count from a config's numbers alone, building nothing.

    Embeddings plus, per layer, attention (4 h^2) and feed-forward (2 h f, times the
    experts of a mixture): right within a few percent for BERT-, GPT- and T5-like
    configs (a T5 decoder layer's cross-attention adds 4 h^2 more), and an upper
    bound's order of magnitude for the rest. Absurd sizes and layer counts are
    refused here, before :func:`count_parameters` would build anything.
    """
    for key in (*_DIMENSION_KEYS, *_LAYER_KEYS, *_DECODER_LAYER_KEYS):
        value = _config_int(config, (key,))
        limit = (
            MAX_CONFIG_LAYERS
            if key in _LAYER_KEYS + _DECODER_LAYER_KEYS
            else (MAX_CONFIG_DIMENSION)
        )
        if value > limit:
            raise _fail(
                "upload.model_too_large",
                f"config.json sets {key} to {value:,}; Glew accepts at most "
                f"{limit:,}. This is not a model that can be fine-tuned here.",
            )
    hidden = _config_int(config, _HIDDEN_KEYS)
    vocab = _config_int(config, _VOCAB_KEYS)
    positions = _config_int(config, _POSITION_KEYS)
    encoder_layers = _config_int(config, _LAYER_KEYS)
    decoder_layers = _config_int(config, _DECODER_LAYER_KEYS)
    ffn = _config_int(config, _FFN_KEYS, default=4 * hidden)
    experts = max(1, _config_int(config, _EXPERT_KEYS, default=1))
    heads = _config_int(config, ("num_heads", "num_attention_heads", "n_head"))
    head_dim = _config_int(config, ("d_kv", "head_dim"))
    inner = heads * head_dim if heads and head_dim else hidden
    attention = 4 * hidden * inner
    feed_forward = 2 * hidden * ffn * experts
    return (
        (vocab + positions) * hidden
        + encoder_layers * (attention + feed_forward)
        + decoder_layers * (2 * attention + feed_forward)
    )


def count_parameters(config: dict[str, Any]) -> int | None:
    """The exact parameter count of the model a config describes, or None.

    Builds the model on PyTorch's ``meta`` device, where tensors have shapes but no
    storage, so even a 100-billion-parameter config allocates nothing. transformers
    is imported here, lazily, because only this check needs it in the web process.
    None when transformers cannot build the config (an unknown ``model_type``, say):
    the arithmetic estimate stands and the worker reports the load error.
    """
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        return None
    try:
        import torch
        from transformers import AutoConfig, AutoModel

        values = {k: v for k, v in config.items() if k != "model_type"}
        model_config = AutoConfig.for_model(model_type, **values)
        with torch.device("meta"):
            model = AutoModel.from_config(model_config)
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001 - any failure to build means "unknown"
        return None


def check_parameter_cap(config: dict[str, Any], max_params: int) -> int:
    """Refuse a model with more than ``max_params`` parameters; return its count.

    The arithmetic estimate runs first (it refuses absurd configs without building
    anything); a config that passes it is counted exactly on the ``meta`` device.
    """
    estimate = estimate_parameters(config)
    if estimate > max_params:
        count = estimate
    else:
        exact = count_parameters(config)
        count = estimate if exact is None else exact
    if count > max_params:
        raise _fail(
            "upload.model_too_large",
            f"The model described by config.json has about {count:,} parameters; "
            f"the limit here is {max_params:,}. Submit a smaller model.",
        )
    return count
