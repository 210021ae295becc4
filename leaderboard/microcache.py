"""A short-lived cache of whole anonymous responses, in front of Django.

Under load most requests are anonymous reads of the same few leaderboard URLs. This
WSGI wrapper (``leaderboard/wsgi.py`` puts it around Django's handler) answers a
repeat of such a request from process memory before Django builds a request object,
runs its signals or any middleware, so a busy leaderboard costs a dictionary lookup
and the server's own work per request (about 0.1 ms of CPU, where Django's handler
and middleware alone cost more than the whole budget of a request at 2,000 req/s on
two cores; ``benchmarks/load_leaderboard.py`` prints both).

Two levels under one key: each process keeps what it served in memory, and on a
local miss asks the shared cache (Redis when ``GLEW_CACHE_URL`` names one) before
running Django, so a URL is built about once per period for all processes together.
An entry carries the wall-clock time it was built and is served only until
``GLEW_MICROCACHE_SECONDS`` (default 2, the polling period of the live pages) after
that, from either level: a change shows to anonymous readers within that time.
Requests with a session cookie or an Authorization header are never answered from
the cache, and only 200 responses that set no cookie are stored (with every header
Django sent, so the security headers are the same on a hit).

Where a builder process runs beside the server (``deploy/serve_web.py`` starts
``leaderboard/microcache_builder.py`` and sets ``GLEW_MICROCACHE_BUILDER=1``), a
still-fresh entry is renewed there, not in a serving thread: a build is ~10 ms of CPU
holding the GIL, which stalls every other request of its process, while the builder
runs at low priority in a process of its own. A serving process then only looks in the
shared cache for the builder's younger entry (at most once per ``LOOK_EVERY`` per
URL) and asks for one through a Redis list (``ask``); an entry the builder has not
renewed by REFRESH_AFTER, or an expired or missing one, is still built inline, so the
period bound never depends on the builder running.
"""

import io
import json
import os
import re
import sys
import threading
import time

from django.conf import settings
from django.core.cache import cache

CACHEABLE = re.compile(
    r"^/(?:"
    r"|suites/[\w-]+/"
    r"|tasks/[\w-]+/[\w-]+/"
    r"|api/v1/suites(?:/[\w-]+)?"
    r"|api/v1/leaderboards/[\w-]+"
    r"|api/v1/submissions/\d+"
    r")$"
)
# Bytes of bodies one process keeps; past this the local level starts empty again
# (query strings are part of the key, so the set of keys is not bounded otherwise).
# The busiest pages are ~120 KB; the live set of the load benchmark is ~1 MB.
LOCAL_BYTES = 32 * 1024 * 1024
# Past this share of its life an entry is renewed by the first request that sees it
# while every other request is still answered from it, so no reader waits for Django
# when a popular entry would expire (and none is served anything older than the
# period). A page takes milliseconds to build, far less than the other tenth.
REFRESH_AFTER = 0.9
# How long a request waits for another thread building the same expired URL before
# building it itself.
WAIT_SECONDS = 5
# The environ key that says how the request was answered: hit, hit-shared (from the
# shared level), waited (for another thread's build), refresh (built ahead of
# expiry), asked (served from memory while the builder was asked to renew it), miss,
# or uncached.
OUTCOME = "glew.microcache"
# With a builder, past this share of its life an entry is renewed by the builder:
# earlier than REFRESH_AFTER because on a busy core the builder takes a while to get
# to it (entries built together are asked for together: ~30 builds of 10-16 ms in a
# queue; asked at 0.75, the builder missed most of them on half a core). Should it
# not deliver by REFRESH_AFTER (it is not running, or it falls behind), the entry is
# refreshed inline as without a builder: one build in a serving thread is better
# than the entry expiring and every request for it waiting for a build.
ASK_AFTER = 0.5
# With a builder, a serving process looks in the shared cache for a younger entry at
# most this often per URL while its own is past ASK_AFTER (a look is a Redis round
# trip; a hit is a dictionary lookup).
LOOK_EVERY = 0.1
# The contract with the builder (leaderboard/microcache_builder.py): the Redis list
# it pops requests from, and the seconds a renewal claim (``"renew:" + key`` in the
# cache, cleared by whoever renews) holds off other askers.
QUEUE = "glew:microcache:renew"
CLAIM_SECONDS = 5
# The only request keys the builder gets (never cookies or Authorization: such
# requests are never cached). Accept* are kept because a response may depend on them,
# as the request that asked would have had it.
BUILD_ENVIRON = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "HTTP_HOST",
    "HTTP_ACCEPT",
    "HTTP_ACCEPT_ENCODING",
    "HTTP_ACCEPT_LANGUAGE",
    "wsgi.url_scheme",
)


class Microcache:
    """WSGI middleware: ``application = Microcache(get_wsgi_application())``."""

    def __init__(self, app, builder: bool | None = None) -> None:
        """``builder``: whether a builder process renews fresh entries (by default
        when ``GLEW_MICROCACHE_BUILDER`` is 1, as deploy/serve_web.py sets it)."""
        self.app = app
        self.local: dict[str, tuple[float, str, list, bytes]] = {}
        self.local_bytes = 0
        self.building: dict[str, threading.Event] = {}  # set when built
        if builder is None:
            builder = os.environ.get("GLEW_MICROCACHE_BUILDER") == "1"
        self.builder = builder
        self.looked: dict[str, float] = {}  # key -> when the shared cache was asked
        self._queue = None

    def __call__(self, environ: dict, start_response):
        seconds = settings.GLEW_MICROCACHE_SECONDS
        if not seconds or not self._cacheable(environ):
            environ[OUTCOME] = "uncached"
            return self.app(environ, start_response)
        key = key_of(environ)
        now = time.time()
        entry = self.local.get(key)
        age = now - entry[0] if entry is not None else seconds
        if age < (ASK_AFTER if self.builder else REFRESH_AFTER) * seconds:
            environ[OUTCOME] = "hit"
        elif self.builder and age < REFRESH_AFTER * seconds:
            entry = self._ask(key, entry, environ, now)
        else:
            entry, result = self._renew(key, entry, environ, start_response, seconds)
            if result is not None:
                return result
        _, status, headers, body = entry
        start_response(status, headers)
        return [body]

    def _renew(self, key: str, entry, environ: dict, start_response, seconds):
        """An entry past its refresh point (or none): take a younger entry from the
        shared level, or run Django, once per process and URL at a time. While one
        thread renews a still-fresh entry the others go on serving it (and another
        process, holding the claim in the shared cache, leaves it alone); a thread
        that finds an expired entry being built waits for it. Returns (entry to
        serve, None) or (None, Django's response)."""
        now = time.time()
        age = now - entry[0] if entry is not None else seconds
        mine = threading.Event()
        other = self.building.setdefault(key, mine)
        if other is not mine:
            if age < seconds:
                environ[OUTCOME] = "hit"
                return entry, None
            other.wait(WAIT_SECONDS)
            entry = self.local.get(key)
            if entry is not None and time.time() - entry[0] < seconds:
                environ[OUTCOME] = "waited"
                return entry, None
            environ[OUTCOME] = "miss"  # what was built may not be shared (a 404)
            return None, self._build(key, environ, start_response, seconds)
        try:
            shared = cache.get(key)
            if shared is not None and now - shared[0] < min(age, seconds):
                self._keep(key, shared)
                environ[OUTCOME] = "hit-shared"
                return shared, None
            if age >= seconds:
                environ[OUTCOME] = "miss"
                return None, self._build(key, environ, start_response, seconds)
            # With a builder it holds "renew:" while asked; this is the fallback.
            claim = ("refresh:" if self.builder else "renew:") + key
            if not cache.add(claim, 1, 5):  # another process renews it
                environ[OUTCOME] = "hit"
                return entry, None
            environ[OUTCOME] = "refresh"
            try:
                return None, self._build(key, environ, start_response, seconds)
            finally:
                cache.delete(claim)
        finally:
            del self.building[key]
            mine.set()

    def _ask(self, key: str, entry: tuple, environ: dict, now: float) -> tuple:
        """A fresh entry past ASK_AFTER with a builder: serve it, and (at most once
        per LOOK_EVERY in this process) take the builder's younger entry from the
        shared cache, or ask the builder for one unless someone already has."""
        environ[OUTCOME] = "hit"
        if now - self.looked.get(key, 0.0) < LOOK_EVERY:
            return entry
        self.looked[key] = now
        shared = cache.get(key)
        if shared is not None and shared[0] > entry[0]:
            self._keep(key, shared)
            environ[OUTCOME] = "hit-shared"
            return shared
        if cache.add("renew:" + key, 1, CLAIM_SECONDS):
            if self._queue is None:
                import redis

                self._queue = redis.Redis.from_url(settings.GLEW_CACHE_URL)
            ask(self._queue, environ)
            environ[OUTCOME] = "asked"
        return entry

    def _build(self, key: str, environ: dict, start_response, seconds: float):
        """Run Django; store the response when it may be shared."""
        result, entry = build(self.app, environ, start_response)
        if entry is None:
            return result
        self._keep(key, entry)
        cache.set(key, entry, int(seconds) + 1)
        return [entry[3]]

    def _keep(self, key: str, entry: tuple) -> None:
        """Keep an entry in this process (the byte count is approximate under
        threads, which is all a bound needs)."""
        old = self.local.get(key)
        grows = len(entry[3]) - (len(old[3]) if old is not None else 0)
        if self.local_bytes + grows > LOCAL_BYTES:
            self.local.clear()
            self.local_bytes, grows = 0, len(entry[3])
        self.local[key] = entry
        self.local_bytes += grows

    @staticmethod
    def _cacheable(environ: dict) -> bool:
        return (
            environ["REQUEST_METHOD"] == "GET"
            and "HTTP_AUTHORIZATION" not in environ
            and settings.SESSION_COOKIE_NAME + "=" not in environ.get("HTTP_COOKIE", "")
            and CACHEABLE.match(environ["PATH_INFO"]) is not None
        )


def key_of(environ: dict) -> str:
    """The cache key of a request: its path and query string."""
    query = environ.get("QUERY_STRING")
    return "micro:" + environ["PATH_INFO"] + ("?" + query if query else "")


def build(app, environ: dict, start_response) -> tuple:
    """Run Django: (its response, the entry to store or None). Only a 200 that sets
    no cookie and does not stream is an entry: (born, status, headers, body), born
    being when the build started, so its age never understates what it shows."""
    born = time.time()
    sent: list = []

    def capture(status, headers, exc_info=None):
        sent[:] = [status, headers]
        return start_response(status, headers, exc_info)

    result = app(environ, capture)
    status, headers = sent
    if (
        not status.startswith("200 ")
        or getattr(result, "streaming", True)
        or any(name.lower() == "set-cookie" for name, _ in headers)
    ):
        return result, None
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return [body], (born, status, list(headers), body)


def ask(queue, environ: dict) -> None:
    """Ask the builder to renew this request's entry: push the request's cacheable
    part (BUILD_ENVIRON) onto QUEUE. The list is trimmed, so a builder that is not
    running leaves a bounded list behind (the asker holds the renewal claim, which
    expires after CLAIM_SECONDS, or the builder clears it)."""
    request = {name: environ[name] for name in BUILD_ENVIRON if name in environ}
    queue.rpush(QUEUE, json.dumps(request))
    queue.ltrim(QUEUE, -1000, -1)


def request_environ(message: bytes | str) -> dict:
    """The builder's side of ``ask``: a WSGI environ for one GET, with no body."""
    environ = {
        name: value
        for name, value in json.loads(message).items()
        if name in BUILD_ENVIRON
    }
    environ.update(
        {
            "REQUEST_METHOD": "GET",
            "wsgi.input": io.BytesIO(),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
    )
    environ.setdefault("SCRIPT_NAME", "")
    environ.setdefault("QUERY_STRING", "")
    environ.setdefault("wsgi.url_scheme", "http")
    return environ
