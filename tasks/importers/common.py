"""What every importer does the same way: find each split's file, decode a release
file, parse a label cell.

Text must be UTF-8; a file that is not says at which line it breaks. Class names
become indices into the task's labels; numbers must be finite and, when the task
declares a range, inside it. A bad cell raises the importer's own error
(``fail(message)``), which names file and line.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

from tasks.errors import ImportFormatError
from tasks.specs import TaskSpec


def non_empty_str(value: object) -> bool:
    """True for a string that is not empty (an importer option's usual check)."""
    return isinstance(value, str) and value != ""


def check_options(
    options: Mapping[str, object], checks: Mapping[str, Callable[[object], bool]]
) -> dict[str, object]:
    """A copy of an importer's ``importer_options`` after checking each against
    ``checks`` (option name -> predicate); an unknown option or a wrong value
    raises ValueError naming it, which the spec loader reports with its line."""
    for key, value in options.items():
        if key not in checks:
            raise ValueError(f"unknown option {key!r} in importer_options")
        if not checks[key](value):
            raise ValueError(f"option {key!r} has a wrong value: {value!r}")
    return dict(options)


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


def missing_split(
    task: TaskSpec, split: str, where: str | Path, *, kind: str = "file"
) -> ImportFormatError:
    """The error for a split whose file (or folder) is not where the task says."""
    return ImportFormatError(
        "import.missing_file",
        f"missing: {task.name} needs its {split} split from this {kind}",
        file=where,
    )


def split_files(
    task: TaskSpec,
    folder: Path,
    *,
    required: Iterable[str] | None = None,
    kind: str = "file",
) -> Iterator[tuple[str, Path]]:
    """Each declared split of ``task`` with its path under ``folder``, in order.

    A split whose file (``kind="folder"``: folder) is missing is an error naming it
    when it is ``required`` (every split by default), and is left out otherwise.
    """
    needed = set(task.splits if required is None else required)
    for split in task.splits:
        path = folder / task.files[split]
        present = path.is_dir() if kind == "folder" else path.is_file()
        if present:
            yield split, path
        elif split in needed:
            raise missing_split(task, split, path, kind=kind)
