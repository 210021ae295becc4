"""Fixtures shared by the integration tests."""

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api(django_user_model) -> APIClient:
    django_user_model.objects.create_user("ada", password="correct horse battery")
    client = APIClient()
    token = client.post(
        "/api/v1/auth/token",
        {"username": "ada", "password": "correct horse battery"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client
