"""The anonymous microcache in front of Django: repeats are served from the cache,
briefly, only to requests without a session or token, with Django's headers."""

import json
import threading
import time
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from leaderboard.catalogue.models import Suite
from leaderboard.microcache import OUTCOME, Microcache

pytestmark = pytest.mark.django_db


class Clock:
    """The microcache's ``time``, moved by the test: ages are exact."""

    now = 1_000_000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def microcache(settings, monkeypatch):
    settings.GLEW_MICROCACHE_SECONDS = 0.5
    clock = Clock()
    monkeypatch.setattr("leaderboard.microcache.time", clock)
    cache.clear()
    yield clock
    cache.clear()


@pytest.fixture
def site(microcache):
    """Django's WSGI handler behind the microcache, as leaderboard/wsgi.py serves
    it (the request signals stay off, as in Django's test client, so the test's
    transaction keeps its connection)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    app = Microcache(WSGIHandler())
    app.clock = microcache
    yield app
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def get(app, path: str, **headers: str) -> tuple[str, dict, bytes, str]:
    """One GET through the WSGI app: (status, headers, body, cache outcome)."""
    environ = {"PATH_INFO": path, "HTTP_HOST": "testserver", **headers}
    setup_testing_defaults(environ)
    sent = {}

    def start_response(status, response_headers, exc_info=None):
        sent.update(status=status, headers=dict(response_headers))

    result = app(environ, start_response)
    body = b"".join(result)
    getattr(result, "close", lambda: None)()
    return sent["status"], sent["headers"], body, environ[OUTCOME]


def suites(body: bytes) -> set[str]:
    return {s["suite"] for s in json.loads(body)["suites"]}


def test_an_anonymous_repeat_is_served_from_the_cache_until_it_expires(site):
    Suite.objects.create(slug="demo", title="Demo")
    _, _, first, outcome = get(site, "/api/v1/suites")
    assert outcome == "miss"
    Suite.objects.create(slug="later", title="Later")
    _, headers, again, outcome = get(site, "/api/v1/suites")
    assert (again, outcome) == (first, "hit")
    assert headers["X-Frame-Options"] == "DENY"  # Django's headers, replayed
    assert headers["X-Content-Type-Options"] == "nosniff"
    site.clock.now += 0.6
    assert "later" in suites(get(site, "/api/v1/suites")[2])


def test_signed_in_and_token_requests_are_never_cached(site, client, django_user_model):
    Suite.objects.create(slug="demo", title="Demo")
    get(site, "/api/v1/suites")
    Suite.objects.create(slug="later", title="Later")
    user = django_user_model.objects.create_user("max", password="pw-max-12345")
    client.force_login(user)
    session = f"sessionid={client.cookies['sessionid'].value}"
    _, _, body, outcome = get(site, "/api/v1/suites", HTTP_COOKIE=session)
    assert outcome == "uncached" and "later" in suites(body)
    # A token request goes to the view (which refuses a bad token), not the cache.
    status, _, _, outcome = get(
        site, "/api/v1/suites", HTTP_AUTHORIZATION="Token nonsense"
    )
    assert (status[:3], outcome) == ("401", "uncached")


class FakeDjango:
    """The application behind the cache, counting how often it runs."""

    def __init__(self, status="200 OK", headers=()):
        self.calls, self.status, self.headers = 0, status, list(headers)

    def __call__(self, environ, start_response):
        self.calls += 1
        start_response(self.status, [("Content-Type", "text/plain"), *self.headers])
        return Body([f"built {self.calls}".encode()])


class Body(list):
    streaming = False


def test_responses_that_set_cookies_or_fail_are_not_stored(microcache):
    for app in (
        FakeDjango(headers=[("Set-Cookie", "csrftoken=abc")]),
        FakeDjango(status="404 Not Found"),
    ):
        cached = Microcache(app)
        get(cached, "/suites/glue/")
        get(cached, "/suites/glue/")
        assert app.calls == 2


def test_only_listed_read_urls_are_cached(microcache):
    app = FakeDjango()
    cached = Microcache(app)
    for path in ("/accounts/login/", "/api/v1/suites", "/api/v1/suites"):
        get(cached, path)
    get(cached, "/api/v1/suites", REQUEST_METHOD="POST")
    assert app.calls == 3  # login page, the first suites GET, the POST


def test_an_entry_near_its_end_is_renewed_once_and_never_served_past_it(microcache):
    app = FakeDjango()
    cached = Microcache(app)
    assert get(cached, "/api/v1/suites")[3] == "miss"
    microcache.now += 0.47  # past the refresh point (0.9 of 0.5 s), still fresh
    _, _, body, outcome = get(cached, "/api/v1/suites")
    assert (body, outcome) == (b"built 2", "refresh")
    assert get(cached, "/api/v1/suites")[2:] == (b"built 2", "hit")
    microcache.now += 0.55
    assert get(cached, "/api/v1/suites")[2:] == (b"built 3", "miss")


def test_a_fresh_entry_from_another_process_is_taken_from_the_shared_cache(
    microcache,
):
    one, other = Microcache(FakeDjango()), Microcache(FakeDjango())
    get(one, "/api/v1/suites")
    assert get(other, "/api/v1/suites")[2:] == (b"built 1", "hit-shared")
    assert other.app.calls == 0


def test_the_served_application_is_behind_the_microcache():
    from leaderboard import wsgi

    inner = getattr(wsgi.application, "app", None)
    assert isinstance(wsgi.application, Microcache) or isinstance(inner, Microcache)


def test_requests_for_a_url_being_built_wait_for_it_instead_of_building_it(
    microcache,
):
    started, release = threading.Event(), threading.Event()

    class SlowDjango(FakeDjango):
        def __call__(self, environ, start_response):
            started.set()
            release.wait(5)
            return super().__call__(environ, start_response)

    app = SlowDjango()
    cached = Microcache(app)
    first = threading.Thread(target=get, args=(cached, "/api/v1/suites"))
    first.start()
    started.wait(5)
    answers = []
    second = threading.Thread(
        target=lambda: answers.append(get(cached, "/api/v1/suites"))
    )
    second.start()
    time.sleep(0.2)  # the second request is waiting by now (else it finds a hit)
    release.set()
    first.join(5)
    second.join(5)
    body, outcome = answers[0][2:]
    assert body == b"built 1" and outcome in ("waited", "hit")
    assert app.calls == 1


def test_the_local_level_holds_a_bounded_number_of_bytes(microcache, monkeypatch):
    monkeypatch.setattr("leaderboard.microcache.LOCAL_BYTES", 20)
    cached = Microcache(FakeDjango())  # bodies of 7 bytes: "built N"
    for page in range(10):
        get(cached, "/suites/glue/", QUERY_STRING=f"page={page}")
        assert cached.local_bytes <= 20
    assert len(cached.local) <= 2
