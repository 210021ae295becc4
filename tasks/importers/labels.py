"""Turning a label cell of a release file into our label, one way for every importer.

Class names become indices into the task's labels; numbers must be finite and, when
the task declares a range, inside it. A bad cell raises the importer's own error
(``fail(message)``), which names file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from tasks.errors import ImportFormatError
from tasks.specs import TaskSpec


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
