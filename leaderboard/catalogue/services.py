"""Writes to the catalogue: mirroring the task specs and importing dataset versions."""

import json
import logging
from dataclasses import fields
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from tasks import registry
from tasks.dataset import Dataset
from tasks.importers import load_task
from tasks.specs import TaskSpec

log = logging.getLogger("glew.catalogue")


def _task_spec_json(spec: TaskSpec) -> dict:
    """The spec as JSON-safe data (tuples become lists, mappings dicts)."""
    data = {f.name: getattr(spec, f.name) for f in fields(spec)}
    return json.loads(json.dumps(data, default=dict))


@transaction.atomic
def catalogue_sync() -> list[Task]:
    """Create or update the Suite and Task rows from the catalogue in ``tasks/``.

    Rows are keyed by name, so running it again after a catalogue change updates
    titles, metrics and versions in place; results keep the version they stored.
    """
    synced = []
    for suite_spec in registry.all_suites():
        suite, _ = Suite.objects.update_or_create(
            slug=suite_spec.name,
            defaults={
                "title": suite_spec.title,
                "description": suite_spec.description,
                "score_rule": suite_spec.score_rule_text,
            },
        )
        for spec in suite_spec.tasks:
            task, _ = Task.objects.update_or_create(
                name=spec.name,
                defaults={
                    "suite": suite,
                    "key": spec.key,
                    "title": spec.title,
                    "description": spec.description,
                    "task_type": spec.type,
                    "version": spec.version,
                    "metrics": list(spec.metrics),
                    "primary_metric": spec.primary_metric,
                    "in_suite_score": spec.in_suite_score,
                    "spec": _task_spec_json(spec),
                },
            )
            synced.append(task)
    return synced


def _datasheet(spec: TaskSpec, dataset: Dataset, source: str) -> dict:
    return {
        "task": spec.name,
        "title": spec.title,
        "description": spec.description,
        "task_type": spec.type,
        "fields": list(spec.text_fields),
        "labels": list(spec.labels) if spec.labels else None,
        "metrics": list(spec.metrics),
        "evaluation_splits": list(spec.eval_splits),
        "counts": dataset.counts(),
        "source": source,
        "task_version": spec.version,
    }


def dataset_version_store(
    *, dataset: Dataset, source: str, publish: bool = True
) -> tuple[DatasetVersion, bool]:
    """Store an imported dataset as an immutable, content-addressed version.

    Returns ``(version, created)``. The same content imported again is a no-op that
    returns the existing version; different content makes a new version.
    """
    spec = dataset.task
    task = Task.objects.filter(name=spec.name).first()
    if task is None:
        catalogue_sync()
        task = Task.objects.get(name=spec.name)
    digest = dataset.sha256()
    existing = DatasetVersion.objects.filter(task=task, sha256=digest).first()
    if existing is not None:
        return existing, False
    files = {}
    for split in sorted(dataset.splits):
        name = f"datasets/{spec.suite}/{spec.key}/{digest}/{split}.jsonl"
        if not default_storage.exists(name):
            name = default_storage.save(name, ContentFile(dataset.to_jsonl(split)))
        files[split] = name
    with transaction.atomic():
        version, created = DatasetVersion.objects.get_or_create(
            task=task,
            sha256=digest,
            defaults={
                "counts": dataset.counts(),
                "label_distribution": dataset.label_distribution(),
                "datasheet": _datasheet(spec, dataset, source),
                "files": files,
                "source": source[:500],
                "published": publish,
            },
        )
    log.info(
        "dataset %s: %s (%s)", version, "imported" if created else "exists", source
    )
    return version, created


def dataset_version_import(
    *, task_name: str, path: Path, format: str | None = None
) -> tuple[DatasetVersion, bool]:
    """Import a task's files in their original release layout (``tasks.importers``)."""
    dataset = load_task(task_name, Path(path), format=format)
    return dataset_version_store(dataset=dataset, source=str(path))
