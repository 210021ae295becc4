"""A short-lived cache of whole anonymous responses, in front of everything else.

Under load most requests are anonymous reads of the same few leaderboard URLs. This
middleware answers a repeat of such a request from the cache before sessions,
authentication, CSRF or the view run, so a busy leaderboard costs one cache lookup
per request. Entries live ``GLEW_MICROCACHE_SECONDS`` (default 2, the polling period
of the live pages): a change shows within that time. Requests with a session cookie
or an Authorization header, and responses that set cookies, are never cached.
"""

import re
import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

CACHEABLE = re.compile(
    r"^/(?:"
    r"|suites/[\w-]+/"
    r"|tasks/[\w-]+/[\w-]+/"
    r"|api/v1/suites(?:/[\w-]+)?"
    r"|api/v1/leaderboards/[\w-]+"
    r"|api/v1/submissions/\d+"
    r")$"
)


class AnonymousMicrocacheMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        seconds = getattr(settings, "GLEW_MICROCACHE_SECONDS", 0)
        if not seconds or not self._cacheable(request):
            return self.get_response(request)
        key = f"micro:{request.get_full_path()}"
        hit = cache.get(key)
        if hit is not None and time.monotonic() - hit[3] < seconds:
            content, content_type, headers, _ = hit
            response = HttpResponse(content, content_type=content_type)
            for name, value in headers:
                response[name] = value
            return response
        response = self.get_response(request)
        if (
            response.status_code == 200
            and not response.streaming
            and not response.cookies
            and "Set-Cookie" not in response
        ):
            headers = [
                (name, value)
                for name, value in response.items()
                if name.lower() in ("content-disposition", "vary")
            ]
            cache.set(
                key,
                (response.content, response["Content-Type"], headers, time.monotonic()),
                seconds + 1,
            )
        return response

    @staticmethod
    def _cacheable(request: HttpRequest) -> bool:
        return (
            request.method == "GET"
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and "HTTP_AUTHORIZATION" not in request.META
            and CACHEABLE.match(request.path) is not None
        )
