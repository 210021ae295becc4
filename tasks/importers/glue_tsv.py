"""Importer for the original GLUE release: one folder per task of ``.tsv`` files.

The files are read exactly as released: tab-separated, ``csv.QUOTE_NONE`` (GLUE
text contains bare double quotes that are part of the sentence), a leading UTF-8
byte order mark dropped (MRPC train/dev start with one), text kept byte for byte
(SST-2's trailing spaces included). Every row must have as many columns as the
header; any deviation raises :class:`ImportFormatError` naming file and line,
because a silently skipped row changes scores without anyone noticing.

The layout of each task is data, in the task spec's ``importer_options`` table,
parsed into :class:`GlueTsvConfig`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, parse_label, split_files
from tasks.specs import TaskSpec


@dataclass(frozen=True)
class GlueTsvConfig:
    """How to read one GLUE-style TSV file.

    Attributes:
        header: the first line names the columns. CoLA's train/dev have no header.
        optional_header: for a headerless file, a header line it may start with,
            skipped when present (BLURB's ChemProt files come both ways).
        columns: for a headerless file, the column names (required). For a file
            with a header, if given, the header must be exactly these names.
        text_columns: text field -> column name (``{"premise": "sentence1"}``);
            a text field not listed is read from the column of the same name.
        label_column: the column holding the label in labelled splits (read as a
            label name, or as a float for regression tasks).
        index_column: the column holding each row's ``idx``; when unset (or "",
            which lets a split override unset it), ``idx`` is the 0-based row
            number within the file.
        label_range: for regression, the inclusive [low, high] every score must lie in.
        splits: per split name, a table overriding any of the options above
            (GLUE test files differ from train/dev: an index column, no label).
    """

    header: bool = True
    optional_header: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    text_columns: Mapping[str, str] = field(default_factory=dict)
    label_column: str = "label"
    index_column: str | None = None
    label_range: tuple[float, float] | None = None
    splits: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> GlueTsvConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        options = dict(options)
        splits = options.pop("splits", {})
        if not isinstance(splits, Mapping) or not all(
            isinstance(v, Mapping) for v in splits.values()
        ):
            raise ValueError("importer_options.splits must be a table of tables")
        config = cls._parse(cls(), options, "importer_options")
        for split, overrides in splits.items():
            cls._parse(config, dict(overrides), f"importer_options.splits.{split}")
        return dataclasses.replace(
            config, splits={k: dict(v) for k, v in splits.items()}
        )

    @classmethod
    def _parse(cls, base: GlueTsvConfig, options: dict[str, Any], where: str):
        names = {f.name for f in dataclasses.fields(cls)} - {"splits"}
        for key in options:
            if key not in names:
                raise ValueError(f"unknown option {key!r} in {where}")
        checks = {
            "header": lambda v: isinstance(v, bool),
            "optional_header": lambda v: (
                isinstance(v, list) and all(isinstance(x, str) for x in v)
            ),
            "columns": lambda v: (
                isinstance(v, list) and all(isinstance(x, str) for x in v)
            ),
            "text_columns": lambda v: (
                isinstance(v, Mapping) and all(isinstance(x, str) for x in v.values())
            ),
            "label_column": lambda v: isinstance(v, str),
            "index_column": lambda v: isinstance(v, str),
            "label_range": lambda v: (
                isinstance(v, list)
                and len(v) == 2
                and all(isinstance(x, (int, float)) for x in v)
            ),
        }
        for key, value in options.items():
            if not checks[key](value):
                raise ValueError(
                    f"option {key!r} in {where} has the wrong type: {value!r}"
                )
        converted: dict[str, Any] = dict(options)
        for key in ("columns", "optional_header"):
            if key in converted:
                converted[key] = tuple(converted[key])
        if "label_range" in converted:
            converted["label_range"] = tuple(float(x) for x in converted["label_range"])
        if "text_columns" in converted:
            converted["text_columns"] = dict(converted["text_columns"])
        return dataclasses.replace(base, **converted)

    def for_split(self, split: str) -> GlueTsvConfig:
        """The config with the overrides for ``split`` applied."""
        overrides = self.splits.get(split, {})
        return self._parse(dataclasses.replace(self, splits={}), dict(overrides), split)


class GlueTsvImporter:
    """The ``glue_tsv`` importer (registered in :data:`tasks.importers.IMPORTERS`)."""

    def check_options(self, task: TaskSpec) -> None:
        """Validate the task's options now, so a typo fails when the catalogue loads."""
        config = GlueTsvConfig.from_options(task.importer_options)
        for split in config.splits:
            if split not in task.splits:
                raise ValueError(
                    f"importer_options.splits names unknown split {split!r}"
                )
        for split in task.splits:
            split_config = config.for_split(split)
            if not split_config.header and not split_config.columns:
                raise ValueError(f"split {split!r}: a headerless file needs 'columns'")
            if split_config.header and split_config.optional_header:
                raise ValueError(
                    f"split {split!r}: optional_header is for a headerless file"
                )
        extra = set(config.text_columns) - set(task.text_fields)
        if extra:
            raise ValueError(f"text_columns names unknown text fields {sorted(extra)}")
        if config.label_range is not None and task.labels is not None:
            raise ValueError("label_range is for regression tasks")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared file that exists in ``folder``; eval files must exist.

        A task with no eval splits (GLUE's AX) must have its test files instead.
        """
        config = GlueTsvConfig.from_options(task.importer_options)
        required = task.eval_splits or task.test_splits
        splits: dict[str, list[dict[str, Any]]] = {}
        for split, path in split_files(task, folder, required=required):
            splits[split] = read_tsv(
                path,
                task=task,
                labelled=task.is_labelled(split),
                config=config.for_split(split),
            )
        return Dataset(task, splits)


IMPORTER = GlueTsvImporter()


def read_tsv(
    path: str | Path, *, task: TaskSpec, labelled: bool, config: GlueTsvConfig
) -> list[dict[str, Any]]:
    """Read one GLUE TSV file into canonical rows (see :mod:`tasks.dataset`)."""
    path = Path(path)
    data = path.read_bytes()
    text = decode_utf8(data, where=path)
    text = text.removeprefix("\ufeff")

    def fail(line: int | None, message: str) -> ImportFormatError:
        return ImportFormatError("import.bad_row", message, file=path, line=line)

    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    if config.header:
        columns = next(reader, None)
        if columns is None:
            raise fail(1, "empty file: expected a header line")
        if config.columns and tuple(columns) != config.columns:
            raise fail(
                1, f"header {columns} differs from the expected {list(config.columns)}"
            )
    else:
        columns = list(config.columns)
    if len(set(columns)) != len(columns):
        raise fail(1, f"a column name appears twice in {columns}")
    position = {name: i for i, name in enumerate(columns)}

    def column(name: str) -> int:
        if name not in position:
            raise fail(1 if config.header else None, f"no column {name!r} in {columns}")
        return position[name]

    text_at = [(f, column(config.text_columns.get(f, f))) for f in task.text_fields]
    index_at = column(config.index_column) if config.index_column else None
    label_at = column(config.label_column) if labelled else None
    if not labelled and config.label_column in position:
        raise fail(1, f"an unlabelled split has a label column {config.label_column!r}")
    label_index = {name: i for i, name in enumerate(task.labels or ())}

    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for line, record in _numbered(reader, skip=config.optional_header):
        if len(record) != len(columns):
            raise fail(
                line,
                f"expected {len(columns)} tab-separated columns, found {len(record)}",
            )
        row: dict[str, Any] = {}
        if index_at is None:
            row["idx"] = len(rows)
        else:
            try:
                row["idx"] = int(record[index_at])
            except ValueError:
                raise fail(
                    line, f"index {record[index_at]!r} is not an integer"
                ) from None
        if row["idx"] in seen:
            raise fail(
                line, f"index {row['idx']} already used on line {seen[row['idx']]}"
            )
        seen[row["idx"]] = line
        for name, at in text_at:
            row[name] = record[at]
        if label_at is not None:
            raw = record[label_at]
            row["label"] = parse_label(
                task,
                raw,
                label_index=label_index,
                label_range=config.label_range,
                fail=lambda message, line=line: fail(line, message),
            )
        rows.append(row)
    return rows


def _numbered(reader, *, skip: tuple[str, ...] = ()):
    """(line number, record) for each record left in ``reader``; the first is
    left out when it is the ``skip`` header line (a headerless file that may start
    with one)."""
    first = True
    for record in reader:
        if first and skip and tuple(record) == skip:
            first = False
            continue
        first = False
        yield reader.line_num, record
