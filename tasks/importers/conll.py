"""Importer for CoNLL-style token files: one word per line, its tag last.

The layout BLURB releases its NER and PICO sets in (``train.tsv``, ``dev.tsv``,
``test.tsv``), and CoNLL-2003's: each line is a word and its tag separated by
tabs (``token<TAB>tag``; extra middle columns, as CoNLL-2003's POS and chunk
columns, are ignored), a blank line ends a sentence, and ``-DOCSTART-`` lines
(EBM PICO, CoNLL-2003) separate documents and are not sentences. No header.

Rows are ``{"idx": <sentence number in the file>, "tokens": [...], "label":
[tag index, ...]}`` (:mod:`tasks.tagging`). Strict, as every importer here: a
line without its tag, a tag outside the task's tag set, a tag the scheme does not
allow where it stands (a stray ``I``, see :mod:`tasks.tagging`) or an empty split
raises :class:`ImportFormatError` naming file and line, and nothing is imported.
A stray ``I`` is rewritten to ``B`` only when the task's ``stray_inside`` option
says ``begin`` (conlleval's reading, which seqeval's default mode scores the same),
and the number rewritten is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, split_files
from tasks.specs import TaskSpec
from tasks.tagging import (
    SCHEMES,
    TOKEN_CLASSIFICATION,
    as_begin,
    check_tag_set,
    stray_inside,
)

log = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"


@dataclass(frozen=True)
class ConllConfig:
    """How to read the task's CoNLL files.

    Attributes:
        scheme: ``BIO`` (``B``/``I`` prefixes, NER) or ``IO`` (``I`` only, EBM
            PICO); the task's ``labels`` must be ``O`` plus tags of that scheme.
        stray_inside: what to do with an ``I`` tag that starts no mention under
            BIO: ``error`` (the default: the file is refused, naming the line) or
            ``begin`` (read as ``B`` of its type, conlleval's rule).
    """

    scheme: str = "BIO"
    stray_inside: str = "error"

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ConllConfig:
        """Build a config from a spec table; bad options raise ValueError."""
        unknown = set(options) - {"scheme", "stray_inside"}
        if unknown:
            raise ValueError(f"unknown conll options: {', '.join(sorted(unknown))}")
        config = cls(**options)
        if config.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)}")
        if config.stray_inside not in ("error", "begin"):
            raise ValueError("stray_inside must be 'error' or 'begin'")
        return config


class ConllImporter:
    """The ``conll`` importer (registered in ``IMPORTERS``)."""

    def check_options(self, task: TaskSpec) -> None:
        """The options parse, the task is a token task, its tags fit the scheme."""
        config = ConllConfig.from_options(task.importer_options)
        if task.type != TOKEN_CLASSIFICATION:
            raise ValueError("conll is for token_classification tasks")
        check_tag_set(task.labels or (), config.scheme)

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every split present; the scored splits must be there."""
        config = ConllConfig.from_options(task.importer_options)
        splits = {
            split: read_conll(
                path, task=task, config=config, labelled=task.is_labelled(split)
            )
            for split, path in split_files(task, folder, required=task.eval_splits)
        }
        return Dataset(task, splits)


IMPORTER = ConllImporter()


def read_sentences(path: Path) -> list[list[tuple[int, list[str]]]]:
    """The file's sentences: each a list of (line number, tab-separated cells)."""
    text = decode_utf8(path.read_bytes(), where=path).removeprefix("\ufeff")
    sentences: list[list[tuple[int, list[str]]]] = [[]]
    for number, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
        if not line.strip() or line.split("\t")[0].split(" ")[0] == DOCSTART:
            if sentences[-1]:
                sentences.append([])
            continue
        sentences[-1].append((number, line.split("\t")))
    return [sentence for sentence in sentences if sentence]


def read_conll(
    path: Path, *, task: TaskSpec, config: ConllConfig, labelled: bool
) -> list[dict[str, Any]]:
    """Read one split's file into token rows (see the module docstring)."""
    assert task.labels is not None
    index = {tag: i for i, tag in enumerate(task.labels)}
    field = task.text_fields[0]
    rows: list[dict[str, Any]] = []
    repaired = 0
    for sentence in read_sentences(path):
        words, tags, lines = [], [], []
        for number, cells in sentence:
            if (labelled and len(cells) < 2) or not cells[0].strip():
                raise ImportFormatError(
                    "import.bad_row",
                    "a token line needs the word, a tab and its tag",
                    file=path,
                    line=number,
                )
            words.append(cells[0])
            lines.append(number)
            if labelled:
                tag = cells[-1].strip()
                if tag not in index:
                    raise ImportFormatError(
                        "import.bad_row",
                        f"tag {tag!r} is not in the task's tag set {list(task.labels)}",
                        file=path,
                        line=number,
                    )
                tags.append(tag)
        if labelled and config.scheme == "BIO":
            for position in stray_inside(tags):
                if config.stray_inside == "error":
                    raise ImportFormatError(
                        "import.bad_row",
                        f"tag {tags[position]!r} starts no mention (BIO needs a B "
                        "tag or an I tag of the same type before it)",
                        file=path,
                        line=lines[position],
                    )
                tags[position] = as_begin(tags[position])
                repaired += 1
                if tags[position] not in index:
                    raise ImportFormatError(
                        "import.bad_row",
                        f"tag {tags[position]!r} (the repair of a stray I) is not "
                        "in the task's tag set",
                        file=path,
                        line=lines[position],
                    )
        row: dict[str, Any] = {"idx": len(rows), field: words}
        if labelled:
            row["label"] = [index[tag] for tag in tags]
        rows.append(row)
    if not rows:
        raise ImportFormatError(
            "import.empty_split", "the file holds no sentence", file=path
        )
    if repaired:
        log.warning("%s: %d stray I tags read as B (conlleval's rule)", path, repaired)
    return rows
