"""Suites curated on the site: their spec kept in the database, seen by the registry.

A curated suite's spec is ``Suite.document``: the same tables a file in
``tasks/catalogue/`` holds, as parsed TOML, validated by the same code
(``tasks.spec_files.suite_from_document``). Nothing on disk is edited.

``tasks/`` imports no Django, so the registry learns about these suites through a
catalogue source this module registers at start-up (:func:`connect_registry`,
from ``CatalogueConfig.ready``, in every process: web, worker, commands): its
``load`` validates each stored document, its ``stamp`` is the number of curated
suites and the sum of their ``revision`` (one generation stamp; every change of a
document adds 1). The process that changes a document tells the registry at once
(:func:`document_save`); others see the change within
``GLEW_CATALOGUE_RECHECK_SECONDS``, and at once when they look up a name they do
not know yet (a worker given a job on a task created a moment ago).

The rows (``Suite``, ``Task``) mirror the document, as ``catalogue_sync`` mirrors
the files: :func:`mirror_rows`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import fields
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Count, Sum

from leaderboard.catalogue.models import Origin, Suite, Task
from tasks import registry
from tasks.errors import GlewError
from tasks.fidelity import suite_description, task_description
from tasks.prompts import Prompt
from tasks.spec_files import suite_from_document
from tasks.specs import SuiteSpec, TaskSpec

log = logging.getLogger("glew.catalogue")

SOURCE_NAME = "database"
# A process that may not use the database (a test without database access) has no
# curated suites, rather than failing every lookup of a file suite.
_NO_DATABASE = (DatabaseError, RuntimeError)


def spec_json(spec: TaskSpec) -> dict:
    """The spec as JSON-safe data (tuples become lists, mappings dicts)."""
    data = {f.name: getattr(spec, f.name) for f in fields(spec)}
    return json.loads(json.dumps(data, default=_plain))


def _plain(value: Any) -> Any:
    """A spec value JSON does not know: a prompt (its table), or a mapping."""
    return value.to_dict() if isinstance(value, Prompt) else dict(value)


def task_row_defaults(spec: TaskSpec, *, position: int = 0) -> dict[str, Any]:
    """The ``Task`` row's columns for ``spec`` (without its suite)."""
    return {
        "key": spec.key,
        "title": spec.title,
        # With its deviations from the published benchmark, where it has any.
        "description": task_description(spec),
        "task_type": spec.type,
        "version": spec.version,
        "metrics": list(spec.metrics),
        "primary_metric": spec.primary_metric,
        "in_suite_score": spec.in_suite_score,
        "spec": spec_json(spec),
        "position": position,
    }


def curated_stamp() -> tuple[int, int] | None:
    """Changes whenever a curated suite's document does (count, sum of revisions)."""
    try:
        with transaction.atomic():  # a savepoint: a failure leaves the caller's
            row = Suite.objects.filter(origin=Origin.CURATED).aggregate(
                suites=Count("id"), revisions=Sum("revision")
            )
    except _NO_DATABASE:
        return None  # before the migration that adds curated suites, or no database
    return row["suites"], row["revisions"] or 0


def curated_specs() -> list[SuiteSpec]:
    """Every curated suite's spec; one whose stored document no longer validates
    (a metric renamed in the code since) is left out and logged, not fatal."""
    try:
        with transaction.atomic():
            rows = list(
                Suite.objects.filter(origin=Origin.CURATED)
                .order_by("slug")
                .values_list("slug", "document")
            )
    except _NO_DATABASE:
        return []
    specs = []
    for slug, document in rows:
        try:
            specs.append(suite_from_document(document, source=source_label(slug)))
        except GlewError as error:
            log.error("curated suite %s is left out: %s", slug, error)
    return specs


def source_label(slug: str) -> str:
    """How errors name a curated suite's spec."""
    return f"suite {slug!r} (kept on the site)"


def connect_registry() -> None:
    """Register the curated suites as a catalogue source of ``tasks.registry``."""
    registry.RECHECK_SECONDS = float(settings.GLEW_CATALOGUE_RECHECK_SECONDS)
    registry.add_catalogue_source(SOURCE_NAME, load=curated_specs, stamp=curated_stamp)


def document_save(*, suite: Suite, document: dict) -> SuiteSpec:
    """Validate and store a curated suite's document, mirror its rows and tell the
    registry; returns the new spec. The caller holds the transaction."""
    spec = suite_from_document(document, source=source_label(suite.slug))
    suite.origin = Origin.CURATED
    suite.document = document
    suite.revision += 1
    mirror_rows(suite=suite, spec=spec)
    registry.catalogue_changed()
    transaction.on_commit(registry.catalogue_changed)
    return spec


def mirror_rows(*, suite: Suite, spec: SuiteSpec) -> list[Task]:
    """The ``Suite`` row's columns and one ``Task`` row per task, in suite order."""
    suite.title = spec.title
    suite.description = suite_description(spec)
    suite.score_rule = spec.score_rule_text
    suite.save()
    return [
        Task.objects.update_or_create(
            name=task.name,
            defaults={"suite": suite, **task_row_defaults(task, position=position)},
        )[0]
        for position, task in enumerate(spec.tasks)
    ]


def task_version_set(*, task: Task, version: int) -> None:
    """Move a curated task to ``version`` (its data changed): in its suite's
    document, its row and the registry. The caller holds the transaction."""
    suite = Suite.objects.select_for_update().get(pk=task.suite_id)
    document = json.loads(json.dumps(suite.document))
    document["tasks"][task.key]["version"] = version
    document_save(suite=suite, document=document)
    task.refresh_from_db()
