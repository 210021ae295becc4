"""Fixtures of the security tests: a user with a token, imported SST-2, clean caches."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Rate-limit counters live in the cache; every test starts from zero. (The
    sandbox tests also run with ``-p no:django``: then there is no cache.)"""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def sst2_imported(sst2_folder) -> None:
    from django.core.management import call_command

    call_command("import_task", "glue/sst2", str(sst2_folder))


@pytest.fixture
def uploader(django_user_model):
    return django_user_model.objects.create_user("mallory", password="pw-mallory-1")


@pytest.fixture
def token_client(uploader):
    """An API client that authenticates with a real token, as the CLI does."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    token, _ = Token.objects.get_or_create(user=uploader)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def upload_dirs(settings, tmp_path) -> dict[str, Path]:
    """Private upload-temp and storage folders, so "nothing left" can be checked."""
    temp = tmp_path / "upload-tmp"
    media = tmp_path / "media"
    temp.mkdir()
    media.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(temp)
    settings.MEDIA_ROOT = str(media)
    return {"temp": temp, "media": media}


def zip_bytes(entries: dict, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of ``{name or ZipInfo: bytes}``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for member, data in entries.items():
            archive.writestr(member, data)
    return buffer.getvalue()


def post_archive(client, data: bytes, filename: str = "model.zip"):
    buffer = io.BytesIO(data)
    buffer.name = filename
    return client.post(
        "/api/v1/submissions",
        {"archive": buffer, "name": "hostile", "tasks": "glue/sst2", "recipe": "smoke"},
        format="multipart",
    )
