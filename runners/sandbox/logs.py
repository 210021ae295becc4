"""The program's output: streamed to the job log (capped), a tail, ``on_line``.

The program is untrusted, so its output is read in raw chunks with a deadline
(:func:`pump`), cut into lines no longer than ``MAX_LINE_BYTES``, and written to
the log only up to ``LOG_CAP_BYTES``; the tail and every line still reach the
caller.
"""

from __future__ import annotations

import collections
import os
import selectors
import time
from collections.abc import Callable
from pathlib import Path

from runners.contract import ERROR_PREFIX
from runners.sandbox.limits import Child

LOG_CAP_BYTES = 5 * 1024 * 1024
TAIL_LINES = 200
TAIL_CHARS = 20_000
MAX_LINE_BYTES = 64 * 1024
"""A longer "line" is cut into pieces, so one endless line cannot exhaust memory."""


class LogSink:
    """Writes lines to the job log up to a cap, keeps a tail, feeds ``on_line``."""

    def __init__(self, path: Path, on_line: Callable[[str], None] | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # closed in close()
        self._on_line = on_line
        self._written = 0
        self._dropped = 0
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        # The program's last error line (runners.contract): only the last one
        # counts, since it comes after anything the program printed by mistake.
        self.last_error: str | None = None

    def note(self, text: str) -> None:
        """A line from Glew itself: always written, never counted against the cap."""
        self._file.write(text.encode() + b"\n")
        self._file.flush()
        self.tail.append(text)

    def line(self, raw: bytes) -> None:
        """One line of the program's output (undecodable bytes replaced)."""
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        data = text.encode() + b"\n"
        if self._written + len(data) <= LOG_CAP_BYTES and not self._dropped:
            self._file.write(data)
            self._written += len(data)
        else:
            self._dropped += len(data)
        self.tail.append(text)
        if text.startswith(ERROR_PREFIX):
            self.last_error = text
        if self._on_line is not None:
            self._on_line(text)

    def close(self) -> None:
        if self._dropped:
            self._file.write(f"[log truncated: {self._dropped} more bytes]\n".encode())
        self._file.close()

    def tail_text(self) -> str:
        return "\n".join(self.tail)[-TAIL_CHARS:]


def pump(child: Child, sink: LogSink, deadline: float) -> bool:
    """Stream output until the program ends; False when the deadline passed.

    Reads raw chunks (not ``readline``) so that a program printing one endless line
    cannot make the worker buffer it all. Stops reading shortly after the program
    exits even if something it left behind still holds the pipe.
    """
    assert child.proc.stdout is not None
    fd = child.proc.stdout.fileno()
    os.set_blocking(fd, False)
    buf = b""
    exited_at: float | None = None
    in_time = True
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                in_time = exited_at is not None
                break
            if exited_at is None and child.reap():
                exited_at = now
            if exited_at is not None and now - exited_at > 1.0:
                break
            if not sel.select(timeout=min(0.2, deadline - now)):
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                sink.line(line)
            while len(buf) > MAX_LINE_BYTES:
                sink.line(buf[:MAX_LINE_BYTES])
                buf = buf[MAX_LINE_BYTES:]
    if buf:
        sink.line(buf)
    return in_time
