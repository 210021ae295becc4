"""The anonymous microcache: repeats are served from the cache, briefly, and only
to requests without a session or token."""

import time

import pytest
from django.core.cache import cache

from leaderboard.catalogue.models import Suite

pytestmark = pytest.mark.django_db


@pytest.fixture
def microcache(settings):
    settings.GLEW_MICROCACHE_SECONDS = 0.5
    cache.clear()
    yield
    cache.clear()


def test_an_anonymous_repeat_is_served_from_the_cache_until_it_expires(
    client, microcache
):
    Suite.objects.create(slug="demo", title="Demo")
    first = client.get("/api/v1/suites").json()
    Suite.objects.create(slug="later", title="Later")
    assert client.get("/api/v1/suites").json() == first  # cached
    time.sleep(0.6)
    slugs = {s["suite"] for s in client.get("/api/v1/suites").json()["suites"]}
    assert "later" in slugs


def test_signed_in_and_token_requests_are_never_cached(
    client, microcache, django_user_model
):
    Suite.objects.create(slug="demo", title="Demo")
    client.get("/api/v1/suites")
    Suite.objects.create(slug="later", title="Later")
    user = django_user_model.objects.create_user("max", password="pw-max-12345")
    client.force_login(user)
    slugs = {s["suite"] for s in client.get("/api/v1/suites").json()["suites"]}
    assert "later" in slugs
    client.logout()
    # A token request goes to the view (which refuses a bad token), not the cache.
    response = client.get("/api/v1/suites", HTTP_AUTHORIZATION="Token nonsense")
    assert response.status_code == 401
