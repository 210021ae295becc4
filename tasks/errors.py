"""The error types every Glew layer raises.

One base class with a stable dotted ``code`` lets the web layer turn any failure into
``{"error": message, "code": code}`` without knowing where it came from; the two
subclasses say whose fault it was (the user's: HTTP 4xx, ours: HTTP 5xx or a failed
evaluation with a reason).
"""

from __future__ import annotations

from pathlib import Path


class GlewError(Exception):
    """A failure with a stable machine-readable ``code`` and a message for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class UserError(GlewError):
    """The request or the uploaded material is wrong; retrying the same will fail."""


class PlatformError(GlewError):
    """Something on our side is wrong or unavailable; the user did nothing wrong."""


class CatalogueError(PlatformError):
    """A catalogue spec file is invalid.

    The catalogue ships with the code, so a bad spec is our fault; the message names
    the file (and the task, where there is one) so the fix is one click away.

    ``table`` (the TOML table's path, ``("tasks", "one")``; ``()`` for the top) and
    ``key`` say where in the spec the mistake is, so a spec read from text can name
    its line (``tasks.spec_files.parse_spec_text``); ``line`` is that line, once
    known, and is then part of the message.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        file: str | Path,
        task: str | None = None,
        table: tuple[str, ...] = (),
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file)
        self.task = task
        self.table = tuple(table)
        self.key = key
        self.line = line
        self.detail = message
        where = self.file if line is None else f"{self.file}, line {line}"
        if task is not None:
            where = f"{where}: task {task!r}"
        super().__init__(code, f"{where}: {message}")

    def at_line(self, line: int | None) -> CatalogueError:
        """The same error, naming ``line`` (a new error: this one is unchanged)."""
        return type(self)(
            self.code,
            self.detail,
            file=self.file,
            task=self.task,
            table=self.table,
            key=self.key,
            line=line,
        )


class ImportFormatError(UserError):
    """An original dataset file does not have the layout its task declares.

    The message always names the file, and the line when one is to blame, because
    the person fixing it has the file open in an editor, not our code.
    """

    def __init__(
        self,
        code: str,
        message: str,
        *,
        file: str | Path,
        line: int | None = None,
    ) -> None:
        self.file = str(file)
        self.line = line
        where = self.file if line is None else f"{self.file}, line {line}"
        super().__init__(code, f"{where}: {message}")
