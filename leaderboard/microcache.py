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
``GLEW_MICROCACHE_SECONDS`` (default 5; settings.py says why) after
that, from either level: a change shows to anonymous readers within that time.
Requests with a session cookie or an Authorization header are never answered from
the cache, and only 200 responses that set no cookie are stored (with every header
Django sent, so the security headers are the same on a hit).
"""

import re
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
# expiry), miss, or uncached.
OUTCOME = "glew.microcache"


class Microcache:
    """WSGI middleware: ``application = Microcache(get_wsgi_application())``."""

    def __init__(self, app) -> None:
        self.app = app
        self.local: dict[str, tuple[float, str, list, bytes]] = {}
        self.local_bytes = 0
        self.building: dict[str, threading.Event] = {}  # set when built

    def __call__(self, environ: dict, start_response):
        seconds = settings.GLEW_MICROCACHE_SECONDS
        if not seconds or not self._cacheable(environ):
            environ[OUTCOME] = "uncached"
            return self.app(environ, start_response)
        query = environ.get("QUERY_STRING")
        key = "micro:" + environ["PATH_INFO"] + ("?" + query if query else "")
        now = time.time()
        entry = self.local.get(key)
        age = now - entry[0] if entry is not None else seconds
        if age < REFRESH_AFTER * seconds:
            environ[OUTCOME] = "hit"
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
            if not cache.add("renew:" + key, 1, 5):  # another process renews it
                environ[OUTCOME] = "hit"
                return entry, None
            environ[OUTCOME] = "refresh"
            try:
                return None, self._build(key, environ, start_response, seconds)
            finally:
                cache.delete("renew:" + key)
        finally:
            del self.building[key]
            mine.set()

    def _build(self, key: str, environ: dict, start_response, seconds: float):
        """Run Django; store the response when it may be shared."""
        born = time.time()
        sent: list = []

        def capture(status, headers, exc_info=None):
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        result = self.app(environ, capture)
        status, headers = sent
        if (
            not status.startswith("200 ")
            or getattr(result, "streaming", True)
            or any(name.lower() == "set-cookie" for name, _ in headers)
        ):
            return result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        entry = (born, status, list(headers), body)
        self._keep(key, entry)
        cache.set(key, entry, int(seconds) + 1)
        return [body]

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
