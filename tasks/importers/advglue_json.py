"""Importer for AdvGLUE (Wang et al., 2021): one ``dev.json`` holding every task.

The release (``dev.zip`` from adversarialglue.github.io) is a single JSON object
whose keys are task names (``sst2``, ``qqp``, ``mnli``, ``mnli-mm``, ``qnli``,
``rte``), each a list of ``{"idx": int, "label": int, <GLUE text fields>}``. The
text fields carry GLUE's names (``sentence``; ``question1``/``question2``;
``premise``/``hypothesis``; ``question``/``sentence``; ``sentence1``/``sentence2``)
and the label integers follow the Hugging Face ``nyu-mll/glue`` label order,
which is the order of our ``glue.toml`` (SST-2 0 negative / 1 positive; QQP 0 not
duplicate / 1 duplicate; MNLI 0 entailment / 1 neutral / 2 contradiction; QNLI
and RTE 0 entailment / 1 not_entailment), so the integers are used as class
indices as they are.

AdvGLUE has no training data: each task is predicted with the model fine-tuned on
its GLUE task (the spec's ``predict_with``), and the one split, ``dev.json``, is
the scored eval split (labels kept, never served). Keys beyond ``idx``, ``label``
and the text fields are ignored: they are not rows, and the task defines its
inputs. Anything else malformed raises :class:`ImportFormatError` naming the file,
the task key and the position in its list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8
from tasks.specs import TaskSpec


@dataclass(frozen=True)
class AdvGlueJsonConfig:
    """How to find one task's rows in the AdvGLUE JSON object.

    Attributes:
        json_key: the task's key in the top-level object; defaults to the task key
            (``mnli-mm`` in both).
        text_columns: text field -> JSON key where they differ (none do in the
            release; kept so a re-keyed mirror needs no code).
    """

    json_key: str | None = None
    text_columns: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> AdvGlueJsonConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        unknown = set(options) - {"json_key", "text_columns"}
        if unknown:
            raise ValueError(f"unknown option(s) {sorted(unknown)} in importer_options")
        json_key = options.get("json_key")
        if json_key is not None and (not isinstance(json_key, str) or not json_key):
            raise ValueError("option 'json_key' must be a non-empty string")
        text_columns = options.get("text_columns", {})
        if not isinstance(text_columns, Mapping) or not all(
            isinstance(v, str) for v in text_columns.values()
        ):
            raise ValueError("option 'text_columns' must map text fields to keys")
        return cls(json_key=json_key, text_columns=dict(text_columns))


class AdvGlueJsonImporter:
    """The ``advglue_json`` importer (registered in ``IMPORTERS``)."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate options and the shape AdvGLUE needs: one labelled eval file."""
        config = AdvGlueJsonConfig.from_options(task.importer_options)
        extra = set(config.text_columns) - set(task.text_fields)
        if extra:
            raise ValueError(f"text_columns names unknown text fields {sorted(extra)}")
        if task.type != "classification":
            raise ValueError("AdvGLUE tasks are classification tasks")
        if task.train_split or task.test_splits:
            raise ValueError("AdvGLUE is evaluation-only: eval_splits only")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read the task's list from the JSON file of each eval split in ``folder``."""
        config = AdvGlueJsonConfig.from_options(task.importer_options)
        splits = {
            split: read_advglue_json(
                folder / task.files[split], task=task, config=config
            )
            for split in task.eval_splits
        }
        return Dataset(task, splits)


IMPORTER = AdvGlueJsonImporter()


def _task_records(path: Path, key: str, task: TaskSpec) -> list:
    """The list of records under ``key`` in the file's one JSON object."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFormatError(
            "import.missing_file", f"cannot read: {exc.strerror}", file=path
        ) from exc
    try:
        document = json.loads(decode_utf8(data, where=path))
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            "import.bad_json",
            f"not valid JSON: {exc.msg} (column {exc.colno})",
            file=path,
            line=exc.lineno,
        ) from exc
    if not isinstance(document, dict):
        raise ImportFormatError(
            "import.bad_json", "expected one JSON object keyed by task", file=path
        )
    if key not in document:
        raise ImportFormatError(
            "import.missing_task",
            f"no key {key!r} for {task.name}; keys present: {sorted(document)}",
            file=path,
        )
    records = document[key]
    if not isinstance(records, list):
        raise ImportFormatError(
            "import.bad_json", f"{key!r} must be a list of objects", file=path
        )
    return records


def read_advglue_json(
    path: str | Path, *, task: TaskSpec, config: AdvGlueJsonConfig
) -> list[dict[str, Any]]:
    """Read ``task``'s rows from an AdvGLUE ``dev.json`` into canonical rows."""
    path = Path(path)
    key = config.json_key or task.key
    records = _task_records(path, key, task)

    def fail(position: int, message: str) -> ImportFormatError:
        return ImportFormatError(
            "import.bad_row", f"{key!r}[{position}]: {message}", file=path
        )

    assert task.labels is not None
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for position, record in enumerate(records):
        if not isinstance(record, dict):
            raise fail(position, "not a JSON object")
        row: dict[str, Any] = {}
        idx = record.get("idx")
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise fail(position, f"'idx' must be an integer, got {idx!r}")
        if idx in seen:
            raise fail(position, f"idx {idx} appears twice")
        seen.add(idx)
        row["idx"] = idx
        for name in task.text_fields:
            column = config.text_columns.get(name, name)
            value = record.get(column)
            if not isinstance(value, str):
                raise fail(position, f"{column!r} must be a string, got {value!r}")
            row[name] = value
        label = record.get("label")
        if (
            not isinstance(label, int)
            or isinstance(label, bool)
            or not 0 <= label < len(task.labels)
        ):
            raise fail(
                position,
                f"label {label!r} is not a class index of {list(task.labels)} "
                f"(0..{len(task.labels) - 1})",
            )
        row["label"] = label
        rows.append(row)
    return rows
