"""Importer for Glew's own canonical JSONL: one ``<split>.jsonl`` file per split.

Generated tasks (LRA Pathfinder, the long-context builds) have no original
release; :func:`tasks.generators.generate_task` builds them and
:meth:`Dataset.to_jsonl` writes them. This importer reads such files back, so a
generated dataset can be stored, moved and imported like any other.
"""

from __future__ import annotations

from pathlib import Path

from tasks.dataset import Dataset
from tasks.importers.common import split_files
from tasks.specs import TaskSpec


class GlewJsonlImporter:
    """The ``glew_jsonl`` importer."""

    def check_options(self, task: TaskSpec) -> None:
        """No options."""
        if task.importer_options:
            raise ValueError("glew_jsonl takes no importer_options")

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read every declared split's file; all must be present."""
        files = {split: path.read_bytes() for split, path in split_files(task, folder)}
        return Dataset.from_jsonl(task, files)


IMPORTER = GlewJsonlImporter()
