"""Importer for tasks kept as the Hugging Face Hub publishes them (LEPISZCZE).

LEPISZCZE's datasets live on the Hub (``clarin-pl/kpwr-ner``, ``allegro/klej-dyk``,
...), one table per split with the repo's own column names: a token task has a
list of words (``tokens``) and a list of tags (``ner``, ``pos_tags``, ``labels``,
``tags``); a sentence task has its text columns and a label column (``target``,
``label``, ``class``, ``entailment_judgment``). Tags and labels are stored as
names, or as class indices whose names the table's own ``ClassLabel`` feature
gives (what ``datasets`` writes into Parquet files and what ``load_dataset``
returns). This module reads the same table from either place:

- files: one per split, ``<split>.parquet`` (as ``Dataset.to_parquet`` and the
  Hub's Parquet conversion write it) or ``<split>.jsonl`` (records with the same
  columns, one a line), named by the task's ``files``; the ``.jsonl`` twin of a
  declared ``.parquet`` file is read when the Parquet file is absent;
- the Hub: :func:`load_from_hub` calls ``datasets.load_dataset(<hub>)`` when the
  Hub is reachable (``import_task --hub``).

Strict, as every importer here: a missing column, a text that is not a string,
words and tags of different lengths, a tag or label outside the task's set, class
indices the table does not name, a stray ``I`` under BIO, or an empty split
raises :class:`ImportFormatError` naming the file and the record (for JSON Lines,
the line), and nothing is imported.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError, PlatformError, UserError
from tasks.importers.common import check_options, missing_split, non_empty_str
from tasks.specs import TaskSpec
from tasks.tagging import (
    SCHEMES,
    TOKEN_CLASSIFICATION,
    as_begin,
    check_tag_set,
    stray_inside,
)

_READERS = {".parquet": "parquet", ".jsonl": "json"}


@dataclass(frozen=True)
class HfFilesConfig:
    """How to read one task's tables.

    Attributes:
        hub: the Hub dataset repo the files come from (``clarin-pl/kpwr-ner``);
            :func:`load_from_hub` loads it.
        hub_config: the repo's config name, if it has several.
        text_columns: text field -> column name; a field not listed is read from
            the column of the same name.
        label_column: the column of labels (sentence tasks) or tags (token tasks).
        scheme: token tasks: ``BIO``, ``IO`` or ``UNIT`` (:mod:`tasks.tagging`).
        stray_inside: token tasks under BIO: ``error`` or ``begin`` (conlleval's
            reading of an ``I`` that starts no mention).
    """

    hub: str | None = None
    hub_config: str | None = None
    text_columns: Mapping[str, str] = field(default_factory=dict)
    label_column: str = "label"
    scheme: str = "BIO"
    stray_inside: str = "error"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> HfFilesConfig:
        """Build a config from a spec table; bad options raise ValueError."""

        checks = {
            "hub": lambda v: non_empty_str(v) and v.count("/") == 1,
            "hub_config": non_empty_str,
            "text_columns": lambda v: (
                isinstance(v, Mapping) and all(non_empty_str(x) for x in v.values())
            ),
            "label_column": non_empty_str,
            "scheme": lambda v: v in SCHEMES,
            "stray_inside": lambda v: v in ("error", "begin"),
        }
        converted = check_options(options, checks)
        if "text_columns" in converted:
            converted["text_columns"] = dict(converted["text_columns"])
        return dataclasses.replace(cls(), **converted)


class HfFilesImporter:
    """The ``hf_files`` importer (registered in ``IMPORTERS``)."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate options and file names now, so a typo fails at load."""
        config = HfFilesConfig.from_options(task.importer_options)
        extra = set(config.text_columns) - set(task.text_fields)
        if extra:
            raise ValueError(f"text_columns names unknown text fields {sorted(extra)}")
        if task.type == TOKEN_CLASSIFICATION:
            check_tag_set(task.labels or (), config.scheme)
        elif task.type != "classification":
            raise ValueError(f"hf_files reads classification tasks, not {task.type}")
        for split, name in task.files.items():
            if Path(name).suffix not in _READERS:
                raise ValueError(f"files.{split} {name!r} is not .parquet or .jsonl")

    def file_names(self, task: TaskSpec) -> set[str]:
        """The names that mark the task's folder: each file and its twin."""
        return {n for name in task.files.values() for n in _twins(name)}

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every split present; the scored splits must be there."""
        config = HfFilesConfig.from_options(task.importer_options)
        splits: dict[str, list[dict[str, Any]]] = {}
        for split in task.splits:
            path = next(
                (
                    folder / n
                    for n in _twins(task.files[split])
                    if (folder / n).is_file()
                ),
                None,
            )
            if path is None:
                if split in task.eval_splits:
                    raise missing_split(task, split, folder / task.files[split])
                continue
            records, names = read_table(path)
            splits[split] = rows_from_table(
                records,
                names,
                where=path,
                lines=path.suffix == ".jsonl",
                task=task,
                labelled=task.is_labelled(split),
                config=config,
            )
        return Dataset(task, splits)


IMPORTER = HfFilesImporter()


def _twins(name: str) -> tuple[str, ...]:
    """``name`` and the same stem with the other suffix, ``name`` first."""
    path = Path(name)
    others = [s for s in _READERS if s != path.suffix]
    return (name, *(str(path.with_suffix(s)) for s in others))


def class_names(features: Any) -> dict[str, list[str]]:
    """Column -> class names, for columns typed ``ClassLabel`` (or a list of it)."""
    import datasets

    names = {}
    for column, feature in (features or {}).items():
        inner = getattr(feature, "feature", feature)
        if isinstance(inner, datasets.ClassLabel):
            names[column] = list(inner.names)
    return names


def read_table(path: Path) -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """One split's records in file order, and the class names its features give."""
    import datasets  # slow to import; only importing needs it

    with tempfile.TemporaryDirectory(prefix="glew-import-") as cache_dir:
        try:
            loaded = datasets.load_dataset(
                _READERS[path.suffix],
                data_files={"rows": str(path)},
                split="rows",
                cache_dir=cache_dir,
                keep_in_memory=True,
            )
            return loaded.to_list(), class_names(loaded.features)
        except Exception as exc:  # each reader fails in its own way
            raise ImportFormatError(
                "import.unreadable",
                f"the {_READERS[path.suffix]} reader failed: "
                f"{type(exc).__name__}: {exc}",
                file=path,
            ) from exc


def rows_from_table(
    records: list[dict[str, Any]],
    names: Mapping[str, list[str]],
    *,
    where: Path | str,
    lines: bool,
    task: TaskSpec,
    labelled: bool,
    config: HfFilesConfig,
) -> list[dict[str, Any]]:
    """Map one split's records to canonical rows of ``task``."""

    def fail(position: int, message: str) -> ImportFormatError:
        if lines:
            return ImportFormatError(
                "import.bad_row", message, file=where, line=position + 1
            )
        return ImportFormatError(
            "import.bad_row", f"record {position} (0-based): {message}", file=where
        )

    if not records:
        raise ImportFormatError(
            "import.empty_split", "the split has no rows", file=where
        )
    wanted = {f: config.text_columns.get(f, f) for f in task.text_fields}
    column = config.label_column
    index = {name: i for i, name in enumerate(task.labels or ())}
    rows = []
    for position, record in enumerate(records):
        needed = [*wanted.values(), *([column] if labelled else [])]
        missing = [c for c in needed if c not in record]
        if missing:
            raise fail(position, f"no column(s) {missing}; found {sorted(record)}")
        row: dict[str, Any] = {"idx": position}
        try:
            if task.type == TOKEN_CLASSIFICATION:
                (field_name,) = wanted
                row[field_name] = _words(record[wanted[field_name]])
                if labelled:
                    tags = [_name(t, names.get(column)) for t in record[column] or []]
                    row["label"] = _tags(tags, len(row[field_name]), index, config)
            else:
                for name, source in wanted.items():
                    if not isinstance(record[source], str):
                        raise ValueError(f"{source!r} is not a string")
                    row[name] = record[source]
                if labelled:
                    label = _name(record[column], names.get(column))
                    if label not in index:
                        raise ValueError(
                            f"unknown label {label!r}; expected one of {list(index)}"
                        )
                    row["label"] = index[label]
        except ValueError as exc:
            raise fail(position, str(exc)) from None
        rows.append(row)
    return rows


def _words(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(w, str) and w.strip() for w in value)
    ):
        raise ValueError(f"the words are not a non-empty list of words: {value!r}")
    return value


def _name(value: Any, names: list[str] | None) -> str:
    """A label or tag as its name: itself, or its ClassLabel name."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        if names is not None:
            if not 0 <= value < len(names):
                raise ValueError(f"class index {value} outside the table's classes")
            return names[value]
        # A plain integer column (DYK's target, PSC's label) holds the label.
        return str(value)
    raise ValueError(f"{value!r} is not a label name or class index")


def _tags(
    tags: list[str], words: int, index: Mapping[str, int], config: HfFilesConfig
) -> list[int]:
    """A sentence's tags as indices, checked against the scheme."""
    if len(tags) != words:
        raise ValueError(f"{words} words but {len(tags)} tags")
    for tag in tags:
        if tag not in index:
            raise ValueError(f"tag {tag!r} is not in the task's tag set")
    if config.scheme == "BIO":
        for position in stray_inside(tags):
            if config.stray_inside == "error":
                raise ValueError(
                    f"tag {tags[position]!r} (word {position}) starts no mention"
                )
            tags[position] = as_begin(tags[position])
            if tags[position] not in index:
                raise ValueError(f"repaired tag {tags[position]!r} is not in the set")
    return [index[tag] for tag in tags]


def load_from_hub(task: TaskSpec) -> Dataset:
    """Load ``task`` from its Hub repo (option ``hub``) with ``datasets``.

    Raises ``PlatformError("import.hub_unreachable")`` when neither the Hub nor a
    local cache (``HF_HUB_OFFLINE=1``) can provide it.
    """
    from tasks.importers.hf_hub import HUB_TIMEOUT_S, _hub_reachable

    config = HfFilesConfig.from_options(task.importer_options)
    if task.importer != "hf_files" or config.hub is None:
        raise UserError("import.not_on_hub", f"{task.name} names no Hub dataset")
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", HUB_TIMEOUT_S)
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", HUB_TIMEOUT_S)
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if not offline and not _hub_reachable(float(HUB_TIMEOUT_S)):
        raise PlatformError(
            "import.hub_unreachable",
            f"the Hugging Face Hub is unreachable from here; import the files of "
            f"{config.hub} instead (one .parquet or .jsonl per split)",
        )
    try:
        import datasets

        loaded = datasets.load_dataset(config.hub, config.hub_config)
    except Exception as exc:  # network, auth and cache failures all look different
        raise PlatformError(
            "import.hub_unreachable",
            f"could not load {config.hub}: {type(exc).__name__}: {exc}",
        ) from exc
    splits = {}
    for split in task.splits:
        if split not in loaded:
            if split in task.eval_splits:
                raise missing_split(task, split, config.hub, kind="Hub dataset")
            continue
        table = loaded[split]
        splits[split] = rows_from_table(
            table.to_list(),
            class_names(table.features),
            where=f"{config.hub}[{split}]",
            lines=False,
            task=task,
            labelled=task.is_labelled(split),
            config=config,
        )
    return Dataset(task, splits)
