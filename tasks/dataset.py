"""A task's rows in canonical form, with a content hash.

Whatever importer produced them, rows end up as ``{"idx": int, <text field>: str,
..., "label": int | float}`` (no ``"label"`` in unlabelled splits; a task scored per
group, ``group_field``, adds that field: a non-empty string). Canonical JSONL
(sorted keys, UTF-8, compact separators, one row per line) makes the bytes, and so
the sha256 that names a dataset version, depend only on the content. A token
task's row holds its words (a list) and one tag index per word (tasks.tagging).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from tasks.errors import ImportFormatError, UserError
from tasks.specs import TaskSpec


def canonical_line(row: Mapping[str, Any]) -> str:
    """One row as canonical JSON followed by a newline."""
    return (
        json.dumps(row, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        + "\n"
    )


@dataclass(frozen=True)
class Dataset:
    """The rows of one task, per split, validated against the task spec.

    Frozen so a dataset that has been hashed is not changed behind the hash's back;
    the row lists are copied on construction and must be treated as read-only.
    """

    task: TaskSpec
    splits: Mapping[str, list[dict[str, Any]]]

    def __post_init__(self) -> None:
        copied = {split: list(rows) for split, rows in self.splits.items()}
        if self.task.labels is None:
            # 5 and 5.0 are the same score but not the same canonical bytes.
            for rows in copied.values():
                for i, row in enumerate(rows):
                    label = row.get("label")
                    if isinstance(label, int) and not isinstance(label, bool):
                        rows[i] = {**row, "label": float(label)}
        if self.task.type == "multilabel_classification":
            # A label set has one canonical form: its class indices in order.
            for rows in copied.values():
                for i, row in enumerate(rows):
                    label = row.get("label")
                    if isinstance(label, list):
                        rows[i] = {**row, "label": sorted(label, key=_sort_key)}
        for split, rows in copied.items():
            _validate_split(self.task, split, rows)
        object.__setattr__(self, "splits", MappingProxyType(copied))

    def counts(self) -> dict[str, int]:
        """Number of rows per split."""
        return {split: len(rows) for split, rows in self.splits.items()}

    def label_distribution(self) -> dict[str, dict[str, float]]:
        """Per labelled split: count per label name, or min/mean/max for regression."""
        result: dict[str, dict[str, float]] = {}
        for split, rows in self.splits.items():
            if not self.task.is_labelled(split) or not rows:
                continue
            labels = [row["label"] for row in rows]
            if self.task.type == "token_classification":
                # Words carrying each tag.
                counter = Counter(i for tags in labels for i in tags)
                result[split] = {
                    name: counter.get(i, 0) for i, name in enumerate(self.task.labels)
                }
            elif self.task.type == "multilabel_classification":
                # Rows carrying each label (a row may count towards several).
                counter = Counter(i for label_set in labels for i in label_set)
                result[split] = {
                    name: counter.get(i, 0) for i, name in enumerate(self.task.labels)
                }
            elif self.task.labels is None:
                result[split] = {
                    "min": min(labels),
                    "mean": sum(labels) / len(labels),
                    "max": max(labels),
                }
            else:
                counter = Counter(labels)
                result[split] = {
                    name: counter.get(i, 0) for i, name in enumerate(self.task.labels)
                }
        return result

    def references(self, split: str) -> list[int | float]:
        """The labels of ``split`` in row order: what predictions are scored against."""
        rows = self._rows(split)
        if not self.task.is_labelled(split):
            raise UserError(
                "dataset.unlabelled_split", f"split {split!r} has no labels"
            )
        return [row["label"] for row in rows]

    def strip_labels(self, split: str) -> list[dict[str, Any]]:
        """Rows of ``split`` without ``"label"``: what a model may see."""
        return [
            {k: v for k, v in row.items() if k != "label"} for row in self._rows(split)
        ]

    def to_jsonl(self, split: str, *, with_labels: bool = True) -> bytes:
        """Canonical JSONL bytes of ``split``."""
        rows = self._rows(split) if with_labels else self.strip_labels(split)
        return "".join(canonical_line(row) for row in rows).encode("utf-8")

    def sha256(self) -> str:
        """Hex sha256 over each split by name order: name, newline, its JSONL."""
        digest = hashlib.sha256()
        for split in sorted(self.splits):
            digest.update(split.encode("utf-8") + b"\n")
            digest.update(self.to_jsonl(split))
        return digest.hexdigest()

    @classmethod
    def from_jsonl(cls, task: TaskSpec, files: Mapping[str, bytes]) -> Dataset:
        """Rebuild a dataset from canonical (or any valid) JSONL bytes per split."""
        splits: dict[str, list[dict[str, Any]]] = {}
        for split, data in files.items():
            name = f"{split}.jsonl"
            rows = []
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                raise ImportFormatError(
                    "import.not_utf8", "not valid UTF-8", file=name, line=line
                ) from exc
            for number, line_text in enumerate(text.splitlines(), start=1):
                try:
                    row = json.loads(line_text)
                except json.JSONDecodeError as exc:
                    raise ImportFormatError(
                        "import.bad_json",
                        f"not a JSON object: {exc.msg}",
                        file=name,
                        line=number,
                    ) from exc
                if not isinstance(row, dict):
                    raise ImportFormatError(
                        "import.bad_json", "not a JSON object", file=name, line=number
                    )
                try:
                    _validate_row(task, split, row)
                except ValueError as exc:
                    raise ImportFormatError(
                        "import.bad_row", str(exc), file=name, line=number
                    ) from exc
                rows.append(row)
            splits[split] = rows
        return cls(task, splits)

    def _rows(self, split: str) -> list[dict[str, Any]]:
        try:
            return self.splits[split]
        except KeyError:
            raise UserError(
                "dataset.unknown_split",
                f"{self.task.name} has no split {split!r} here; "
                f"present: {', '.join(self.splits) or 'none'}",
            ) from None


def _validate_split(task: TaskSpec, split: str, rows: list[dict[str, Any]]) -> None:
    if split not in task.splits:
        raise UserError(
            "dataset.unknown_split",
            f"{task.name} declares no split {split!r}; known: {', '.join(task.splits)}",
        )
    seen: set[int] = set()
    for number, row in enumerate(rows):
        try:
            _validate_row(task, split, row)
        except ValueError as exc:
            raise UserError(
                "dataset.invalid_row", f"{task.name} {split} row {number}: {exc}"
            ) from exc
        if row["idx"] in seen:
            raise UserError(
                "dataset.duplicate_idx",
                f"{task.name} {split} row {number}: idx {row['idx']} appears twice",
            )
        seen.add(row["idx"])


def _validate_row(task: TaskSpec, split: str, row: Mapping[str, Any]) -> None:
    """Raise ValueError unless ``row`` has exactly the fields the task defines."""
    labelled = task.is_labelled(split)
    expected = {"idx", *task.text_fields} | ({"label"} if labelled else set())
    if task.group_field is not None:
        expected.add(task.group_field)
    if set(row) != expected:
        missing = sorted(expected - set(row))
        extra = sorted(set(row) - expected)
        raise ValueError(
            f"fields differ from the task's: missing {missing}, extra {extra}"
        )
    idx = row["idx"]
    if not isinstance(idx, int) or isinstance(idx, bool):
        raise ValueError(f"idx must be an integer, got {idx!r}")
    if task.group_field is not None:
        group = row[task.group_field]
        if not isinstance(group, str) or not group:
            raise ValueError(f"{task.group_field} must be a non-empty string")
    for name in task.text_fields:
        if task.vocabulary == "pixels":
            # Image tasks (LRA Image, Pathfinder): grayscale levels, row-major.
            pixels = row[name]
            if (
                not isinstance(pixels, list)
                or not pixels
                or not all(
                    isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255
                    for v in pixels
                )
            ):
                raise ValueError(f"{name} must be a non-empty list of ints 0-255")
        elif task.type == "token_classification":
            words = row[name]
            if (
                not isinstance(words, list)
                or not words
                or not all(isinstance(w, str) and w for w in words)
            ):
                raise ValueError(f"{name} must be a non-empty list of words")
        elif not isinstance(row[name], str):
            raise ValueError(f"{name} must be a string")
    if labelled and task.type == "token_classification":
        _validate_tags(task, row[task.text_fields[0]], row["label"])
    elif labelled and task.type == "multilabel_classification":
        _validate_label_set(task, row["label"])
    elif labelled:
        label = row["label"]
        if task.labels is not None:
            if (
                not isinstance(label, int)
                or isinstance(label, bool)
                or not 0 <= label < len(task.labels)
            ):
                raise ValueError(
                    f"label must be a class index below {len(task.labels)}"
                )
        elif (
            not isinstance(label, (int, float))
            or isinstance(label, bool)
            or not math.isfinite(label)
        ):
            raise ValueError("label must be a finite number")


def _sort_key(value: Any) -> tuple[int, Any]:
    """Order ints numerically and anything else after them (validation rejects it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value)
    return (1, repr(value))


def _validate_tags(task: TaskSpec, words: list, tags: Any) -> None:
    """A token row's label: one tag index per word."""
    assert task.labels is not None
    if not isinstance(tags, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(task.labels)
        for i in tags
    ):
        raise ValueError(
            f"label must be a list of tag indices below {len(task.labels)}"
        )
    if len(tags) != len(words):
        raise ValueError(f"{len(tags)} tags for {len(words)} words")


def _validate_label_set(task: TaskSpec, label: Any) -> None:
    """A multi-label row's label: distinct class indices (possibly none), a list."""
    assert task.labels is not None
    if not isinstance(label, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 <= i < len(task.labels)
        for i in label
    ):
        raise ValueError(
            f"label must be a list of class indices below {len(task.labels)}"
        )
    if len(set(label)) != len(label):
        raise ValueError(f"label lists a class twice: {label}")
