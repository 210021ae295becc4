"""Find a task's release files under a path and import them with its importer.

:func:`load_task` and :func:`load_suite` find the task folders; the importer named
by the task's spec (``tasks.importers.formats``) reads the files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tasks.errors import UserError
from tasks.fidelity import split_size_report
from tasks.importers.formats import IMPORTERS
from tasks.registry import get_suite, get_task

if TYPE_CHECKING:
    from tasks.dataset import Dataset
    from tasks.specs import TaskSpec

logger = logging.getLogger(__name__)


def find_task_folder(task: TaskSpec, path: str | Path) -> Path | None:
    """Locate ``task``'s folder: ``path`` itself, or ``path/<task.folder>``.

    ``path`` is the task's folder when it holds one of the task's declared files.
    ``path`` may also be one of those files (AdvGLUE's ``dev.json``): its folder
    is returned. For importers that read release archives in place (``reads_zip``,
    KLEJ), the archive ``path`` or ``path/<task.folder>.zip`` is returned as is.
    """
    path = Path(path)
    importer = IMPORTERS.get(task.importer)
    reads_zip = getattr(importer, "reads_zip", False)
    # An importer that also reads an older layout (HoC's JSON Lines) says which
    # other file names mark the folder.
    names = getattr(importer, "file_names", lambda t: set(t.files.values()))(task)
    if path.is_file():
        if path.name in names:
            return path.parent
        return path if reads_zip and path.suffix.lower() == ".zip" else None
    archive = path / f"{task.folder}.zip"
    if reads_zip and archive.is_file() and not (path / task.folder).is_dir():
        return archive
    nested = path / task.folder
    for folder in (nested, path):
        # exists(), not is_file(): some releases name split folders (aclImdb/train).
        if folder.is_dir() and any((folder / f).exists() for f in names):
            return folder
    return None


def load_task(
    task_name: str, path: str | Path, *, format: str | None = None
) -> Dataset:
    """Import ``task_name`` from its original release layout under ``path``.

    ``path`` is the task's folder (e.g. ``.../glue/SST-2``) or a suite root holding
    it (``.../glue``). ``format`` overrides the task's declared importer.
    """
    return load_task_spec(get_task(task_name), path, format=format)


def load_task_spec(
    task: TaskSpec, path: str | Path, *, format: str | None = None
) -> Dataset:
    """:func:`load_task` for a spec in hand (one not in the catalogue yet: a task
    bundle's, checked before the suite it declares is stored)."""
    importer = IMPORTERS[format or task.importer]
    folder = find_task_folder(task, path)
    if folder is None:
        raise UserError(
            "import.task_not_found",
            f"no files of {task.name} ({', '.join(sorted(set(task.files.values())))}) "
            f"in {path} or {Path(path) / task.folder}",
        )
    dataset = importer.load(task, folder)
    report = split_size_report(dataset)
    if report is not None and not report["matches"]:
        # Kept (a subset is fine for development), labelled in the datasheet.
        logger.warning("%s from %s: %s", task.name, folder, report["note"])
    return dataset


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


__all__ = [
    "SuiteImport",
    "find_task_folder",
    "load_suite",
    "load_task",
    "load_task_spec",
    "scan_suite",
]
