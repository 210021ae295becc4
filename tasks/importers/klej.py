"""Importer for KLEJ (Rybak et al., 2020), the Polish language understanding suite.

Each task is released as ``klej_<task>.zip`` (klejbenchmark.com), holding
``train.tsv``, ``dev.tsv`` where the task has one, and ``test_features.tsv``
(inputs only: KLEJ scores test predictions on its own server). The task is read
from the unpacked folder or straight from the zip, without extracting it.

Files are read as the KLEJ baselines read them: tab-separated, a header line
naming the columns, no quoting (``csv.QUOTE_NONE``: a ``"`` is part of the text),
UTF-8. The header must contain the task's columns (other columns are allowed and
ignored, as in the baselines); every row must have as many fields as the header;
an unknown label or a score that is not a number in range fails with file and
line. ``idx`` is the 0-based row number within the file.

CBD, DYK and PSC ship no dev set (the baselines validate on train). With the
option ``dev_from_train`` and no ``dev.tsv``, a fixed ``dev_fraction`` of train
(default 10%) becomes the scored validation split: the rows whose
``sha256("<dev_seed>:<idx>")`` are smallest, a choice that depends on nothing but
the row numbers (no library's random stream), so every import carves the same
rows. Those rows leave train and keep their train.tsv row numbers as ``idx``.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, missing_split, parse_label
from tasks.specs import TaskSpec

# A KLEJ file is a few MiB; a zip member claiming more is refused unread.
MAX_MEMBER_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class KlejConfig:
    """How to read one KLEJ task.

    Attributes:
        text_columns: text field -> column name; a text field not listed is read
            from the column of the same name.
        label_column: the column holding the label in train and dev
            (``target``; CDSC-E ``entailment_judgment``, CDSC-R
            ``relatedness_score``, PSC ``label``, AR ``rating``).
        label_range: for regression, the inclusive [low, high] of every score.
        dev_from_train: when the release has no ``dev.tsv``, carve the
            validation split from train (see the module docstring).
        dev_fraction: the share of train carved, in (0, 1).
        dev_seed: salt of the carving hash; changing it changes the rows.
    """

    text_columns: Mapping[str, str] = field(default_factory=dict)
    label_column: str = "target"
    label_range: tuple[float, float] | None = None
    dev_from_train: bool = False
    dev_fraction: float = 0.1
    dev_seed: int = 0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> KlejConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        checks = {
            "text_columns": lambda v: (
                isinstance(v, Mapping) and all(isinstance(x, str) for x in v.values())
            ),
            "label_column": lambda v: isinstance(v, str) and bool(v),
            "label_range": lambda v: (
                isinstance(v, list)
                and len(v) == 2
                and all(isinstance(x, (int, float)) for x in v)
            ),
            "dev_from_train": lambda v: isinstance(v, bool),
            "dev_fraction": lambda v: isinstance(v, float) and 0.0 < v < 1.0,
            "dev_seed": lambda v: isinstance(v, int) and not isinstance(v, bool),
        }
        for key, value in options.items():
            if key not in checks:
                raise ValueError(f"unknown option {key!r} in importer_options")
            if not checks[key](value):
                raise ValueError(f"option {key!r} has a wrong value: {value!r}")
        converted = dict(options)
        if "text_columns" in converted:
            converted["text_columns"] = dict(converted["text_columns"])
        if "label_range" in converted:
            converted["label_range"] = tuple(float(x) for x in converted["label_range"])
        return dataclasses.replace(cls(), **converted)


class _Source:
    """The task's files: a folder, or a release zip read in place."""

    def __init__(self, location: Path) -> None:
        self.location = location
        self.archive: zipfile.ZipFile | None = None
        self.members: dict[str, zipfile.ZipInfo] = {}
        if location.is_file():
            try:
                self.archive = zipfile.ZipFile(location)
            except zipfile.BadZipFile as exc:
                raise ImportFormatError(
                    "import.bad_zip", f"not a zip file: {exc}", file=location
                ) from exc
            # Files sit at the archive's root; one enclosing folder is accepted.
            for info in self.archive.infolist():
                if not info.is_dir():
                    name = info.filename.rsplit("/", 1)[-1]
                    if info.filename.count("/") <= 1:
                        self.members.setdefault(name, info)

    def where(self, name: str) -> str:
        """How error messages name a file: its path, or ``archive.zip:member``."""
        if self.archive is not None:
            member = self.members.get(name)
            return f"{self.location}:{member.filename if member else name}"
        return str(self.location / name)

    def exists(self, name: str) -> bool:
        if self.archive is not None:
            return name in self.members
        return (self.location / name).is_file()

    def read(self, name: str) -> bytes:
        if self.archive is None:
            return (self.location / name).read_bytes()
        info = self.members[name]
        if info.file_size > MAX_MEMBER_BYTES:
            raise ImportFormatError(
                "import.too_large",
                f"{info.file_size} bytes uncompressed; the limit is {MAX_MEMBER_BYTES}",
                file=self.where(name),
            )
        return self.archive.read(info)

    def close(self) -> None:
        if self.archive is not None:
            self.archive.close()


class KlejImporter:
    """The ``klej_tsv`` importer (registered in ``IMPORTERS``)."""

    # find_task_folder may hand over ``<folder>.zip`` instead of a folder.
    reads_zip = True

    def check_options(self, task: TaskSpec) -> None:
        """Validate options now, so a typo fails when the catalogue loads."""
        config = KlejConfig.from_options(task.importer_options)
        extra = set(config.text_columns) - set(task.text_fields)
        if extra:
            raise ValueError(f"text_columns names unknown text fields {sorted(extra)}")
        if config.label_range is not None and task.type != "regression":
            raise ValueError("label_range is for regression tasks")
        if task.type not in ("classification", "regression"):
            raise ValueError(f"KLEJ has no {task.type} tasks")
        if config.dev_from_train and (
            task.train_split is None or len(task.eval_splits) != 1
        ):
            raise ValueError("dev_from_train needs a train split and one eval split")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read the task from its folder or zip; the eval split must be derivable."""
        config = KlejConfig.from_options(task.importer_options)
        source = _Source(folder)
        try:
            splits = self._read_splits(task, config, source)
        finally:
            source.close()
        return Dataset(task, splits)

    def _read_splits(
        self, task: TaskSpec, config: KlejConfig, source: _Source
    ) -> dict[str, list[dict[str, Any]]]:
        splits: dict[str, list[dict[str, Any]]] = {}
        carve = None
        for split in task.splits:
            name = task.files[split]
            if source.exists(name):
                splits[split] = read_klej_tsv(
                    source.read(name),
                    where=source.where(name),
                    task=task,
                    labelled=task.is_labelled(split),
                    config=config,
                )
            elif split in task.eval_splits and config.dev_from_train:
                carve = split
            elif split in task.eval_splits:
                raise missing_split(task, split, source.where(name))
        if carve is not None:
            train = task.train_split
            assert train is not None  # check_options guarantees it
            if train not in splits:
                raise ImportFormatError(
                    "import.missing_file",
                    f"missing: {task.name} has no {task.files[carve]}, so its "
                    f"{carve} split is carved from this file",
                    file=source.where(task.files[train]),
                )
            splits[train], splits[carve] = carve_dev(
                splits[train], fraction=config.dev_fraction, seed=config.dev_seed
            )
        return splits


IMPORTER = KlejImporter()


def carve_dev(
    rows: list[dict[str, Any]], *, fraction: float, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Split ``rows`` into (rest, dev): the dev rows are chosen by hashing idx.

    >>> rows = [{"idx": i} for i in range(20)]
    >>> rest, dev = carve_dev(rows, fraction=0.1, seed=0)
    >>> len(rest), len(dev), carve_dev(rows, fraction=0.1, seed=0)[1] == dev
    (18, 2, True)
    """
    if not rows:
        return [], []
    size = max(1, round(len(rows) * fraction))

    def rank(row: dict[str, Any]) -> bytes:
        return hashlib.sha256(f"{seed}:{row['idx']}".encode()).digest()

    chosen = {row["idx"] for row in sorted(rows, key=rank)[:size]}
    rest = [row for row in rows if row["idx"] not in chosen]
    dev = [row for row in rows if row["idx"] in chosen]
    return rest, dev


def read_klej_tsv(
    data: bytes, *, where: str, task: TaskSpec, labelled: bool, config: KlejConfig
) -> list[dict[str, Any]]:
    """Read one KLEJ TSV file (its bytes) into canonical rows.

    ``where`` names the file in error messages.
    """
    text = decode_utf8(data, where=where)
    text = text.removeprefix("\ufeff")

    def fail(line: int | None, message: str) -> ImportFormatError:
        return ImportFormatError("import.bad_row", message, file=where, line=line)

    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    columns = next(reader, None)
    if columns is None:
        raise fail(1, "empty file: expected a header line")
    if len(set(columns)) != len(columns):
        raise fail(1, f"a column name appears twice in {columns}")
    position = {name: i for i, name in enumerate(columns)}
    wanted = {f: config.text_columns.get(f, f) for f in task.text_fields}
    needed = list(wanted.values()) + ([config.label_column] if labelled else [])
    missing = [name for name in needed if name not in position]
    if missing:
        raise fail(1, f"header {columns} lacks the column(s) {missing}")
    if not labelled and config.label_column in position:
        raise fail(1, f"an unlabelled split has a label column {config.label_column!r}")
    label_index = {name: i for i, name in enumerate(task.labels or ())}

    rows: list[dict[str, Any]] = []
    for record in reader:
        line = reader.line_num
        if len(record) != len(columns):
            raise fail(
                line,
                f"expected {len(columns)} tab-separated columns, found {len(record)}",
            )
        row: dict[str, Any] = {"idx": len(rows)}
        for name, column in wanted.items():
            row[name] = record[position[column]]
        if labelled:
            raw = record[position[config.label_column]]
            row["label"] = parse_label(
                task,
                raw,
                label_index=label_index,
                label_range=config.label_range,
                fail=lambda message, line=line: fail(line, message),
            )
        rows.append(row)
    return rows
