"""The lines the program prints that the worker reads, and how it exits.

Progress lines go to stdout as they happen and become the evaluation's live
status; on failure the program's last stderr line names a stable error code and
a message, and its exit status says which kind of failure it was. The program
in the sandbox may be hostile, so parsing never trusts a line's shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

PROGRESS_PREFIX = "GLEW_PROGRESS "
"""Starts a stdout line of live status: the rest is one JSON object (``stage``,
``step``, ``total_steps``, ``loss``, ``examples_per_s``, ...)."""

ERROR_PREFIX = "GLEW_ERROR "
"""Starts the program's last stderr line on failure: ``{"code", "message"}``."""

EXIT_CRASHED, EXIT_BAD_INPUT, EXIT_OUT_OF_MEMORY = 1, 2, 3
"""Exit statuses: 1 ``execute.crashed`` (anything unexpected), 2 the spec, the model
folder or the data is wrong (``execute.bad_*``), 3 ``execute.out_of_memory``."""

OUT_OF_MEMORY_CODE = "execute.out_of_memory"
"""The error code of a batch that did not fit; the worker retries it at half the
batch with twice the gradient accumulation (the same effective batch)."""

_CODE_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
MAX_CODE_CHARS = 100
MAX_MESSAGE_CHARS = 2000
"""A program's own error is untrusted text: longer codes are refused, longer
messages cut."""


def format_progress(**fields: Any) -> str:
    """One progress line (print it to stdout, flushed, as it happens)."""
    return PROGRESS_PREFIX + json.dumps(fields)


def parse_progress(line: str) -> dict[str, Any] | None:
    """The fields of a progress line; None for any other or a malformed line."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    try:
        fields = json.loads(line[len(PROGRESS_PREFIX) :])
    except ValueError:
        return None
    return fields if isinstance(fields, dict) else None


def format_error(code: str, message: str) -> str:
    """The error line the program prints last on stderr before a non-zero exit."""
    return ERROR_PREFIX + json.dumps({"code": code, "message": message})


def parse_error(line: str | None) -> tuple[str, str] | None:
    """``(code, message)`` of a well-formed error line, else None.

    The program in the sandbox may be hostile, so the code must look like one of
    ours (dotted lowercase, at most 100 characters) and the message is cut at
    2000 characters (a message that is not text becomes the code).
    """
    if line is None or not line.startswith(ERROR_PREFIX):
        return None
    try:
        data = json.loads(line[len(ERROR_PREFIX) :])
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    code, message = data.get("code"), data.get("message")
    if (
        not isinstance(code, str)
        or not _CODE_RE.match(code)
        or len(code) > MAX_CODE_CHARS
    ):
        return None
    if not isinstance(message, str):
        message = code
    return code, message[:MAX_MESSAGE_CHARS]
