"""Importer for LRA Retrieval: the ACL Anthology Network pairs released with LRA.

Files ``new_aan_pairs.{train,eval,test}.tsv``: no header, five tab-separated
columns ``label, id1, id2, text1, text2`` (label ``0``/``1``, also written
``0.0``/``1.0``). Text is read as released (``csv.QUOTE_NONE``). Rows become
``{"idx", "text1", "text2", "label"}`` with ``idx`` the 0-based line number; the
paper ids are not kept (they are not model input). A line without exactly five
columns or with another label raises :class:`ImportFormatError` naming file and
line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasks.dataset import Dataset
from tasks.errors import ImportFormatError
from tasks.importers.common import decode_utf8, split_files
from tasks.specs import TaskSpec

LABELS = {"0": 0, "1": 1, "0.0": 0, "1.0": 1}


def read_aan(path: str | Path) -> list[dict[str, Any]]:
    """Read one AAN pairs file into canonical rows."""
    path = Path(path)
    data = path.read_bytes()
    text = decode_utf8(data, where=path)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rows = []
    for number, line in enumerate(lines, start=1):
        fields = line.split("\t")
        if len(fields) != 5:
            raise ImportFormatError(
                "import.bad_row",
                f"expected 5 tab-separated columns, found {len(fields)}",
                file=path,
                line=number,
            )
        if fields[0] not in LABELS:
            raise ImportFormatError(
                "import.bad_row",
                f"label {fields[0]!r} is not 0 or 1",
                file=path,
                line=number,
            )
        rows.append(
            {
                "idx": len(rows),
                "text1": fields[3],
                "text2": fields[4],
                "label": LABELS[fields[0]],
            }
        )
    return rows


class AanTsvImporter:
    """The ``aan_tsv`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """No options; the task must have the fields text1 and text2."""
        if task.importer_options:
            raise ValueError("aan_tsv takes no importer_options")
        if task.text_fields != ("text1", "text2"):
            raise ValueError("aan_tsv fills the text fields 'text1' and 'text2'")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared split; all must be present."""
        splits = {split: read_aan(path) for split, path in split_files(task, folder)}
        return Dataset(task, splits)


IMPORTER = AanTsvImporter()
