"""Reads of the catalogue."""

import json

from django.core.files.storage import default_storage
from django.db.models import Prefetch, QuerySet

from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from tasks.errors import UserError


def suite_list() -> QuerySet[Suite]:
    return Suite.objects.prefetch_related(
        Prefetch("tasks", queryset=Task.objects.prefetch_related("dataset_versions"))
    )


def suite_get(slug: str) -> Suite:
    suite = suite_list().filter(slug=slug).first()
    if suite is None:
        names = ", ".join(Suite.objects.values_list("slug", flat=True)) or "none yet"
        raise UserError(
            "suite.not_found", f"There is no suite '{slug}' (known: {names})."
        )
    return suite


def task_get(name: str) -> Task:
    task = Task.objects.select_related("suite").filter(name=name).first()
    if task is None:
        raise UserError("task.not_found", f"There is no task '{name}'.")
    return task


def dataset_version_drafts(*, limit: int = 50) -> QuerySet[DatasetVersion]:
    """Dataset versions never published nor deprecated (``state`` "draft"), newest
    first: what curators have still to decide on."""
    drafts = DatasetVersion.objects.filter(
        published=False, deprecated=False, published_at__isnull=True
    )
    return drafts.select_related("task__suite").order_by("-created_at")[:limit]


def dataset_rows(version: DatasetVersion, split: str) -> list[dict]:
    """The rows of one split of a stored version, labels included.

    Platform-side only: the worker strips hidden labels before a sandbox sees rows.
    """
    with default_storage.open(version.files[split], "rb") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def dataset_version_get(task: Task, sha: str) -> DatasetVersion:
    """One of ``task``'s dataset versions by its sha256 (or a unique prefix of at
    least 12 characters, as pages show them)."""
    if len(sha) >= 12:
        found = list(task.dataset_versions.filter(sha256__startswith=sha)[:2])
        if len(found) == 1:
            return found[0]
    raise UserError(
        "dataset.not_found", f"Task {task.name} has no dataset version {sha!r}."
    )


def scored_task_version(*, task: Task, dataset_version: DatasetVersion) -> int:
    """The task version a result computed on ``dataset_version`` is stored under:
    the version of that data (``publishing``: a curated task's data changes move
    its version), else the task's."""
    if dataset_version.task_version is not None:
        return dataset_version.task_version
    return task.version
