"""Writes to the catalogue: mirroring the task specs and importing dataset versions.

Publishing and its effect on task versions is ``publishing``'s; suites curated on
the site are ``curated``'s (their documents: ``documents``).
"""

import json
import logging

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from leaderboard.catalogue.audit import audit_record
from leaderboard.catalogue.documents import task_row_defaults
from leaderboard.catalogue.models import DatasetVersion, Origin, Suite, Task
from leaderboard.catalogue.publishing import dataset_version_act
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.catalogue.signals import announce_suite_change
from tasks import registry
from tasks.baselines import baseline_splits, baselines_from_labels
from tasks.dataset import Dataset
from tasks.fidelity import (
    deviation_text,
    split_size_report,
    suite_description,
    task_fidelity,
)
from tasks.preview import dataset_preview
from tasks.scoring import row_groups
from tasks.spec_files import default_catalogue
from tasks.specs import TaskSpec
from tasks.tagging import TOKEN_CLASSIFICATION, download_row, mention_counts

log = logging.getLogger("glew.catalogue")


@transaction.atomic
def catalogue_sync() -> list[Task]:
    """Create or update the Suite and Task rows from the catalogue in ``tasks/``.

    Rows are keyed by name, so running it again after a catalogue change updates
    titles, metrics and versions in place; results keep the version they stored.
    Only the files' suites are mirrored: a curated suite's rows follow its document
    (``documents.mirror_rows``), and one a file now names too is left alone.
    """
    synced = []
    changed_suites: set[int] = set()
    changed_tasks: list[str] = []
    for suite_spec in default_catalogue().suites:
        existing = Suite.objects.filter(slug=suite_spec.name).first()
        if existing is not None and existing.is_curated:
            log.error("suite %s is curated on the site; its file is ignored", existing)
            continue
        suite, _ = Suite.objects.update_or_create(
            slug=suite_spec.name,
            defaults={
                "title": suite_spec.title,
                # With its and its tasks' deviations from the published benchmark.
                "description": suite_description(suite_spec),
                "score_rule": suite_spec.score_rule_text,
            },
        )
        for spec in suite_spec.tasks:
            previous = (
                Task.objects.filter(name=spec.name).values_list("version", flat=True)
            ).first()
            if previous is not None and previous != spec.version:
                changed_suites.add(suite.pk)
                changed_tasks.append(spec.name)
            task, _ = Task.objects.update_or_create(
                name=spec.name, defaults={"suite": suite, **task_row_defaults(spec)}
            )
            synced.append(task)
    # A new task version may score otherwise (other metrics): so may learning nothing.
    for version in DatasetVersion.objects.filter(task__name__in=changed_tasks):
        dataset_version_refresh_baselines(version=version)
    for suite in Suite.objects.filter(pk__in=changed_suites):
        announce_suite_change(suite)
    return synced


def _datasheet(spec: TaskSpec, dataset: Dataset, source: str) -> dict:
    """What a version's page, the API and its download say about its data,
    including where it differs from the published benchmark (``tasks.fidelity``)."""
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
        **_fidelity(spec),
        "split_sizes": split_size_report(dataset),
        **(
            {"mentions": mention_counts(spec, dict(dataset.splits))}
            if spec.type == TOKEN_CLASSIFICATION
            else {}
        ),
    }


def _fidelity(spec: TaskSpec) -> dict:
    """The task's fidelity keys and its suite's deviations, as the spec says now."""
    suite = registry.get_suite(spec.suite)
    return {**task_fidelity(spec), "suite_deviations": list(suite.deviations)}


def dataset_version_store(
    *, dataset: Dataset, source: str, publish: bool = True, actor=None
) -> tuple[DatasetVersion, bool]:
    """Store an imported dataset as an immutable, content-addressed version.

    Returns ``(version, created)``. The same content imported again is a no-op that
    returns the existing version; different content makes a new version: published
    at once when ``publish`` (the import command's default; for a curated task
    through ``publishing``'s rule), else a draft to preview. A new version's
    counts, label distribution, preview, baselines and datasheet are computed here.
    """
    spec = dataset.task
    task = Task.objects.filter(name=spec.name).select_related("suite").first()
    if task is None:
        catalogue_sync()
        task = Task.objects.select_related("suite").get(name=spec.name)
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
    # A curated task's data is published through the version rule, after storing.
    direct = publish and task.suite.origin == Origin.FILE
    with transaction.atomic():
        version, created = DatasetVersion.objects.get_or_create(
            task=task,
            sha256=digest,
            defaults={
                "counts": dataset.counts(),
                "label_distribution": dataset.label_distribution(),
                "baselines": dataset_baselines(dataset),
                "datasheet": _datasheet(spec, dataset, source),
                "preview": dataset_preview(dataset),
                "files": files,
                "source": source[:500],
                "published": direct,
                "published_at": timezone.now() if direct else None,
                "created_by": actor if getattr(actor, "is_authenticated", 0) else None,
            },
        )
        if created:
            state = "published" if direct else "draft"
            audit_record(
                actor=actor,
                action="dataset.upload",
                summary=f"Imported data {digest[:12]} of {task.name} ({state}): "
                + ", ".join(f"{k} {v}" for k, v in sorted(dataset.counts().items())),
                version=version,
                details={"source": source[:500], "counts": dataset.counts()},
            )
    if created and direct:
        announce_suite_change(task.suite)
    elif created and publish:
        dataset_version_act(version=version, action="publish", actor=actor)
        version.refresh_from_db()
    log.info(
        "dataset %s: %s (%s)", version, "imported" if created else "exists", source
    )
    return version, created


def dataset_baselines(dataset: Dataset) -> dict:
    """The majority-class and chance baselines of a dataset (``tasks.baselines``)."""
    splits = [s for s in baseline_splits(dataset.task) if s in dataset.splits]
    return baselines_from_labels(
        dataset.task,
        {split: dataset.references(split) for split in splits},
        groups={s: row_groups(dataset.task, dataset.splits[s]) for s in splits},
    )


def dataset_version_refresh_baselines(*, version: DatasetVersion) -> dict:
    """Recompute a stored version's baselines from its files, under the task's
    current spec (a task version that changes its metrics changes them)."""
    spec = registry.get_task(version.task.name)
    rows = {
        split: dataset_rows(version, split)
        for split in baseline_splits(spec)
        if split in version.files
    }
    labels = {split: [row["label"] for row in found] for split, found in rows.items()}
    # A version imported before its task was scored per group has no groups:
    # its baselines then say so (tasks.baselines).
    groups = {
        split: row_groups(spec, found)
        for split, found in rows.items()
        if spec.group_field is None or all(spec.group_field in r for r in found)
    }
    version.baselines = baselines_from_labels(spec, labels, groups=groups)
    version.save(update_fields=["baselines"])
    return version.baselines


def dataset_version_set_published(
    *, version: DatasetVersion, published: bool, actor=None
) -> None:
    """Publish or withdraw a version (``publishing.dataset_version_act``). New
    evaluations use the newest published one; results keep pointing at the version
    they were scored on."""
    action = "publish" if published else "withdraw"
    dataset_version_act(version=version, action=action, actor=actor)
    version.refresh_from_db()


def dataset_version_deprecate(*, version: DatasetVersion, actor=None) -> None:
    """Mark a version deprecated: it stays linked to its results, shown as such, and is
    no longer offered for new evaluations."""
    dataset_version_act(version=version, action="deprecate", actor=actor)
    version.refresh_from_db()


def dataset_version_archive(*, version: DatasetVersion) -> bytes:
    """The standardized download: parquet and JSONL per split, datasheet, README.

    Labels of evaluation and test splits are never in it: evaluation labels are what
    the leaderboard is scored on, and test labels are not public.
    """
    import io
    import zipfile

    import pyarrow as pa
    import pyarrow.parquet as pq

    spec = registry.get_task(version.task.name)
    hidden = set(spec.eval_splits) | set(spec.test_splits)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        counts = {}
        for split in sorted(version.files):
            rows = dataset_rows(version, split)
            if split in hidden:
                rows = [{k: v for k, v in row.items() if k != "label"} for row in rows]
            if spec.type == TOKEN_CLASSIFICATION:
                rows = [download_row(spec, row) for row in rows]
            counts[split] = len(rows)
            jsonl = "".join(
                json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
                for row in rows
            )
            archive.writestr(f"{split}.jsonl", jsonl)
            table = pa.Table.from_pylist(rows)
            parquet = io.BytesIO()
            pq.write_table(table, parquet)
            archive.writestr(f"{split}.parquet", parquet.getvalue())
        datasheet = dict(version.datasheet)
        datasheet.update(
            {
                "sha256": version.sha256,
                "counts": counts,
                "labels_withheld": sorted(hidden & set(version.files)),
                "published": version.published,
                "deprecated": version.deprecated,
                # Deviations as the catalogue says now, for versions stored before.
                **_fidelity(spec),
            }
        )
        archive.writestr("datasheet.json", json.dumps(datasheet, indent=2))
        archive.writestr("README.md", _download_readme(spec, version, hidden))
    return buffer.getvalue()


def _download_readme(spec: TaskSpec, version: DatasetVersion, hidden: set[str]) -> str:
    withheld = ", ".join(sorted(hidden & set(version.files))) or "none"
    suite = registry.get_suite(spec.suite)
    differs = deviation_text([*suite.deviations, *spec.deviations])
    grouped = (
        f"- Scored per {spec.group_field} (the `{spec.group_field}` field): the "
        f"labels and predictions of its rows are OR-ed before the metric\n"
        if spec.group_field
        else ""
    )
    return (
        f"# {spec.title} ({spec.name}), dataset version {version.sha256[:12]}\n\n"
        f"{spec.description}\n\n"
        + (f"{differs}\n\n" if differs else "")
        + grouped
        + f"- Task type: {spec.type}; input fields: {', '.join(spec.text_fields)}\n"
        f"- Labels: {', '.join(spec.labels) if spec.labels else 'a number'}\n"
        f"- Metrics: {', '.join(spec.metrics)}\n"
        f"- Splits withheld without labels: {withheld}\n\n"
        + (
            "- Token task: each row's `tokens` (the words) and `tags` (one tag name "
            "per word)\n"
            if spec.type == TOKEN_CLASSIFICATION
            else ""
        )
        + "Each split is given as JSONL and as parquet with the same rows. Labels of\n"
        "the evaluation split are kept by the platform, which scores submissions on\n"
        "them.\n"
        "See datasheet.json for counts, label distribution and source.\n"
    )
