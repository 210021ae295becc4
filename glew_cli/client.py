"""A small HTTP client of the Glew REST API on the standard library (urllib).

Uploads are streamed from disk (a multipart body read in chunks, never held in
memory) with a progress callback; errors come back as ``ApiError`` with the server's
plain-words message and stable code.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import IO

CHUNK = 1024 * 1024


class ApiError(Exception):
    def __init__(self, message: str, code: str, status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


class MultipartStream:
    """A multipart/form-data body: fields, then one file streamed from disk.

    ``http.client`` sends any object with ``read``; ``len(stream)`` is the exact
    Content-Length, so the server can refuse an oversize upload before reading it.
    """

    def __init__(
        self,
        fields: dict[str, str],
        *,
        file_field: str,
        path: Path,
        progress: Callable[[int], None] | None = None,
    ):
        self.boundary = f"glew-{uuid.uuid4().hex}"
        head = b""
        for name, value in fields.items():
            head += (
                f"--{self.boundary}\r\n"
                f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n"
            ).encode()
        head += (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{file_field}"; '
            f'filename="{path.name}"\r\n'
            "Content-Type: application/zip\r\n\r\n"
        ).encode()
        self._parts: list[bytes | IO[bytes]] = [
            head,
            path.open("rb"),
            f"\r\n--{self.boundary}--\r\n".encode(),
        ]
        self._length = len(head) + path.stat().st_size + len(self._parts[2])
        self._progress = progress

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        size = CHUNK if size is None or size < 0 else size
        while self._parts:
            part = self._parts[0]
            if isinstance(part, bytes):
                chunk, rest = part[:size], part[size:]
                if rest:
                    self._parts[0] = rest
                else:
                    self._parts.pop(0)
            else:
                chunk = part.read(size)
                if not chunk:
                    part.close()
                    self._parts.pop(0)
                    continue
            if self._progress:
                self._progress(len(chunk))
            return chunk
        return b""


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 60):
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def _request(
        self,
        method: str,
        path: str,
        *,
        body=None,
        content_type: str | None = None,
        params: dict | None = None,
        length: int | None = None,
    ):
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(
                {k: v for k, v in params.items() if v not in (None, "")}
            )
        request = urllib.request.Request(url, data=body, method=method)
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        if content_type:
            request.add_header("Content-Type", content_type)
        if length is not None:
            request.add_header("Content-Length", str(length))
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as error:
            raw = error.read()
            try:
                data = json.loads(raw)
                message, code = data["error"], data["code"]
            except (ValueError, KeyError, TypeError):
                message = raw.decode(errors="replace")[:300] or error.reason
                code = f"http.{error.code}"
            raise ApiError(message, code, error.code) from None
        except urllib.error.URLError as error:
            raise ApiError(
                f"Cannot reach {self.url}: {error.reason}", "client.unreachable"
            ) from None

    def json(self, method: str, path: str, data: dict | None = None, **kwargs):
        body = json.dumps(data).encode() if data is not None else None
        with self._request(
            method,
            path,
            body=body,
            content_type="application/json" if body else None,
            **kwargs,
        ) as response:
            return json.loads(response.read())

    def text(self, path: str, **kwargs) -> str:
        with self._request("GET", path, **kwargs) as response:
            return response.read().decode()

    def download(self, path: str, out: Path, **kwargs) -> int:
        """Stream a response body to ``out``; returns the bytes written."""
        written = 0
        tmp = out.with_name(out.name + ".part")
        with self._request("GET", path, **kwargs) as response, tmp.open("wb") as f:
            while chunk := response.read(CHUNK):
                f.write(chunk)
                written += len(chunk)
        os.replace(tmp, out)
        return written

    # --- calls ------------------------------------------------------------------

    def token_for(self, username: str, password: str) -> str:
        data = {"username": username, "password": password}
        return self.json("POST", "/api/v1/auth/token", data)["token"]

    def submit(
        self,
        archive: Path,
        fields: dict[str, str],
        progress: Callable[[int], None] | None = None,
    ) -> dict:
        stream = MultipartStream(
            fields, file_field="archive", path=archive, progress=progress
        )
        with self._request(
            "POST",
            "/api/v1/submissions",
            body=stream,
            content_type=stream.content_type,
            length=len(stream),
        ) as response:
            return json.loads(response.read())

    def submission(self, submission_id: int) -> dict:
        return self.json("GET", f"/api/v1/submissions/{submission_id}")
