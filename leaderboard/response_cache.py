"""Whole responses of the busiest read-only pages, cached until their data changes.

A leaderboard read by many people at once is the same bytes for each anonymous
visitor until a row, the suite's data or a task version changes; the key carries the
suites' stamps (``standings.cache.suite_stamp``), so a change makes a new key and
nothing is ever served stale. Only anonymous requests are cached: pages for a
signed-in user carry their name and a CSRF token.
"""

from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse

CACHE_SECONDS = 300


def cached_anonymous(
    request: HttpRequest, *, stamps: list[str], build: Callable[[], HttpResponse]
) -> HttpResponse:
    """``build()`` once per URL and data state for anonymous GETs; else build."""
    if request.method != "GET" or request.user.is_authenticated:
        return build()
    key = "page:" + "|".join([request.get_full_path(), *stamps])
    hit = cache.get(key)
    if hit is not None:
        content, content_type, headers = hit
        response = HttpResponse(content, content_type=content_type)
        for name, value in headers:
            response[name] = value
        return response
    response = build()
    if response.status_code == 200 and not response.streaming:
        if hasattr(response, "render") and not response.is_rendered:
            response.render()
        headers = [
            (name, value)
            for name, value in response.items()
            if name.lower() in ("content-disposition",)
        ]
        cache.set(
            key,
            (response.content, response["Content-Type"], headers),
            CACHE_SECONDS,
        )
    return response
