"""A general importer for local CSV/TSV, JSON/JSONL and Parquet files, per split.

Many task releases, and the Hugging Face mirrors of most (BLURB's included), are
one such file per split. This importer reads them with
``datasets.load_dataset(<csv|json|parquet>, data_files=...)``, which needs no
network for local files, and maps the configured columns to our rows, so an
admin adds such a task with a TOML spec alone. The options are
:class:`DatasetsFilesConfig`; a task's ``files`` name one file per split.

Strictness is the same as the release-format importers: a missing column, a text
that is not a string, an unknown label, a duplicate index or a score out of range
raises :class:`ImportFormatError` naming the file and the record (for JSON Lines,
the line). CSV cells are read as text, never type-guessed, so ``"007"`` stays
``"007"``; empty cells stay empty strings. The readers are columnar: a key
missing from one JSON record reads as null and is refused as such.
"""

from __future__ import annotations

import csv
import dataclasses
import math
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import check_options, non_empty_str, split_files
from tasks.specs import TaskSpec

FORMATS = ("csv", "json", "parquet")
_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".parquet": "parquet",
}


@dataclass(frozen=True)
class DatasetsFilesConfig:
    """How to read and map one task's files.

    Attributes:
        format: ``csv``, ``json`` (JSON Lines, or a JSON list) or ``parquet``;
            unset, it follows each file's suffix (``.tsv`` is CSV with tabs).
        delimiter: CSV field separator; unset, a tab for ``.tsv`` else a comma.
        text_columns: text field -> column name; a text field not listed is read
            from the column of the same name.
        label_column: the column holding the label in labelled splits.
        label_encoding: ``name`` (the column holds label names from the spec's
            ``labels``) or ``index`` (class indices in the spec's order).
        label_separator: for multi-label tasks whose cell is one string (CSV),
            the separator between labels; an empty cell is the empty label set.
        index_column: the column holding integer ``idx`` values; unset, ``idx``
            is the 0-based record number within the file.
        label_range: for regression, the inclusive [low, high] every score must
            lie in.
        join_lists: if set, a text column holding a list of strings (PubMedQA's
            context passages) is joined with this separator; unset, it is an error.
        quoting: CSV quoting: ``minimal`` (a field may be wrapped in ``"``) or
            ``none`` (a ``"`` is text, as in GLUE-style TSV releases).
    """

    format: str | None = None
    delimiter: str | None = None
    text_columns: Mapping[str, str] = field(default_factory=dict)
    label_column: str = "label"
    label_encoding: str = "name"
    label_separator: str | None = None
    index_column: str | None = None
    label_range: tuple[float, float] | None = None
    join_lists: str | None = None
    quoting: str = "minimal"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> DatasetsFilesConfig:
        """Build a config from a spec table; bad options raise ValueError."""

        checks = {
            "format": lambda v: v in FORMATS,
            "delimiter": lambda v: isinstance(v, str) and len(v) == 1,
            "text_columns": lambda v: (
                isinstance(v, Mapping) and all(non_empty_str(x) for x in v.values())
            ),
            "label_column": non_empty_str,
            "label_encoding": lambda v: v in ("name", "index"),
            "label_separator": non_empty_str,
            "index_column": non_empty_str,
            "label_range": lambda v: (
                isinstance(v, list)
                and len(v) == 2
                and all(isinstance(x, (int, float)) for x in v)
            ),
            "join_lists": lambda v: isinstance(v, str),
            "quoting": lambda v: v in ("minimal", "none"),
        }
        converted = check_options(options, checks)
        if "text_columns" in converted:
            converted["text_columns"] = dict(converted["text_columns"])
        if "label_range" in converted:
            converted["label_range"] = tuple(float(x) for x in converted["label_range"])
        return dataclasses.replace(cls(), **converted)

    def format_of(self, path: Path) -> str:
        """The reader for ``path``: the configured format, or its suffix's."""
        if self.format is not None:
            return self.format
        try:
            return _BY_SUFFIX[path.suffix.lower()]
        except KeyError:
            raise ImportFormatError(
                "import.unknown_format",
                f"cannot tell the format from the suffix {path.suffix!r}; "
                f"set importer_options.format to one of {', '.join(FORMATS)}",
                file=path,
            ) from None


class DatasetsFilesImporter:
    """The ``datasets_files`` importer (registered in ``IMPORTERS``)."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate options now, so a typo fails when the catalogue loads."""
        config = DatasetsFilesConfig.from_options(task.importer_options)
        extra = set(config.text_columns) - set(task.text_fields)
        if extra:
            raise ValueError(f"text_columns names unknown text fields {sorted(extra)}")
        if config.label_range is not None and task.type != "regression":
            raise ValueError("label_range is for regression tasks")
        if config.label_separator is not None and (
            task.type != "multilabel_classification"
        ):
            raise ValueError("label_separator is for multi-label tasks")
        if config.format is None:
            for split, name in task.files.items():
                if Path(name).suffix.lower() not in _BY_SUFFIX:
                    raise ValueError(
                        f"files.{split} {name!r} has no known suffix; set 'format'"
                    )

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared file in ``folder``; the scored splits' must exist."""
        config = DatasetsFilesConfig.from_options(task.importer_options)
        required = task.eval_splits or task.test_splits
        splits: dict[str, list[dict[str, Any]]] = {}
        for split, path in split_files(task, folder, required=required):
            records = read_records(path, config)
            splits[split] = rows_from_records(
                records,
                path=path,
                task=task,
                labelled=task.is_labelled(split),
                config=config,
            )
        return Dataset(task, splits)


IMPORTER = DatasetsFilesImporter()


def read_records(path: Path, config: DatasetsFilesConfig) -> list[dict[str, Any]]:
    """Read one file with ``datasets`` into a list of plain dicts, in file order."""
    import datasets  # slow to import; only importing needs it

    builder = config.format_of(path)
    kwargs: dict[str, Any] = {}
    if builder == "csv":
        delimiter = config.delimiter or ("\t" if path.suffix.lower() == ".tsv" else ",")
        # Keep every cell as the text it is: no type guessing, no NaN for "".
        features = datasets.Features(
            {name: datasets.Value("string") for name in _csv_header(path, delimiter)}
        )
        kwargs.update(
            delimiter=delimiter,
            keep_default_na=False,
            na_filter=False,
            features=features,
            quoting=csv.QUOTE_NONE if config.quoting == "none" else csv.QUOTE_MINIMAL,
        )
    # A throwaway cache: the arrow copy is only a means of reading the file once.
    with tempfile.TemporaryDirectory(prefix="glew-import-") as cache_dir:
        try:
            loaded = datasets.load_dataset(
                builder,
                data_files={"rows": str(path)},
                split="rows",
                cache_dir=cache_dir,
                keep_in_memory=True,
                **kwargs,
            )
            return loaded.to_list()
        except Exception as exc:  # each reader fails in its own way
            raise ImportFormatError(
                "import.unreadable",
                f"the {builder} reader failed: {type(exc).__name__}: {exc}",
                file=path,
            ) from exc


def rows_from_records(
    records: list[dict[str, Any]],
    *,
    path: Path,
    task: TaskSpec,
    labelled: bool,
    config: DatasetsFilesConfig,
) -> list[dict[str, Any]]:
    """Map records (column -> value) to canonical rows of ``task``."""
    is_lines = path.suffix.lower() == ".jsonl"

    def fail(position: int, message: str) -> ImportFormatError:
        # JSON Lines put one record per line; elsewhere the record number is
        # what a person can find (CSV cells may span lines).
        if is_lines:
            return ImportFormatError(
                "import.bad_row", message, file=path, line=position + 1
            )
        return ImportFormatError(
            "import.bad_row", f"record {position} (0-based): {message}", file=path
        )

    wanted = {f: config.text_columns.get(f, f) for f in task.text_fields}
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for position, record in enumerate(records):
        needed = list(wanted.values())
        needed += [config.index_column] if config.index_column else []
        needed += [config.label_column] if labelled else []
        missing = [c for c in needed if c not in record]
        if missing:
            raise fail(position, f"no column(s) {missing}; found {sorted(record)}")
        if not labelled and config.label_column in record:
            raise fail(
                position,
                f"an unlabelled split has a label column {config.label_column!r}",
            )
        row: dict[str, Any] = {}
        if config.index_column:
            row["idx"] = _integer(record[config.index_column])
            if row["idx"] is None:
                raise fail(
                    position,
                    f"{config.index_column!r} is not an integer: "
                    f"{record[config.index_column]!r}",
                )
        else:
            row["idx"] = position
        if row["idx"] in seen:
            raise fail(position, f"idx {row['idx']} appears twice")
        seen.add(row["idx"])
        for name, column in wanted.items():
            value = record[column]
            if (
                config.join_lists is not None
                and isinstance(value, list)
                and all(isinstance(v, str) for v in value)
            ):
                value = config.join_lists.join(value)
            if not isinstance(value, str):
                raise fail(position, f"{column!r} is not a string: {value!r}")
            row[name] = value
        if labelled:
            try:
                row["label"] = _label(task, config, record[config.label_column])
            except ValueError as exc:
                raise fail(position, str(exc)) from None
        rows.append(row)
    return rows


def _csv_header(path: Path, delimiter: str) -> list[str]:
    """The column names on a CSV file's first line."""
    try:
        with path.open(encoding="utf-8", newline="") as f:
            header = next(csv.reader(f, delimiter=delimiter), None)
    except UnicodeDecodeError as exc:
        raise ImportFormatError(
            "import.not_utf8", "not valid UTF-8", file=path
        ) from exc
    if not header:
        raise ImportFormatError(
            "import.bad_row", "empty file: expected a header line", file=path, line=1
        )
    if len(set(header)) != len(header):
        raise ImportFormatError(
            "import.bad_row",
            f"a column name appears twice in {header}",
            file=path,
            line=1,
        )
    return header


def _integer(value: Any) -> int | None:
    """``value`` as an int if it is one (or its decimal text), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _class(task: TaskSpec, config: DatasetsFilesConfig, value: Any) -> int:
    """One class label (a name or an index, per ``label_encoding``) as an index."""
    assert task.labels is not None
    if config.label_encoding == "name":
        if isinstance(value, str) and value in task.labels:
            return task.labels.index(value)
        raise ValueError(
            f"unknown label {value!r}; expected one of {list(task.labels)}"
        )
    index = _integer(value)
    if index is None or not 0 <= index < len(task.labels):
        raise ValueError(
            f"label {value!r} is not a class index below {len(task.labels)}"
        )
    return index


def _label(task: TaskSpec, config: DatasetsFilesConfig, value: Any) -> Any:
    """The row label for ``value`` as the task type requires it."""
    if task.type == "multilabel_classification":
        if isinstance(value, str) and config.label_separator is not None:
            parts = [p.strip() for p in value.split(config.label_separator)]
            value = [p for p in parts if p]
        if not isinstance(value, list):
            raise ValueError(f"label {value!r} is not a list of labels")
        indices = [_class(task, config, v) for v in value]
        if len(set(indices)) != len(indices):
            raise ValueError(f"label {value!r} lists a class twice")
        return sorted(indices)
    if task.labels is not None:
        return _class(task, config, value)
    if isinstance(value, bool):
        raise ValueError(f"score {value!r} is not a number")
    try:
        score = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"score {value!r} is not a number") from None
    if not math.isfinite(score):
        raise ValueError(f"score {value!r} is not a finite number")
    low_high = config.label_range
    if low_high is not None and not low_high[0] <= score <= low_high[1]:
        raise ValueError(f"score {score} outside {list(low_high)}")
    return score
