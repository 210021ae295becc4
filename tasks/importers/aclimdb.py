"""Importer for the IMDB reviews release (``aclImdb_v1.tar.gz``), for LRA Text.

Layout: ``aclImdb/{train,test}/{neg,pos}/<id>_<rating>.txt``, one review per file
(UTF-8, kept byte for byte, ``<br />`` tags included: LRA reads raw bytes). The
task's ``files`` name the split folders. Rows are ``{"idx", "text", "label"}``
with label 0 for ``neg`` and 1 for ``pos``; within a split, negatives come first,
each class in numeric ``id`` order, so ``idx`` does not depend on the file
system's listing order. Other files in the split folder (``unsup/``,
``labeledBow.feat``, ``urls_*.txt``) are not reviews with labels and are ignored.
A review file with a bad name, a rating outside its class (neg 1-4, pos 7-10), or
bytes that are not UTF-8 raises :class:`ImportFormatError` naming the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, split_files
from tasks.specs import TaskSpec

CLASSES = (("neg", range(1, 5)), ("pos", range(7, 11)))
NAME = re.compile(r"(\d+)_(\d+)\.txt")


def read_split(folder: str | Path) -> list[dict[str, Any]]:
    """Read ``folder/neg/*.txt`` and ``folder/pos/*.txt`` into canonical rows."""
    folder = Path(folder)
    rows: list[dict[str, Any]] = []
    for label, (name, ratings) in enumerate(CLASSES):
        class_dir = folder / name
        if not class_dir.is_dir():
            raise ImportFormatError(
                "import.missing_file", f"missing the {name}/ folder", file=class_dir
            )
        reviews = []
        for path in class_dir.iterdir():
            match = NAME.fullmatch(path.name)
            if match is None or not path.is_file():
                raise ImportFormatError(
                    "import.bad_file",
                    "expected review files named <id>_<rating>.txt",
                    file=path,
                )
            review_id, rating = int(match[1]), int(match[2])
            if rating not in ratings:
                raise ImportFormatError(
                    "import.bad_file",
                    f"rating {rating} does not belong in {name}/",
                    file=path,
                )
            reviews.append((review_id, path))
        reviews.sort()
        for _review_id, path in reviews:
            data = path.read_bytes()
            text = decode_utf8(data, where=path)
            rows.append({"idx": len(rows), "text": text, "label": label})
    return rows


class AclImdbImporter:
    """The ``aclimdb`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """No options; the task must have one text field and two labels."""
        if task.importer_options:
            raise ValueError("aclimdb takes no importer_options")
        if task.text_fields != ("text",) or task.num_labels != 2:
            raise ValueError("aclimdb fills one 'text' field with binary labels")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared split folder; all must be present."""
        splits = {
            split: read_split(path)
            for split, path in split_files(task, folder, kind="folder")
        }
        return Dataset(task, splits)


IMPORTER = AclImdbImporter()
