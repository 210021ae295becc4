"""Rate limits on logins and uploads, counted in Django's cache.

Failed logins are counted per client IP and username (``GLEW_LOGIN_ATTEMPTS`` in
``GLEW_LOGIN_WINDOW_S``), and per IP alone at five times that, so guessing one
account's password or spraying many accounts from one address both stop; the
page login and ``POST /api/v1/auth/token`` share the counters. Uploads are counted
per user per minute (``GLEW_UPLOADS_PER_MINUTE``), refused or not, so a stream of
hostile archives costs its sender too. Counters are fixed windows in the default
cache: per process with the default LocMemCache, shared by all web processes when
``GLEW_CACHE_URL`` points at Redis (what a deployment with several processes needs).
The client IP is ``REMOTE_ADDR``: behind a proxy, have the application server set
it from the proxy's header (gunicorn ``--forwarded-allow-ips``), never trust a
header the client sends.
"""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils.html import escape

from tasks.errors import UserError

IP_FACTOR = 5


class RateLimited(UserError):
    """Too many attempts; ``retry_after`` says in how many seconds to try again."""

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


def _key(scope: str, *parts: object) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"ratelimit:{scope}:{digest[:40]}"


def _count(key: str) -> int:
    return int(cache.get(key, 0))


def _hit(key: str, window: int) -> int:
    cache.add(key, 0, timeout=window)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return 1


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _login_keys(request: HttpRequest, username: str) -> list[tuple[str, int]]:
    limit = settings.GLEW_LOGIN_ATTEMPTS
    ip = client_ip(request)
    return [
        (_key("login", ip, (username or "").strip().lower()), limit),
        (_key("login-ip", ip), limit * IP_FACTOR),
    ]


def login_check(request: HttpRequest, username: str) -> None:
    """Refuse a login attempt once too many have failed recently."""
    window = settings.GLEW_LOGIN_WINDOW_S
    for key, limit in _login_keys(request, username):
        if _count(key) >= limit:
            raise RateLimited(
                "limits.too_many_logins",
                f"Too many failed logins from your address. Wait {window // 60} "
                "minutes, then try again (or reset your password with an admin).",
                retry_after=window,
            )


def login_failed(request: HttpRequest, username: str) -> None:
    """Count one failed login against the IP+username and the IP."""
    for key, _limit in _login_keys(request, username):
        _hit(key, settings.GLEW_LOGIN_WINDOW_S)


def upload_check(*, user) -> None:
    """Count one upload by ``user``; refuse it past the per-minute limit."""
    limit = settings.GLEW_UPLOADS_PER_MINUTE
    if _hit(_key("upload", user.pk), 60) > limit:
        raise RateLimited(
            "limits.too_many_uploads",
            f"You have uploaded {limit} models in the last minute, the most "
            "allowed. Wait a minute, then try again.",
            retry_after=60,
        )


def rate_limited_response(error: RateLimited, *, json: bool) -> HttpResponse:
    """HTTP 429 with the reason in plain words and a ``Retry-After`` header."""
    if json:
        from django.http import JsonResponse

        response: HttpResponse = JsonResponse(
            {"error": error.message, "code": error.code}, status=429
        )
    else:
        response = HttpResponse(
            "<!doctype html><title>Too many attempts</title><h1>Too many attempts"
            f"</h1><p>{escape(error.message)}</p>",
            status=429,
        )
    response["Retry-After"] = str(error.retry_after)
    return response


class LoginView(auth_views.LoginView):
    """Django's login page, with failed attempts counted and limited."""

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        try:
            login_check(request, username)
        except RateLimited as error:
            return rate_limited_response(error, json=False)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        login_failed(self.request, self.request.POST.get("username", ""))
        return super().form_invalid(form)
