"""Importers: read a task's original release files into a :class:`Dataset`.

One module per file format (``glue_tsv``, ...), each registered in ``IMPORTERS``
under the name a task spec's ``importer`` key uses. :func:`load_task` and
:func:`load_suite` find the task folders; the importer reads the files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tasks.dataset import Dataset
from tasks.errors import UserError
from tasks.registry import Registry, get_suite, get_task
from tasks.specs import TaskSpec

logger = logging.getLogger(__name__)


class Importer(Protocol):
    """What a format module provides."""

    def check_options(self, task: TaskSpec) -> None:
        """Raise ValueError if ``task.importer_options`` are not valid options."""

    def load(self, task: TaskSpec, folder: Path) -> Dataset:
        """Read the task's files from ``folder`` (the task's own release folder)."""


IMPORTERS: Registry[Importer] = Registry("format", error_code="import.unknown_format")


def find_task_folder(task: TaskSpec, path: str | Path) -> Path | None:
    """Locate ``task``'s folder: ``path`` itself, or ``path/<task.folder>``.

    ``path`` is the task's folder when it holds one of the task's declared files.
    """
    path = Path(path)
    nested = path / task.folder
    for folder in (nested, path):
        if folder.is_dir() and any((folder / f).is_file() for f in task.files.values()):
            return folder
    return None


def load_task(
    task_name: str, path: str | Path, *, format: str | None = None
) -> Dataset:
    """Import ``task_name`` from its original release layout under ``path``.

    ``path`` is the task's folder (e.g. ``.../glue/SST-2``) or a suite root holding
    it (``.../glue``). ``format`` overrides the task's declared importer.
    """
    task = get_task(task_name)
    importer = IMPORTERS[format or task.importer]
    folder = find_task_folder(task, path)
    if folder is None:
        raise UserError(
            "import.task_not_found",
            f"no files of {task.name} ({', '.join(sorted(set(task.files.values())))}) "
            f"in {path} or {Path(path) / task.folder}",
        )
    return importer.load(task, folder)


@dataclass(frozen=True)
class SuiteImport:
    """Which tasks of a suite were found under a path (for reporting)."""

    found: tuple[str, ...]
    missing: tuple[str, ...]


def scan_suite(suite_name: str, path: str | Path) -> SuiteImport:
    """Report which of the suite's task folders exist under ``path``."""
    suite = get_suite(suite_name)
    found = tuple(t.name for t in suite.tasks if find_task_folder(t, path) is not None)
    missing = tuple(t.name for t in suite.tasks if t.name not in found)
    return SuiteImport(found=found, missing=missing)


def load_suite(suite_name: str, path: str | Path) -> list[Dataset]:
    """Import every task of the suite whose folder is under ``path``.

    Tasks whose folder is absent are logged and left out (a suite is often
    downloaded in parts); finding none at all is an error.
    """
    scan = scan_suite(suite_name, path)
    if not scan.found:
        raise UserError(
            "import.suite_not_found",
            f"no task folder of suite {suite_name!r} in {path}",
        )
    logger.info(
        "importing %s from %s: found %s; missing %s",
        suite_name,
        path,
        ", ".join(scan.found),
        ", ".join(scan.missing) or "none",
    )
    return [load_task(name, path) for name in scan.found]


def _register_builtin() -> None:
    from tasks.importers import glue_tsv

    IMPORTERS.add("glue_tsv", glue_tsv.IMPORTER)


_register_builtin()

__all__ = [
    "IMPORTERS",
    "Importer",
    "SuiteImport",
    "find_task_folder",
    "load_suite",
    "load_task",
    "scan_suite",
]
