"""Hostile and honest model zips against runners.archives."""

from __future__ import annotations

import json
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from runners.archives import (
    ArchiveError,
    ArchiveLimits,
    extract_archive,
    inspect_archive,
    sha256_file,
)
from tasks.errors import UserError

LIMITS = ArchiveLimits()
CONFIG = json.dumps({"model_type": "bert", "hidden_size": 4}).encode()


def _weights(tmp_path: Path) -> bytes:
    path = tmp_path / "w.safetensors"
    save_file({"embed.weight": torch.randn(8, 4), "bias": torch.zeros(4)}, path)
    return path.read_bytes()


def _zip(tmp_path: Path, entries: dict[str, bytes], name: str = "m.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for member, data in entries.items():
            zf.writestr(member, data)
    return path


def _code(path: Path, limits: ArchiveLimits = LIMITS) -> str:
    with pytest.raises(ArchiveError) as excinfo:
        inspect_archive(path, limits)
    assert isinstance(excinfo.value, UserError)
    assert excinfo.value.message
    return excinfo.value.code


def test_good_model_zip_is_accepted_and_extracted_read_only(tmp_path: Path) -> None:
    weights = _weights(tmp_path)
    path = _zip(
        tmp_path,
        {
            "my-model/config.json": CONFIG,
            "my-model/model.safetensors": weights,
            "my-model/vocab.txt": b"[PAD]\n[UNK]\n",
            "__MACOSX/my-model/._config.json": b"junk",
        },
    )
    info = inspect_archive(path, LIMITS)
    assert info.root == "my-model"
    assert info.has_weights
    assert info.config["model_type"] == "bert"
    assert "__MACOSX/my-model/._config.json" not in info.members
    model = extract_archive(path, info, tmp_path / "job" / "model")
    assert sorted(p.name for p in model.iterdir()) == [
        "config.json",
        "model.safetensors",
        "vocab.txt",
    ]
    assert (model / "model.safetensors").read_bytes() == weights
    assert not os.stat(model / "config.json").st_mode & stat.S_IWUSR


def test_model_files_at_the_zip_top_are_accepted(tmp_path: Path) -> None:
    path = _zip(
        tmp_path, {"config.json": CONFIG, "model.safetensors": _weights(tmp_path)}
    )
    info = inspect_archive(path, LIMITS)
    assert info.root == ""
    assert info.total_uncompressed > 0


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def test_file_that_is_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    path.write_bytes(b"this is a text file\n" * 10)
    assert _code(path) == "upload.not_zip"


def test_truncated_zip_is_refused_as_corrupt(tmp_path: Path) -> None:
    path = _zip(
        tmp_path, {"config.json": CONFIG, "model.safetensors": os.urandom(5000)}
    )
    path.write_bytes(path.read_bytes()[:3000])
    assert _code(path) == "upload.corrupt_zip"


def test_empty_upload_and_empty_zip_are_refused(tmp_path: Path) -> None:
    empty_file = tmp_path / "e.zip"
    empty_file.write_bytes(b"")
    assert _code(empty_file) == "upload.empty"
    assert _code(_zip(tmp_path, {})) == "upload.empty"
    assert _code(_zip(tmp_path, {"folder/": b""}, "d.zip")) == "upload.empty"


def test_too_many_members_are_refused(tmp_path: Path) -> None:
    entries = {f"f{i}.txt": b"x" for i in range(12)} | {"config.json": CONFIG}
    path = _zip(tmp_path, entries)
    assert _code(path, ArchiveLimits(max_members=10)) == "upload.too_many_files"


@pytest.mark.parametrize(
    "name",
    ["../evil.txt", "/etc/passwd", "model/../../evil", "C:/evil.txt", "a\\..\\b.txt"],
)
def test_zip_with_unsafe_path_is_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, name: b"x"})
    assert _code(path) == "upload.path_traversal"


def test_file_name_with_control_characters_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, "bad\x1bname.txt": b"x"})
    assert _code(path) == "upload.bad_filename"


def test_symlink_entry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", CONFIG)
        link = zipfile.ZipInfo("weights.safetensors")
        link.create_system = 3
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/etc/passwd")
    assert _code(path) == "upload.link"


def test_device_entry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("config.json", CONFIG)
        fifo = zipfile.ZipInfo("pipe")
        fifo.external_attr = (stat.S_IFIFO | 0o644) << 16
        zf.writestr(fifo, b"")
    assert _code(path) == "upload.link"


@pytest.mark.parametrize("name", ["inner.zip", "w.tar", "w.tar.gz", "x.7z", "y.rar"])
def test_nested_archive_is_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, name: b"PK\x03\x04"})
    assert _code(path) == "upload.nested_archive"


def test_highly_compressible_member_is_refused_as_zip_bomb(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, "zeros.txt": b"\0" * 20_000_000})
    assert _code(path) == "upload.zip_bomb"


def test_declared_total_over_cap_is_refused_as_zip_bomb(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, "data.txt": os.urandom(3000)})
    limits = ArchiveLimits(max_total_uncompressed_bytes=2000)
    assert _code(path, limits) == "upload.zip_bomb"


def _lie_about_size(path: Path, member: str, fake_size: int) -> None:
    """Rewrite a member's uncompressed size in both headers (and keep the CRC)."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    local = info.header_offset
    assert data[local : local + 4] == b"PK\x03\x04"
    struct.pack_into("<I", data, local + 22, fake_size)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        name_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46 : central + 46 + name_len] == member.encode():
            struct.pack_into("<I", data, central + 24, fake_size)
            break
        central = data.find(b"PK\x01\x02", central + 4)
    path.write_bytes(bytes(data))


def test_member_whose_header_lies_about_its_size_is_stopped_on_extract(
    tmp_path: Path,
) -> None:
    path = _zip(
        tmp_path,
        {"config.json": CONFIG, "notes.txt": os.urandom(256) * 4000},
    )
    _lie_about_size(path, "notes.txt", 100)
    info = inspect_archive(path, LIMITS)
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("notes.txt").file_size == 100
    dest = tmp_path / "model"
    with pytest.raises(ArchiveError) as excinfo:
        extract_archive(path, info, dest)
    assert excinfo.value.code == "upload.zip_bomb"
    assert not dest.exists()


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"model/weights.safetensors": _weights(tmp_path)})
    assert _code(path) == "upload.no_config"


def test_config_under_one_of_two_top_folders_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"a/config.json": CONFIG, "b/readme.txt": b"hi"})
    assert _code(path) == "upload.no_config"


@pytest.mark.parametrize("config", [b"{not json", b"[1, 2]"])
def test_config_that_is_not_a_json_object_is_refused(
    tmp_path: Path, config: bytes
) -> None:
    path = _zip(tmp_path, {"config.json": config})
    assert _code(path) == "upload.bad_config"


@pytest.mark.parametrize(
    "config",
    [
        {"auto_map": {"AutoModel": "modeling_evil.EvilModel"}},
        {"model_type": "bert", "trust_remote_code": True},
    ],
)
def test_config_asking_for_remote_code_is_refused(tmp_path: Path, config: dict) -> None:
    path = _zip(tmp_path, {"config.json": json.dumps(config).encode()})
    assert _code(path) == "upload.remote_code"


def test_tokenizer_config_asking_for_remote_code_is_refused(tmp_path: Path) -> None:
    tok = json.dumps({"auto_map": {"AutoTokenizer": ["x.Tok", None]}}).encode()
    path = _zip(tmp_path, {"config.json": CONFIG, "tokenizer_config.json": tok})
    assert _code(path) == "upload.remote_code"


@pytest.mark.parametrize(
    "name", ["pytorch_model.bin", "model.pt", "w.pth", "w.pkl", "last.ckpt"]
)
def test_pickle_weights_are_refused(tmp_path: Path, name: str) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, name: b"\x80\x04K\x01."})
    assert _code(path) == "upload.pickle_weights"
    with pytest.raises(ArchiveError, match="safetensors"):
        inspect_archive(path, LIMITS)


def _safetensors(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


@pytest.mark.parametrize(
    "weights",
    [
        b"\x01\x02",
        _safetensors({}, length=10**12),
        b"\x05\x00\x00\x00\x00\x00\x00\x00{nope",
        _safetensors([1, 2]),
        _safetensors({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}),
        _safetensors(
            {"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, b"\0" * 8
        ),
        _safetensors({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
        _safetensors(
            {"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8
        ),
    ],
    ids=[
        "short",
        "huge-header-length",
        "header-not-json",
        "header-not-object",
        "offsets-past-end",
        "offsets-past-end-2",
        "no-offsets",
        "shape-mismatch",
    ],
)
def test_malformed_safetensors_is_refused(tmp_path: Path, weights: bytes) -> None:
    path = _zip(tmp_path, {"config.json": CONFIG, "model.safetensors": weights})
    assert _code(path) == "upload.bad_safetensors"


def test_valid_hand_built_safetensors_is_accepted(tmp_path: Path) -> None:
    weights = _safetensors(
        {
            "__metadata__": {"format": "pt"},
            "w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        },
        b"\0" * 8,
    )
    path = _zip(tmp_path, {"config.json": CONFIG, "model.safetensors": weights})
    assert inspect_archive(path, LIMITS).has_weights
