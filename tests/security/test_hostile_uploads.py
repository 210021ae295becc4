"""Hostile uploads through the real API: refused before anything runs, nothing kept.

Each case posts to ``POST /api/v1/submissions`` with a token, expects a 4xx JSON
``{"error", "code"}`` and then checks that no row, no stored file and no
``glew-upload-*`` temporary file is left behind.
"""

from __future__ import annotations

import io
import json
import os
import stat
import struct
import tempfile
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from leaderboard.submissions.models import Evaluation, ModelArchive, Submission
from tests.security.conftest import post_archive, zip_bytes

CONFIG = json.dumps(
    {
        "model_type": "bert",
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "vocab_size": 100,
    }
).encode()

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(120)]


def _weights() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "w.safetensors"
        save_file({"embed.weight": torch.zeros(8, 4)}, path)
        return path.read_bytes()


def _safetensors(header: object, data: bytes = b"", length: int | None = None) -> bytes:
    raw = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(raw) if length is None else length) + raw + data


def _entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3  # unix
    return info


def _declare_sizes(data: bytes, size: int) -> bytes:
    """Rewrite every central-directory entry's uncompressed size to ``size``."""
    raw = bytearray(data)
    at = raw.find(b"PK\x01\x02")
    while at != -1:
        raw[at + 24 : at + 28] = struct.pack("<I", size)
        at = raw.find(b"PK\x01\x02", at + 4)
    return bytes(raw)


def _good(**extra: bytes) -> dict:
    return {"m/config.json": CONFIG, "m/vocab.txt": b"[PAD]\n", **extra}


def _truncated() -> bytes:
    data = zip_bytes(_good(**{"m/model.safetensors": _weights()}))
    return data[: len(data) // 2]


HOSTILE: dict[str, tuple[object, str]] = {
    "zip_bomb_ratio": (
        lambda: zip_bytes(_good(**{"m/big.txt": b"\0" * (40 << 20)})),
        "upload.zip_bomb",
    ),
    "zip_bomb_declared_total": (
        lambda: _declare_sizes(
            zip_bytes(
                {"m/config.json": CONFIG, "m/a.txt": b"a", "m/b.txt": b"b"},
                compression=zipfile.ZIP_STORED,
            ),
            0xFFFF_FFF0,
        ),
        "upload.zip_bomb",
    ),
    "parent_path": (lambda: zip_bytes(_good(**{"../evil.txt": b"x"})), None),
    "nested_parent_path": (lambda: zip_bytes(_good(**{"m/../../e": b"x"})), None),
    "absolute_path": (lambda: zip_bytes(_good(**{"/etc/cron.d/evil": b"x"})), None),
    "windows_drive_path": (lambda: zip_bytes(_good(**{"C:\\evil.txt": b"x"})), None),
    "windows_drive_slash": (lambda: zip_bytes(_good(**{"C:/evil.txt": b"x"})), None),
    "symlink": (
        lambda: zip_bytes(_good() | {_entry("m/link", stat.S_IFLNK | 0o777): b"/etc"}),
        "upload.link",
    ),
    "fifo": (
        lambda: zip_bytes(_good() | {_entry("m/fifo", stat.S_IFIFO | 0o644): b""}),
        "upload.link",
    ),
    "char_device": (
        lambda: zip_bytes(_good() | {_entry("m/dev", stat.S_IFCHR | 0o644): b""}),
        "upload.link",
    ),
    "block_device": (
        lambda: zip_bytes(_good() | {_entry("m/blk", stat.S_IFBLK | 0o644): b""}),
        "upload.link",
    ),
    "socket": (
        lambda: zip_bytes(_good() | {_entry("m/sock", stat.S_IFSOCK | 0o644): b""}),
        "upload.link",
    ),
    "nested_zip": (
        lambda: zip_bytes(_good(**{"m/inner.zip": zip_bytes({"a": b"a"})})),
        "upload.nested_archive",
    ),
    "nested_tar_gz": (
        lambda: zip_bytes(_good(**{"m/w.tar.gz": b"\x1f\x8b" + b"x" * 20})),
        "upload.nested_archive",
    ),
    "not_a_zip": (lambda: b"this is plain text, not a zip" * 10, "upload.not_zip"),
    "empty_zip": (lambda: zip_bytes({}), "upload.empty"),
    "truncated_zip": (_truncated, "upload.corrupt_zip"),
    "no_config": (lambda: zip_bytes({"m/vocab.txt": b"x"}), "upload.no_config"),
    "auto_map": (
        lambda: zip_bytes(
            {"config.json": json.dumps({"auto_map": {"AutoModel": "m.M"}}).encode()}
        ),
        "upload.remote_code",
    ),
    "trust_remote_code": (
        lambda: zip_bytes(
            {"config.json": json.dumps({"trust_remote_code": True}).encode()}
        ),
        "upload.remote_code",
    ),
    "pickle_bin": (
        lambda: zip_bytes(_good(**{"m/pytorch_model.bin": b"\x80\x04K\x01."})),
        "upload.pickle_weights",
    ),
    "pickle_pt": (
        lambda: zip_bytes(_good(**{"m/model.pt": b"\x80\x04K\x01."})),
        "upload.pickle_weights",
    ),
    "pickle_pkl": (
        lambda: zip_bytes(_good(**{"m/weights.pkl": b"\x80\x04K\x01."})),
        "upload.pickle_weights",
    ),
    "safetensors_header_not_json": (
        lambda: zip_bytes(_good(**{"m/model.safetensors": _safetensors(b"{oops")})),
        "upload.bad_safetensors",
    ),
    "safetensors_header_length_absurd": (
        lambda: zip_bytes(
            _good(**{"m/model.safetensors": _safetensors({}, length=1 << 62)})
        ),
        "upload.bad_safetensors",
    ),
    "safetensors_tensor_past_the_end": (
        lambda: zip_bytes(
            _good(
                **{
                    "m/model.safetensors": _safetensors(
                        {
                            "w": {
                                "dtype": "F32",
                                "shape": [1 << 30, 1 << 30],
                                "data_offsets": [0, 1 << 62],
                            }
                        },
                        data=b"\0" * 16,
                    )
                }
            )
        ),
        "upload.bad_safetensors",
    ),
    "config_absurd_dimensions": (
        lambda: zip_bytes(
            {
                "config.json": json.dumps(
                    {
                        "model_type": "bert",
                        "hidden_size": 65536,
                        "num_hidden_layers": 96,
                        "num_attention_heads": 64,
                        "intermediate_size": 262144,
                        "vocab_size": 250000,
                    }
                ).encode()
            }
        ),
        "upload.model_too_large",
    ),
    "config_one_absurd_number": (
        lambda: zip_bytes(
            {
                "config.json": json.dumps(
                    {"model_type": "bert", "vocab_size": 10**15}
                ).encode()
            }
        ),
        "upload.model_too_large",
    ),
    "config_absurd_layer_count": (
        lambda: zip_bytes(
            {
                "config.json": json.dumps(
                    {
                        "model_type": "bert",
                        "hidden_size": 2,
                        "num_attention_heads": 1,
                        "num_hidden_layers": 10**7,
                    }
                ).encode()
            }
        ),
        "upload.model_too_large",
    ),
    "control_characters_in_name": (
        lambda: zip_bytes(_good(**{"m/vocab\x07\x1b[2J.txt": b"x"})),
        "upload.bad_filename",
    ),
}


def assert_nothing_kept(dirs: dict[str, Path]) -> None:
    assert not Submission.objects.exists()
    assert not ModelArchive.objects.exists()
    assert not Evaluation.objects.exists()
    models = dirs["media"] / "models"
    assert not models.exists() or not any(models.iterdir())
    assert not list(dirs["temp"].glob("glew-upload-*"))


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archive_is_refused_with_a_plain_json_error(
    case, token_client, sst2_imported, upload_dirs
):
    build, code = HOSTILE[case]
    response = post_archive(token_client, build())
    assert response.status_code == 400, response.content
    body = response.json()
    assert set(body) == {"error", "code"}
    assert body["code"] == (code or "upload.path_traversal")
    assert len(body["error"]) > 20  # plain words, not just a code
    assert_nothing_kept(upload_dirs)


def test_zero_byte_upload_is_refused(token_client, sst2_imported, upload_dirs):
    response = post_archive(token_client, b"")
    assert response.status_code == 400
    assert response.json()["code"] == "upload.empty"
    assert_nothing_kept(upload_dirs)


def test_model_over_a_suites_parameter_cap_is_refused(
    token_client, sst2_imported, upload_dirs, tiny_model_zip, settings
):
    """The exact count (built on the meta device) against a per-suite override."""
    settings.GLEW_MAX_MODEL_PARAMS_PER_SUITE = {"glue": 1000}
    response = post_archive(token_client, tiny_model_zip.read_bytes())
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "upload.model_too_large"
    assert "1,000" in response.json()["error"]
    assert_nothing_kept(upload_dirs)


def test_upload_over_the_cap_is_cut_while_streaming(
    token_client, sst2_imported, upload_dirs, settings
):
    """Declared length within the slack: the handler counts bytes and stops."""
    settings.GLEW_MAX_UPLOAD_BYTES = 64 * 1024
    response = post_archive(token_client, b"\0" * (512 * 1024))
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "upload.too_large"
    assert "65,536" in response.json()["error"]
    assert_nothing_kept(upload_dirs)


def test_upload_declared_over_the_cap_is_refused_before_reading(
    token_client, sst2_imported, upload_dirs, settings
):
    settings.GLEW_MAX_UPLOAD_BYTES = 1024
    response = post_archive(token_client, b"\0" * (3 * 1024 * 1024))
    assert response.status_code == 413
    assert response.json()["code"] == "upload.too_large"
    assert_nothing_kept(upload_dirs)


def test_capped_handler_never_writes_past_the_cap(settings, tmp_path):
    """The handler itself, fed chunk by chunk as Django's parser does."""
    from django.core.files.uploadhandler import StopFutureHandlers

    from leaderboard.uploads import CappedUploadHandler, UploadTooLarge

    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    settings.GLEW_MAX_UPLOAD_BYTES = 10_000
    handler = CappedUploadHandler()
    with pytest.raises(StopFutureHandlers):  # no other handler sees the file
        handler.new_file("archive", "m.zip", "application/zip", None)
    handler.receive_data_chunk(b"x" * 6000, 0)
    assert len(list(tmp_path.glob("glew-upload-*"))) == 1
    with pytest.raises(UploadTooLarge):
        handler.receive_data_chunk(b"x" * 6000, 6000)
    assert not list(tmp_path.glob("glew-upload-*"))


def test_oversize_upload_on_the_html_form_gets_a_plain_413(
    client, uploader, sst2_imported, upload_dirs, settings
):
    settings.GLEW_MAX_UPLOAD_BYTES = 64 * 1024
    client.force_login(uploader)
    archive = io.BytesIO(b"\0" * (256 * 1024))
    archive.name = "model.zip"
    response = client.post(
        "/submit/",
        {"archive": archive, "name": "x", "tasks": "glue/sst2", "recipe": "smoke"},
    )
    assert response.status_code == 413
    assert b"larger than the limit" in response.content
    assert_nothing_kept(upload_dirs)


def test_default_cap_admits_a_bert_large_checkpoint():
    from leaderboard import settings as base

    if "GLEW_MAX_UPLOAD_BYTES" not in os.environ:
        assert base.GLEW_MAX_UPLOAD_BYTES == 2 * 1024**3  # BERT-large is ~1.4 GB
    assert base.GLEW_MAX_MODEL_PARAMS >= 2_000_000_000


def test_good_upload_leaves_no_temporary_file(
    token_client, sst2_imported, upload_dirs, tiny_model_zip, no_enqueue
):
    response = post_archive(token_client, tiny_model_zip.read_bytes())
    assert response.status_code == 201, response.content
    assert not list(upload_dirs["temp"].glob("glew-upload-*"))
    assert len(list((upload_dirs["media"] / "models").iterdir())) == 1


def test_duplicate_upload_is_linked_not_stored_twice(
    token_client, sst2_imported, upload_dirs, tiny_model_zip, no_enqueue
):
    first = post_archive(token_client, tiny_model_zip.read_bytes())
    second = post_archive(token_client, tiny_model_zip.read_bytes(), "again.zip")
    assert first.status_code == second.status_code == 201
    assert Submission.objects.count() == 2
    assert ModelArchive.objects.count() == 1
    assert len(list((upload_dirs["media"] / "models").iterdir())) == 1
    assert len({s.archive_id for s in Submission.objects.all()}) == 1
