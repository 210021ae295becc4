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
    ``path`` may also be one of those files (AdvGLUE's ``dev.json``): its folder
    is returned. For importers that read release archives in place (``reads_zip``,
    KLEJ), the archive ``path`` or ``path/<task.folder>.zip`` is returned as is.
    """
    path = Path(path)
    reads_zip = getattr(IMPORTERS.get(task.importer), "reads_zip", False)
    if path.is_file():
        if path.name in task.files.values():
            return path.parent
        return path if reads_zip and path.suffix.lower() == ".zip" else None
    archive = path / f"{task.folder}.zip"
    if reads_zip and archive.is_file() and not (path / task.folder).is_dir():
        return archive
    nested = path / task.folder
    for folder in (nested, path):
        # exists(), not is_file(): some releases name split folders (aclImdb/train).
        if folder.is_dir() and any((folder / f).exists() for f in task.files.values()):
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
    _register_lra()


def _register_lra() -> None:
    # LRA formats and Glew's own JSONL (generated tasks).
    from tasks.importers import aan_tsv, aclimdb, cifar_bin, glew_jsonl, lra_listops

    IMPORTERS.add("lra_listops", lra_listops.IMPORTER)
    IMPORTERS.add("aclimdb", aclimdb.IMPORTER)
    IMPORTERS.add("aan_tsv", aan_tsv.IMPORTER)
    IMPORTERS.add("cifar_bin", cifar_bin.IMPORTER)
    IMPORTERS.add("glew_jsonl", glew_jsonl.IMPORTER)


_register_builtin()


def _register_domain_formats() -> None:
    # AdvGLUE, KLEJ, BLURB and any task kept as CSV/JSON/Parquet files.
    from tasks.importers import advglue_json, blurb, datasets_files, klej

    IMPORTERS.add("advglue_json", advglue_json.IMPORTER)
    IMPORTERS.add("klej_tsv", klej.IMPORTER)
    IMPORTERS.add("blurb_tsv", blurb.IMPORTER)
    IMPORTERS.add("datasets_files", datasets_files.IMPORTER)


_register_domain_formats()

__all__ = [
    "IMPORTERS",
    "Importer",
    "SuiteImport",
    "find_task_folder",
    "load_suite",
    "load_task",
    "scan_suite",
]
