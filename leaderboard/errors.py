"""One place that turns errors into HTTP answers: ``{"error": ..., "code": ...}``.

User errors (``tasks.errors.UserError``) become 4xx with their plain-words message;
platform errors become 5xx; DRF's own errors (authentication, parsing, permissions)
are reshaped to the same JSON so a client needs only one error format.
"""

import logging

from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tasks.errors import GlewError, UserError

log = logging.getLogger("glew.api")

# Codes whose HTTP status is not the default 400 of a user error.
STATUS_BY_CODE = {
    "auth.forbidden": status.HTTP_403_FORBIDDEN,
    "auth.required": status.HTTP_401_UNAUTHORIZED,
    "not_found": status.HTTP_404_NOT_FOUND,
    "upload.too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "limits.daily_quota": status.HTTP_429_TOO_MANY_REQUESTS,
    "limits.too_many_logins": status.HTTP_429_TOO_MANY_REQUESTS,
    "limits.too_many_uploads": status.HTTP_429_TOO_MANY_REQUESTS,
}


def http_status_for(error: GlewError) -> int:
    """The HTTP status of a Glew error: 4xx for the user's, 500 for ours."""
    if error.code in STATUS_BY_CODE:
        return STATUS_BY_CODE[error.code]
    if error.code.endswith(".not_found"):
        return status.HTTP_404_NOT_FOUND
    if isinstance(error, UserError):
        return status.HTTP_400_BAD_REQUEST
    return status.HTTP_500_INTERNAL_SERVER_ERROR


def _flatten_detail(detail: object) -> str:
    if isinstance(detail, dict):
        parts = []
        for key, value in detail.items():
            text = _flatten_detail(value)
            parts.append(text if key == "non_field_errors" else f"{key}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list):
        return " ".join(_flatten_detail(item) for item in detail)
    return str(detail)


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF exception handler: every API error is ``{"error", "code"}`` JSON."""
    if isinstance(exc, GlewError):
        code = http_status_for(exc)
        if code >= 500:
            log.error("platform error %s: %s", exc.code, exc.message)
        return Response({"error": exc.message, "code": exc.code}, status=code)
    if isinstance(exc, Http404):
        return Response(
            {"error": "Not found.", "code": "not_found"},
            status=status.HTTP_404_NOT_FOUND,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        response.data = {"error": _flatten_detail(exc.detail), "code": f"api.{code}"}
    return response
