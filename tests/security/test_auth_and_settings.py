"""CSRF on the forms, rate limits on logins and uploads, production settings."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.security.conftest import post_archive

REPO = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.timeout(120)


@pytest.mark.django_db
def test_submit_form_without_csrf_token_is_forbidden(uploader):
    client = Client(enforce_csrf_checks=True)
    client.force_login(uploader)
    response = client.post("/submit/", {"name": "x", "recipe": "smoke"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_login_form_without_csrf_token_is_forbidden(uploader):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/accounts/login/", {"username": "mallory", "password": "pw-mallory-1"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_login_page_stops_guessing_after_the_limit(uploader, settings):
    settings.GLEW_LOGIN_ATTEMPTS = 3
    client = Client()
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": "mallory", "password": "wrong"}
        )
        assert response.status_code == 200  # the form again, with its error
    blocked = client.post(
        "/accounts/login/", {"username": "mallory", "password": "pw-mallory-1"}
    )
    assert blocked.status_code == 429
    assert b"Too many failed logins" in blocked.content
    assert blocked["Retry-After"] == str(settings.GLEW_LOGIN_WINDOW_S)
    # Another account from the same address is not locked by mallory's failures.
    other = client.post("/accounts/login/", {"username": "alice", "password": "x"})
    assert other.status_code == 200


@pytest.mark.django_db
def test_token_endpoint_stops_guessing_after_the_limit(uploader, settings):
    settings.GLEW_LOGIN_ATTEMPTS = 3
    client = APIClient()
    wrong = {"username": "mallory", "password": "wrong"}
    for _ in range(3):
        response = client.post("/api/v1/auth/token", wrong, format="json")
        assert response.json()["code"] == "auth.bad_credentials"
    right = {"username": "mallory", "password": "pw-mallory-1"}
    blocked = client.post("/api/v1/auth/token", right, format="json")
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "limits.too_many_logins"
    assert "Too many failed logins" in blocked.json()["error"]


@pytest.mark.django_db
def test_successful_logins_are_not_limited(uploader, settings):
    settings.GLEW_LOGIN_ATTEMPTS = 2
    client = APIClient()
    right = {"username": "mallory", "password": "pw-mallory-1"}
    for _ in range(5):
        response = client.post("/api/v1/auth/token", right, format="json")
        assert response.status_code == 200


@pytest.mark.django_db
def test_uploads_are_limited_per_user_per_minute(
    token_client, sst2_imported, upload_dirs, settings
):
    settings.GLEW_UPLOADS_PER_MINUTE = 2
    for _ in range(2):  # refused archives count too
        assert post_archive(token_client, b"not a zip").status_code == 400
    response = post_archive(token_client, b"not a zip")
    assert response.status_code == 429
    assert response.json()["code"] == "limits.too_many_uploads"
    assert "Wait a minute" in response.json()["error"]


def _production(env: dict, code: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "leaderboard.settings_production",
        "GLEW_ALLOWED_HOSTS": "glew.example.org",
        "GLEW_SECRET_KEY": secrets.token_urlsafe(64),
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(REPO),
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _production(
        {"GLEW_VAR_DIR": str(tmp_path)},
        "import sys; from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check', '--deploy', "
        "'--fail-level', 'WARNING'])",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout + result.stderr


def test_production_settings_hash_with_pbkdf2_and_use_redis_for_counters(tmp_path):
    result = _production(
        {"GLEW_VAR_DIR": str(tmp_path), "GLEW_CACHE_URL": "redis://127.0.0.1:6379/3"},
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.PASSWORD_HASHERS[0]); print(s.CACHES['default']['BACKEND']);"
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0)",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert lines[0] == "django.contrib.auth.hashers.PBKDF2PasswordHasher"
    assert lines[1] == "django.core.cache.backends.redis.RedisCache"
    assert lines[2] == "False True True True True"


def test_production_settings_refuse_to_start_without_a_secret_key(tmp_path):
    result = _production(
        {"GLEW_VAR_DIR": str(tmp_path), "GLEW_SECRET_KEY": ""},
        "import django; django.setup()",
    )
    assert result.returncode != 0
    assert "GLEW_SECRET_KEY is not set" in result.stderr


def test_default_cache_is_local_memory_without_a_cache_url(settings):
    if not os.environ.get("GLEW_CACHE_URL"):
        assert settings.CACHES["default"]["BACKEND"].endswith("LocMemCache")
