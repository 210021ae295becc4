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


def dataset_rows(version: DatasetVersion, split: str) -> list[dict]:
    """The rows of one split of a stored version, labels included.

    Platform-side only: the worker strips hidden labels before a sandbox sees rows.
    """
    with default_storage.open(version.files[split], "rb") as handle:
        return [json.loads(line) for line in handle if line.strip()]
