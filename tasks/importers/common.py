"""What every importer does the same way: decode a release file, parse a label cell.

Text must be UTF-8; a file that is not says at which line it breaks. Class names
become indices into the task's labels; numbers must be finite and, when the task
declares a range, inside it. A bad cell raises the importer's own error
(``fail(message)``), which names file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path

from tasks.errors import ImportFormatError
from tasks.specs import TaskSpec


def decode_utf8(data: bytes, *, where: str | Path) -> str:
    """The file's text; ``import.not_utf8`` naming file and line if it is not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ImportFormatError(
            "import.not_utf8", "not valid UTF-8", file=where, line=line
        ) from exc


def parse_label(
    task: TaskSpec,
    raw: str,
    *,
    label_index: Mapping[str, int],
    label_range: tuple[float, float] | None,
    fail: Callable[[str], ImportFormatError],
) -> int | float:
    """The label of one row: a class index, or a finite score within range."""
    if task.labels is not None:
        if raw not in label_index:
            raise fail(f"unknown label {raw!r}; expected one of {list(task.labels)}")
        return label_index[raw]
    try:
        score = float(raw)
    except ValueError:
        raise fail(f"score {raw!r} is not a number") from None
    if not math.isfinite(score):
        raise fail(f"score {raw!r} is not a finite number")
    if label_range is not None and not label_range[0] <= score <= label_range[1]:
        raise fail(f"score {score} outside {list(label_range)}")
    return score
