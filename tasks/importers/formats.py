"""The importer of each original file format, by the name a task spec uses.

Entries are ``"module:object"`` names, imported on first use (``tasks.names``), so
the catalogue can check a spec's ``importer`` and its options without this module
importing any importer code up front, and without an import cycle between the specs
and the importers that read them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from tasks.names import Registry

if TYPE_CHECKING:
    from tasks.dataset import Dataset
    from tasks.specs import TaskSpec


class Importer(Protocol):
    """What a format module provides (as its ``IMPORTER``)."""

    def check_options(self, task: TaskSpec) -> None:
        """Raise ValueError if ``task.importer_options`` are not valid options."""

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read the task's files from ``folder`` (the task's own release folder)."""


IMPORTERS: Registry[Importer] = Registry("format", error_code="import.unknown_format")

for _name, _module in {
    "glue_tsv": "glue_tsv",
    # LRA formats and Glew's own JSONL (generated tasks).
    "lra_listops": "lra_listops",
    "aclimdb": "aclimdb",
    "aan_tsv": "aan_tsv",
    "cifar_bin": "cifar_bin",
    "lra_pathfinder32": "pathfinder32",
    "glew_jsonl": "glew_jsonl",
    # AdvGLUE, KLEJ, BLURB and any task kept as CSV/JSON/Parquet files.
    "advglue_json": "advglue_json",
    "klej_tsv": "klej",
    "blurb_tsv": "blurb",
    "blurb_hoc": "blurb_hoc",
    "datasets_files": "datasets_files",
    # Token-level tasks: CoNLL-style word-per-line files (BLURB NER and PICO).
    "conll": "conll",
    # Tables as the Hugging Face Hub publishes them (LEPISZCZE): Parquet or JSON
    # Lines per split, tags and labels as names or ClassLabel indices.
    "hf_files": "hf_files",
}.items():
    IMPORTERS.add_lazy(_name, f"tasks.importers.{_module}:IMPORTER")
