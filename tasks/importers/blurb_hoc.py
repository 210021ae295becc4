"""Importer for HoC (Hallmarks of Cancer) as BLURB and BLUE release it.

The released ``train.tsv``, ``dev.tsv`` and ``test.tsv`` hold one *sentence* per
line, tab separated and unquoted, under the header ``labels<TAB>sentence<TAB>index``:

- ``labels``: the ten hallmarks as ``k_v`` items joined by commas, ``0_0,1_1,...,9_0``,
  where ``k`` is the hallmark's position in BLUE's ``LABELS`` list (alphabetical;
  the task spec lists its labels in that order) and ``v`` is 1 when the sentence
  discusses it. BLUE's evaluator (``blue/hoc/eval_hoc.py``) reads an empty cell as
  no hallmark, so this importer does too.
- ``sentence``: the text (the row's ``text`` field).
- ``index``: ``<abstract id>_s<sentence number>``, e.g. ``22355784_s0``. The
  abstract id (the part before ``_s``; BLUE takes everything before the first
  ``_``, the same for every well-formed index) becomes the row's ``document``,
  the task's ``group_field``: HoC is scored per abstract, the hallmarks of its
  sentences OR-ed (:mod:`tasks.scoring`).

``idx`` is the 0-based line number within the file (the index is not an integer).

Older Glew installations imported HoC from a mirror's JSON Lines (``train.jsonl``,
``dev.jsonl``, ``test.jsonl``: ``{"text": <abstract>, "labels": [<hallmark name>,
...]}``, one *abstract* per line). A split whose ``.tsv`` is absent is still read
from its ``.jsonl`` in that layout, each line its own document. Anything malformed
raises :class:`ImportFormatError` naming file and line.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.blurb import check_blurb_splits
from tasks.importers.common import decode_utf8, missing_split
from tasks.importers.datasets_files import (
    DatasetsFilesConfig,
    read_records,
    rows_from_records,
)
from tasks.specs import TaskSpec

HEADER = ("labels", "sentence", "index")
"""The released files' header line, in this order."""
INDEX_RE = re.compile(r"([^_\s]+)_s(\d+)")
"""A sentence index: the abstract (PubMed) id, ``_s``, the sentence number."""
HALLMARKS = 10
"""How many ``k_v`` items a labels cell has (BLUE's ``LABELS``)."""


class BlurbHocImporter:
    """The ``blurb_hoc`` importer (registered in ``IMPORTERS``)."""

    def check_options(self, task: TaskSpec) -> None:
        """HoC takes no options; the spec must be the multi-label, grouped task."""
        if task.importer_options:
            raise ValueError("blurb_hoc takes no importer_options")
        if task.type != "multilabel_classification" or task.group_field is None:
            raise ValueError("blurb_hoc is for a multi-label task with a group_field")
        if task.text_fields != ("text",) or len(task.labels or ()) != HALLMARKS:
            raise ValueError(
                f"blurb_hoc fills text_fields ['text'] and {HALLMARKS} labels"
            )
        for split, name in task.files.items():
            if not name.endswith(".tsv"):
                raise ValueError(f"files.{split} must be the released .tsv file")
        check_blurb_splits(task)

    def file_names(self, task: TaskSpec) -> set[str]:
        """Every file name that marks a folder as this task's: the released TSVs
        and the older JSON Lines beside them."""
        names = set(task.files.values())
        return names | {legacy_name(name) for name in names}

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read each split's TSV (or, without one, its JSON Lines); the scored
        splits must be there."""
        splits: dict[str, list[dict[str, Any]]] = {}
        for split in task.splits:
            path = folder / task.files[split]
            legacy = folder / legacy_name(task.files[split])
            labelled = task.is_labelled(split)
            if path.is_file():
                splits[split] = read_hoc_tsv(path, task=task, labelled=labelled)
            elif legacy.is_file():
                splits[split] = read_hoc_jsonl(legacy, task=task, labelled=labelled)
            elif split in task.eval_splits:
                raise missing_split(task, split, path)
        return Dataset(task, splits)


IMPORTER = BlurbHocImporter()


def legacy_name(name: str) -> str:
    """``train.tsv`` -> ``train.jsonl``: where an older import's file is."""
    return name.removesuffix(".tsv") + ".jsonl"


def read_hoc_tsv(path: Path, *, task: TaskSpec, labelled: bool) -> list[dict]:
    """Read one released HoC TSV into canonical rows (one per sentence)."""
    text = decode_utf8(path.read_bytes(), where=path).removeprefix("\ufeff")
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )

    def fail(line: int, message: str) -> ImportFormatError:
        return ImportFormatError("import.bad_row", message, file=path, line=line)

    header = next(reader, None)
    if header is None or tuple(header) != HEADER:
        raise fail(1, f"header {header} differs from the released {list(HEADER)}")
    group = task.group_field
    assert group is not None  # check_options
    rows: list[dict[str, Any]] = []
    for record in reader:
        line = reader.line_num
        if len(record) != len(HEADER):
            raise fail(line, f"expected 3 tab-separated columns, found {len(record)}")
        cell, sentence, index = record
        found = INDEX_RE.fullmatch(index)
        if found is None:
            raise fail(line, f"index {index!r} is not <abstract id>_s<number>")
        row: dict[str, Any] = {"idx": len(rows), "text": sentence}
        row[group] = found.group(1)
        if labelled:
            try:
                row["label"] = hallmark_set(cell)
            except ValueError as exc:
                raise fail(line, str(exc)) from None
        rows.append(row)
    return rows


def hallmark_set(cell: str) -> list[int]:
    """The hallmarks a labels cell marks present, as class indices.

    >>> hallmark_set("0_0,1_1,2_0,3_0,4_0,5_0,6_0,7_1,8_0,9_0")
    [1, 7]
    >>> hallmark_set("")
    []
    """
    if cell == "":
        return []
    items = cell.split(",")
    found: dict[int, str] = {}
    for item in items:
        hallmark, _, value = item.partition("_")
        if not hallmark.isdigit() or value not in ("0", "1"):
            raise ValueError(f"labels item {item!r} is not <hallmark>_<0|1>")
        if int(hallmark) in found:
            raise ValueError(f"labels cell names hallmark {hallmark} twice")
        found[int(hallmark)] = value
    if sorted(found) != list(range(HALLMARKS)):
        raise ValueError(
            f"labels cell {cell!r} must give each hallmark 0..{HALLMARKS - 1} once"
        )
    return sorted(k for k, v in found.items() if v == "1")


def read_hoc_jsonl(path: Path, *, task: TaskSpec, labelled: bool) -> list[dict]:
    """Read an older import's JSON Lines (one abstract per line, hallmark names),
    each line its own document."""
    config = DatasetsFilesConfig(label_column="labels")
    rows = rows_from_records(
        read_records(path, config),
        path=path,
        task=task,
        labelled=labelled,
        config=config,
    )
    group = task.group_field
    assert group is not None
    return [{**row, group: f"line-{row['idx'] + 1}"} for row in rows]
