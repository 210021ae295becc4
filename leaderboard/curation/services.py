"""Task bundles through the web: upload, confirm, import.

:func:`bundle_create` runs in the request: the upload is streamed to a private
temporary file under the upload cap (``submissions.intake.upload_receive``, as for
models), its zip entries and sizes checked (``archive``), its spec validated by the
catalogue's own validator (errors name the line, with "did you mean") and by the
versioning rules (``catalogue.curated``); only then is the zip stored (the storage
API, so a worker elsewhere can fetch it) and a :class:`Bundle` row made. Anything
refused leaves no row and no file. An update whose spec would change scores
already on a board waits for a curator to confirm the impact shown
(:func:`bundle_confirm`); everything else is queued at once.

:func:`bundle_process` is the import job (Celery, ``tasks.process_bundle``): it
fetches and re-checks the zip, unpacks it, runs the same importers as
``manage.py import_task`` with progress, and in one transaction saves the suite
(``curated_suite_save``) and stores each task's data as a draft dataset version
(with counts, label distribution, preview, baselines and datasheet) to preview and
publish. A failure stores nothing but the reason on the bundle.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction

from leaderboard.catalogue.curated import (
    SpecError,
    curated_suite_plan,
    curated_suite_save,
)
from leaderboard.catalogue.models import Task
from leaderboard.catalogue.services import catalogue_sync, dataset_version_store
from leaderboard.curation.archive import (
    BundleArchive,
    bundle_extract,
    bundle_inspect,
    check_task_paths,
    declares_files,
    remove_extracted,
)
from leaderboard.curation.impact import suite_plan_impact
from leaderboard.curation.models import Bundle, BundleKind, BundleStatus
from leaderboard.curation.permissions import require_staff
from leaderboard.curation.status import bundle_move, bundle_progress
from leaderboard.submissions import queueing
from leaderboard.submissions.intake import upload_receive
from runners.archives import ArchiveLimits
from tasks import registry
from tasks.errors import CatalogueError, GlewError, UserError
from tasks.importers.loading import find_task_folder, load_task_spec
from tasks.spec_files import parse_spec_text
from tasks.specs import SuiteSpec

log = logging.getLogger("glew.curation")

PROCESS_BUNDLE = "glew.process_bundle"
"""The Celery task that imports a bundle (``leaderboard.curation.tasks``)."""


def _limits() -> ArchiveLimits:
    return ArchiveLimits(max_archive_bytes=settings.GLEW_MAX_UPLOAD_BYTES)


def bundle_spec(text: str, *, source: str) -> tuple[SuiteSpec, dict]:
    """A bundle's spec, validated; :class:`SpecError` naming the line otherwise."""
    try:
        spec, document = parse_spec_text(text, source=source)
    except CatalogueError as error:
        raise SpecError.from_catalogue(error) from None
    for task in spec.tasks:
        check_task_paths(task, text=text, source=source)
    return spec, document


def _check_suite_bundle(archive: BundleArchive) -> tuple[SuiteSpec, dict]:
    spec, _ = bundle_spec(archive.spec_text or "", source=archive.spec_name or "")
    plan = curated_suite_plan(
        spec=spec, text=archive.spec_text, source=archive.spec_name
    )
    if not any(declares_files(task, archive) for task in spec.tasks):
        names = sorted({n for t in spec.tasks for n in t.files.values()})
        raise UserError(
            "bundle.no_data",
            f"The bundle holds none of the files its spec names ({', '.join(names)}).",
        )
    impact = suite_plan_impact(plan)
    return spec, {"plan": plan.as_data(), "impact": impact.as_data()}


def _check_data_upload(task_name: str, archive: BundleArchive) -> Task:
    spec = registry.get_task(task_name)
    if not Task.objects.filter(name=spec.name).exists():
        catalogue_sync()  # a file task whose rows were never mirrored yet
    task = Task.objects.select_related("suite").get(name=spec.name)
    if not declares_files(spec, archive):
        raise UserError(
            "bundle.no_data",
            f"The zip holds none of {spec.name}'s files "
            f"({', '.join(sorted(set(spec.files.values())))}).",
        )
    return task


def bundle_create(
    *, actor, archive_stream: IO[bytes], filename: str = "", task_name: str = ""
) -> Bundle:
    """Check an uploaded bundle (or, with ``task_name``, data for that task) and
    keep it for import; see the module docstring. Staff only."""
    require_staff(actor, action="upload task bundles")
    upload = upload_receive(
        stream=archive_stream, max_bytes=settings.GLEW_MAX_UPLOAD_BYTES
    )
    stored = None
    try:
        archive = bundle_inspect(upload.path, limits=_limits(), want_spec=not task_name)
        fields = {"kind": BundleKind.SUITE, "status": BundleStatus.QUEUED}
        if task_name:
            task = _check_data_upload(task_name, archive)
            fields.update(
                kind=BundleKind.DATA, task_name=task.name, suite_slug=task.suite.slug
            )
        else:
            spec, plan = _check_suite_bundle(archive)
            fields.update(
                suite_slug=spec.name,
                spec_name=archive.spec_name,
                spec_text=archive.spec_text,
                plan=plan,
            )
            if plan["impact"]["changes_scores"]:
                fields["status"] = BundleStatus.AWAITING
        with upload.path.open("rb") as handle:
            stored = default_storage.save(f"bundles/{upload.sha256}.zip", File(handle))
        with transaction.atomic():
            bundle = Bundle.objects.create(
                uploaded_by=actor,
                filename=(filename or "")[:255],
                sha256=upload.sha256,
                size_bytes=upload.size,
                storage_name=stored,
                **fields,
            )
            if bundle.status == BundleStatus.QUEUED:
                transaction.on_commit(lambda: _enqueue(bundle))
    except BaseException:
        if stored:
            default_storage.delete(stored)
        raise
    finally:
        upload.path.unlink(missing_ok=True)
    log.info("bundle %s received from %s (%s)", bundle.pk, actor, bundle.status)
    return bundle


def _enqueue(bundle: Bundle) -> None:
    queueing.send_job(
        PROCESS_BUNDLE, args=[bundle.pk], queue=settings.GLEW_QUEUES["cpu"]
    )


def bundle_confirm(*, bundle: Bundle, actor) -> Bundle:
    """A curator accepts the impact an update showed: queue its import."""
    require_staff(actor, action="confirm task bundles")
    with transaction.atomic():
        moved = bundle_move(bundle_id=bundle.pk, to=BundleStatus.QUEUED)
        if moved is None:
            raise UserError(
                "bundle.not_awaiting", f"Bundle #{bundle.pk} is {bundle.status}."
            )
        transaction.on_commit(lambda: _enqueue(moved))
    return moved


def bundle_discard(*, bundle: Bundle, actor) -> Bundle:
    """A curator declines an update: nothing of it is kept but the record."""
    require_staff(actor, action="discard task bundles")
    moved = bundle_move(bundle_id=bundle.pk, to=BundleStatus.DISCARDED, storage_name="")
    if moved is None:
        raise UserError(
            "bundle.not_awaiting", f"Bundle #{bundle.pk} is {bundle.status}."
        )
    if bundle.storage_name:
        default_storage.delete(bundle.storage_name)
    return moved


def bundle_process(*, bundle_id: int) -> Bundle | None:
    """The import job (module docstring); a no-op for a bundle that has ended."""
    bundle = bundle_move(bundle_id=bundle_id, to=BundleStatus.RUNNING)
    if bundle is None:
        return None
    work = Path(tempfile.mkdtemp(prefix=f"bundle-{bundle_id}-", dir=_work_dir()))
    try:
        result = _import(bundle, work)
    except GlewError as error:
        message = error.message.replace(f"{work}/data/", "").replace(str(work), "")
        log.info("bundle %s failed: %s %s", bundle_id, error.code, message)
        if bundle.storage_name:
            default_storage.delete(bundle.storage_name)
        return bundle_move(
            bundle_id=bundle_id,
            to=BundleStatus.FAILED,
            error_code=error.code,
            error_message=message,
            storage_name="",
        )
    finally:
        remove_extracted(work)
    return result


def _work_dir() -> Path:
    folder = Path(settings.GLEW_JOBS_DIR) / "bundles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _import(bundle: Bundle, work: Path) -> Bundle:
    """Fetch, check, unpack, import and store one bundle (the job's steps)."""
    step = {"n": 0}

    def progress(stage: str, message: str = "", total: int = 0) -> None:
        step["n"] += 1
        bundle_progress(
            bundle_id=bundle.pk,
            stage=stage,
            step=step["n"],
            total=total,
            message=message,
        )

    progress("fetching", "Fetching the bundle from storage")
    zip_path = work / "bundle.zip"
    with (
        default_storage.open(bundle.storage_name, "rb") as src,
        zip_path.open("wb") as dst,
    ):
        shutil.copyfileobj(src, dst, 1024 * 1024)
    want_spec = bundle.kind == BundleKind.SUITE
    archive = bundle_inspect(zip_path, limits=_limits(), want_spec=want_spec)
    progress("extracting", f"Unpacking {len(archive.members)} files")
    root = bundle_extract(zip_path, archive, work / "data")
    if want_spec:
        spec, document = bundle_spec(bundle.spec_text, source=bundle.spec_name)
        tasks = list(spec.tasks)
    else:
        spec, document, tasks = None, None, [registry.get_task(bundle.task_name)]
    datasets, missing = [], []
    for task in tasks:
        if find_task_folder(task, root) is None:
            missing.append(task.name)
            continue
        progress("importing", f"Importing {task.name}", total=len(tasks))
        datasets.append(load_task_spec(task, root))
    if not datasets:
        raise UserError("bundle.no_data", "No task's files were found in the bundle.")
    progress("storing", "Storing the suite and draft dataset versions")
    return _store(bundle, spec, document, datasets, missing)


def _store(bundle, spec, document, datasets, missing) -> Bundle:
    source = f"bundle #{bundle.pk} ({bundle.filename or bundle.sha256[:12]})"
    with transaction.atomic():
        if spec is not None:
            curated_suite_save(
                spec=spec,
                document=document,
                actor=bundle.uploaded_by,
                source=source,
                text=bundle.spec_text,
            )
        versions = []
        for dataset in datasets:
            version, created = dataset_version_store(
                dataset=dataset,
                source=source,
                publish=False,
                actor=bundle.uploaded_by,
            )
            versions.append(
                {
                    "task": version.task.name,
                    "sha256": version.sha256,
                    "created": created,
                    "state": version.state,
                    "counts": version.counts,
                }
            )
        return bundle_move(
            bundle_id=bundle.pk,
            to=BundleStatus.FINISHED,
            result={
                "suite": bundle.suite_slug,
                "versions": versions,
                "missing": missing,
            },
            progress={"stage": "done", "message": "Imported"},
        )
