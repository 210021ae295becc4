"""Receive uploaded files with a hard size cap, counting bytes as they arrive.

Django's default upload handlers write the whole request body to a temporary file
before the view runs, whatever its size, so a size check in the view comes after a
stranger has already filled the disk. :class:`CappedUploadHandler` (the only entry
of ``FILE_UPLOAD_HANDLERS``) refuses a body whose declared length is over
``GLEW_MAX_UPLOAD_BYTES`` before reading a byte of it, and otherwise streams each
file to a private ``glew-upload-*`` temporary file, counting, and stops the moment
the count passes the cap: the partial file is removed and :class:`UploadTooLarge`
is raised. The API turns that into ``413 {"error", "code": "upload.too_large"}``
(``leaderboard.errors``); the HTML pages get a plain 413 page from
:func:`bad_request`, installed as ``handler400``.
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views import defaults

from tasks.errors import GlewError, UserError

TEMP_PREFIX = "glew-upload-"
FORM_SLACK_BYTES = 1024 * 1024
"""Room for the form's other fields and multipart boundaries in a declared length."""


class UploadTooLarge(RequestDataTooBig, UserError):
    """The request body is over the upload cap (a user error, HTTP 413).

    Also a ``RequestDataTooBig`` so that Django, when the body is first read by a
    middleware (CSRF on the HTML forms), answers 400 through ``handler400`` instead
    of a 500.
    """

    def __init__(self, max_bytes: int) -> None:
        GlewError.__init__(
            self,
            "upload.too_large",
            f"The upload is larger than the limit of {max_bytes:,} bytes "
            f"({max_bytes / 1024**3:.1f} GiB); nothing was kept.",
        )


def max_upload_bytes() -> int:
    return int(settings.GLEW_MAX_UPLOAD_BYTES)


class _CappedUploadedFile(TemporaryUploadedFile):
    """A finished upload in its ``glew-upload-*`` file, removed when closed."""

    def __init__(self, file, name, content_type, size, charset, extra) -> None:
        UploadedFile.__init__(self, file, name, content_type, size, charset, extra)


class CappedUploadHandler(FileUploadHandler):
    """Stream every uploaded file to disk, never past ``GLEW_MAX_UPLOAD_BYTES``.

    The cap counts all files of one request together. Nothing is held in memory
    beyond one chunk; the temporary file is deleted on refusal, on an interrupted
    upload and when the request ends.
    """

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.max_bytes = max_upload_bytes()
        self.received = 0
        # Not ``self.file``: Django's parser closes any handler's ``file`` itself.
        self._temp = None

    def handle_raw_input(
        self, input_data, META, content_length, boundary, encoding=None
    ):
        if content_length and content_length > self.max_bytes + FORM_SLACK_BYTES:
            raise UploadTooLarge(self.max_bytes)
        return None

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self._temp = tempfile.NamedTemporaryFile(
            prefix=TEMP_PREFIX, suffix=".upload", dir=settings.FILE_UPLOAD_TEMP_DIR
        )
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self._discard()
            raise UploadTooLarge(self.max_bytes)
        self._temp.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedFile:
        self._temp.seek(0)
        uploaded = _CappedUploadedFile(
            self._temp,
            self.file_name,
            self.content_type,
            file_size,
            self.charset,
            self.content_type_extra,
        )
        self._temp = None
        return uploaded

    def upload_interrupted(self) -> None:
        self._discard()

    def _discard(self) -> None:
        if self._temp is not None:
            self._temp.close()  # a NamedTemporaryFile: closing removes it
            self._temp = None


def too_large_response(request: HttpRequest, error: UploadTooLarge) -> HttpResponse:
    """413 in plain words: JSON for the API and scripts, a short page otherwise."""
    wants_json = request.path.startswith("/api/") or (
        request.headers.get("X-Requested-With") == "XMLHttpRequest"
    )
    if wants_json:
        return JsonResponse({"error": error.message, "code": error.code}, status=413)
    return HttpResponse(
        f"<!doctype html><title>Upload too large</title><h1>Upload too large</h1>"
        f"<p>{escape(error.message)}</p><p><a href='/submit/'>Back</a></p>",
        status=413,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler400``: the upload cap gets its own 413 answer; the rest Django's."""
    if isinstance(exception, UploadTooLarge):
        return too_large_response(request, exception)
    return defaults.bad_request(request, exception)
