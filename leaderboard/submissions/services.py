"""Every write to submissions, evaluations and results, and the rules behind them.

Views, the API, admin actions, management commands and the worker call these; none of
them changes a row any other way. Each service runs in one transaction.
"""

import hashlib
import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard import ratelimit
from leaderboard.catalogue.models import Task
from leaderboard.standings.refresh import leaderboard_refresh_for_task
from leaderboard.submissions.models import (
    Evaluation,
    LeaderboardEntry,
    ModelArchive,
    Result,
    Submission,
    Visibility,
)
from leaderboard.submissions.status import Status, can_move, submission_status_from
from runners.archives import (
    ArchiveInfo,
    ArchiveLimits,
    check_parameter_cap,
    inspect_archive,
)
from runners.recipes import RECIPE_NAMES, Recipe, get_recipe
from tasks import registry
from tasks.errors import UserError

log = logging.getLogger("glew.submissions")

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An upload copied to a private temporary file, with its hash and size."""

    path: Path
    sha256: str
    size: int


def upload_receive(*, stream: IO[bytes], max_bytes: int) -> StoredUpload:
    """Copy an uploaded stream to a temporary file, hashing it, cut at ``max_bytes``.

    The stream is read in chunks, never whole, so an oversize upload costs at most
    ``max_bytes`` of disk and is removed before the error is raised.
    """
    digest = hashlib.sha256()
    size = 0
    handle = tempfile.NamedTemporaryFile(
        prefix="glew-upload-",
        suffix=".zip",
        delete=False,
        dir=settings.FILE_UPLOAD_TEMP_DIR,
    )
    path = Path(handle.name)
    try:
        with handle:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise UserError(
                        "upload.too_large",
                        f"The archive is larger than the limit of {max_bytes:,} bytes.",
                    )
                digest.update(chunk)
                handle.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StoredUpload(path=path, sha256=digest.hexdigest(), size=size)


def resolve_targets(
    *, tasks: Iterable[str] = (), suites: Iterable[str] = ()
) -> list[Task]:
    """Turn requested task names and suite names into tasks to fine-tune now.

    A named task must have a published dataset version with its training split; an
    evaluation-only task (AdvGLUE, GLUE's AX) stands for the task whose model
    predicts it (``predict_with``). A suite expands to whatever of it this deployment
    has data for. Evaluation-only tasks are then added as companions of these
    targets by ``_evaluations_create``.
    """
    tasks = [t.strip() for t in tasks if t and t.strip()]
    suites = [s.strip() for s in suites if s and s.strip()]
    if not tasks and not suites:
        raise UserError(
            "submission.no_targets", "Choose at least one task or suite to evaluate on."
        )
    chosen: dict[str, Task] = {}
    for name in tasks:
        spec = registry.get_task(name)
        if not spec.train_split:
            if not spec.predict_with:
                raise UserError(
                    "submission.task_not_trainable",
                    f"Task {spec.name} has no training data of its own.",
                )
            spec = registry.get_task(spec.predict_with)
        task = Task.objects.filter(name=spec.name).first()
        if task is None or not _has_data(task, spec.train_split):
            raise UserError(
                "submission.task_without_data",
                f"Task {spec.name} has no imported training and evaluation data; an "
                f"admin must import it first (python manage.py import_task {spec.name} "
                "PATH).",
            )
        chosen[spec.name] = task
    for suite_name in suites:
        suite = registry.get_suite(suite_name)
        found = 0
        for spec in suite.tasks:
            if not spec.train_split and spec.predict_with:
                spec = registry.get_task(spec.predict_with)
            task = Task.objects.filter(name=spec.name).first()
            if spec.train_split and task and _has_data(task, spec.train_split):
                chosen.setdefault(spec.name, task)
                found += 1
        if not found:
            raise UserError(
                "submission.suite_without_data",
                f"No task of suite {suite.name} has imported data yet; an admin must "
                f"import it first (python manage.py import_task {suite.name} PATH).",
            )
    return sorted(chosen.values(), key=lambda t: t.name)


def companion_tasks(task: Task) -> list[Task]:
    """Evaluation-only tasks predicted with ``task``'s fine-tuned model, with data."""
    names = [
        spec.name
        for spec in registry.all_tasks()
        if not spec.train_split and spec.predict_with == task.name
    ]
    return [
        companion
        for companion in Task.objects.filter(name__in=names).order_by("name")
        if companion.published_version() is not None
    ]


def check_daily_quota(*, owner, targets: list[Task]) -> None:
    """Refuse a submission past the owner's limit for the last 24 hours.

    Each suite the submission touches has a limit (``GLEW_DAILY_LIMITS`` per suite,
    else ``GLEW_DAILY_SUBMISSION_LIMIT``). Submissions that failed or were cancelled
    are not counted: a broken run should not cost a researcher a slot. Staff are
    exempt.
    """
    if owner.is_staff:
        return
    since = timezone.now() - timedelta(hours=24)
    recent = Submission.objects.filter(owner=owner, created_at__gte=since).exclude(
        status__in=[Status.FAILED, Status.CANCELLED]
    )
    for suite in sorted({task.suite.slug for task in targets}):
        limit = settings.GLEW_DAILY_LIMITS.get(
            suite, settings.GLEW_DAILY_SUBMISSION_LIMIT
        )
        used = recent.filter(evaluations__task__suite__slug=suite).distinct().count()
        if used >= limit:
            raise UserError(
                "limits.daily_quota",
                f"You have used your {limit} submissions to {suite} for the last 24 "
                "hours (failed and cancelled ones do not count). Try again later.",
            )


def _has_data(task: Task, train_split: str | None) -> bool:
    """Whether the task's published version holds the splits an evaluation needs."""
    version = task.published_version()
    if version is None:
        return False
    return train_split is None or train_split in version.files


def queue_for_recipe(recipe: Recipe) -> str:
    """The Celery queue (hardware class) a recipe, as it applies to one task, needs.

    The recipe's precision decides (kernels.numerics): fp32 recipes compute in the
    pinned CPU profile on any CPU worker (``cpu``); bf16 recipes need a device that
    multiplies bf16 natively, which only the ``gpu`` queue's workers promise (a GPU,
    or a CPU with AVX512_BF16/AMX).
    """
    hardware = "gpu" if recipe.precision == "bf16" else "cpu"
    return settings.GLEW_QUEUES[hardware]


def archive_store(
    *, upload: StoredUpload, info: ArchiveInfo, saved: list[str] | None = None
) -> ModelArchive:
    """Store an archive once per content hash; a second identical upload is linked.

    Concurrent uploads of the same bytes race safely: each saves under its own
    storage name (the storage never overwrites), the unique sha256 lets one row in,
    and the others delete their copy and link to that row. The name of a suffixed
    copy this call kept is appended to ``saved``, so a caller whose transaction
    then rolls back can delete it; a file under the canonical name is kept, and
    reused by the next upload of the same bytes after checking its hash.
    """
    existing = ModelArchive.objects.filter(sha256=upload.sha256).first()
    if existing is not None:
        return existing
    name = f"models/{upload.sha256}.zip"
    if _stored_intact(name, upload.sha256):
        # Left by an earlier attempt whose row was rolled back: the same bytes.
        archive, _ = ModelArchive.objects.get_or_create(
            sha256=upload.sha256,
            defaults={
                "storage_name": name,
                "size_bytes": upload.size,
                "config": info.config,
                "has_weights": info.has_weights,
            },
        )
        return archive
    canonical = name
    with upload.path.open("rb") as handle:
        name = default_storage.save(name, File(handle))
    # The canonical name may be reused by a concurrent upload of the same bytes
    # (above), so only a suffixed copy is ever deleted, by the attempt that made it.
    ours = name != canonical
    try:
        with transaction.atomic():
            archive = ModelArchive.objects.create(
                sha256=upload.sha256,
                storage_name=name,
                size_bytes=upload.size,
                config=info.config,
                has_weights=info.has_weights,
            )
    except IntegrityError:
        winner = ModelArchive.objects.get(sha256=upload.sha256)
        if ours and winner.storage_name != name:
            default_storage.delete(name)
        return winner
    except BaseException:
        if ours:
            default_storage.delete(name)
        raise
    if saved is not None and ours:
        saved.append(name)
    return archive


def _stored_intact(name: str, sha256: str) -> bool:
    """Whether storage already holds ``name`` with exactly the bytes of ``sha256``."""
    if not default_storage.exists(name):
        return False
    digest = hashlib.sha256()
    try:
        with default_storage.open(name, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError:
        return False
    return digest.hexdigest() == sha256


def max_model_params(targets: list[Task]) -> int:
    """The parameter cap for a submission: the strictest of its suites' caps."""
    caps = settings.GLEW_MAX_MODEL_PARAMS_PER_SUITE
    default = settings.GLEW_MAX_MODEL_PARAMS
    return min(
        (caps.get(task.suite.slug, default) for task in targets), default=default
    )


def submission_create(
    *,
    owner,
    name: str,
    archive_stream: IO[bytes],
    recipe: str,
    tasks: Iterable[str] = (),
    suites: Iterable[str] = (),
    visibility: str = Visibility.PUBLIC,
    is_baseline: bool = False,
    description: str = "",
) -> Submission:
    """Validate an uploaded model and queue one evaluation per (task, seed).

    Everything is checked before anything is kept: a bad archive, recipe, target or
    visibility raises ``UserError`` and leaves no row and no stored file behind.
    """
    name = (name or "").strip()
    if not name:
        raise UserError("submission.no_name", "Give the submission a name.")
    if len(name) > 200:
        raise UserError("submission.name_too_long", "The name is over 200 characters.")
    if recipe not in RECIPE_NAMES:
        raise UserError(
            "recipe.unknown",
            f"Unknown recipe '{recipe}'; choose one of {', '.join(RECIPE_NAMES)}.",
        )
    if visibility not in Visibility.values:
        raise UserError(
            "submission.bad_visibility", "Visibility must be 'public' or 'private'."
        )
    targets = resolve_targets(tasks=tasks, suites=suites)
    if not is_baseline:
        check_daily_quota(owner=owner, targets=targets)
        ratelimit.upload_check(user=owner)
    upload = upload_receive(
        stream=archive_stream, max_bytes=settings.GLEW_MAX_UPLOAD_BYTES
    )
    try:
        info = inspect_archive(
            upload.path, ArchiveLimits(max_archive_bytes=settings.GLEW_MAX_UPLOAD_BYTES)
        )
        # Before anything is stored: a config describing a huge model is refused
        # from its numbers (transformers is imported lazily, only for this).
        check_parameter_cap(info.config, max_model_params(targets))
        saved: list[str] = []
        try:
            with transaction.atomic():
                archive = archive_store(upload=upload, info=info, saved=saved)
                submission = Submission.objects.create(
                    owner=owner,
                    name=name,
                    description=description,
                    archive=archive,
                    recipe=recipe,
                    visibility=visibility,
                    is_baseline=is_baseline,
                )
                evaluations = _evaluations_create(
                    submission=submission, targets=targets
                )
                transaction.on_commit(lambda: _enqueue(evaluations))
        except BaseException:
            for stored in saved:  # rolled back: no row refers to the file any more
                default_storage.delete(stored)
            raise
    finally:
        upload.path.unlink(missing_ok=True)
    log.info(
        "submission %s created: %d evaluations on %s",
        submission.pk,
        len(evaluations),
        ", ".join(t.name for t in targets),
    )
    return submission


def _evaluations_create(
    *, submission: Submission, targets: list[Task]
) -> list[Evaluation]:
    created = []
    for task in targets:
        recipe = get_recipe(
            submission.recipe, task_name=task.name, task_type=task.task_type
        )
        queue = queue_for_recipe(recipe)
        version = task.published_version()
        companions = companion_tasks(task)
        for seed in recipe.seeds:
            evaluation = Evaluation.objects.create(
                submission=submission,
                task=task,
                dataset_version=version,
                recipe_name=recipe.name,
                recipe_version=recipe.version,
                seed=seed,
                queue=queue,
            )
            created.append(evaluation)
            for companion in companions:
                # Not queued itself: the job of ``evaluation`` predicts it too.
                Evaluation.objects.create(
                    submission=submission,
                    task=companion,
                    dataset_version=companion.published_version(),
                    recipe_name=recipe.name,
                    recipe_version=recipe.version,
                    seed=seed,
                    queue=queue,
                    predicted_by=evaluation,
                )
    return created


def _enqueue(evaluations: list[Evaluation]) -> None:
    from leaderboard.submissions.tasks import run_evaluation

    for evaluation in evaluations:
        Evaluation.objects.filter(pk=evaluation.pk).update(enqueued_at=timezone.now())
        run_evaluation.apply_async(args=[evaluation.pk], queue=evaluation.queue)


def submission_refresh_status(*, submission: Submission) -> str:
    """Recompute a submission's status from its evaluations (caller holds the lock)."""
    statuses = list(submission.evaluations.values_list("status", flat=True))
    status = submission_status_from(statuses)
    if status != submission.status:
        submission.status = status
        submission.save(update_fields=["status", "updated_at"])
    return status


def evaluation_move(*, evaluation_id: int, to: str, **fields) -> Evaluation | None:
    """Move an evaluation to status ``to``; the only code that changes a status.

    Locks the submission, then the evaluation (always in that order, so concurrent
    finishes of sibling evaluations cannot miss each other), applies ``fields`` and
    refreshes the submission's derived status. A move the table does not allow
    (a redelivered job for a finished evaluation, say) is a no-op returning None.
    """
    with transaction.atomic():
        submission_id = (
            Evaluation.objects.filter(pk=evaluation_id)
            .values_list("submission_id", flat=True)
            .first()
        )
        if submission_id is None:
            return None
        submission = Submission.objects.select_for_update().get(pk=submission_id)
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id)
        if not can_move(evaluation.status, to):
            return None
        evaluation.status = to
        for key, value in fields.items():
            setattr(evaluation, key, value)
        evaluation.save()
        submission_refresh_status(submission=submission)
    return evaluation


class EvaluationBusy(Exception):
    """A redelivered job found its evaluation run by a live worker: try again later."""


def evaluation_claim(*, evaluation_id: int) -> Evaluation | None:
    """A worker takes an evaluation: queued (or running, if redelivered) -> running.

    A running evaluation whose heartbeat is fresh belongs to a live worker (the
    broker delivered its job twice, or a requeue sweep did): ``EvaluationBusy`` is
    raised so the job is retried later, when it finds the evaluation finished (a
    no-op) or its worker dead (heartbeat stale), and takes it over.
    """
    with transaction.atomic():
        evaluation = (
            Evaluation.objects.select_for_update().filter(pk=evaluation_id).first()
        )
        if evaluation is None:
            return None
        if evaluation.status == Status.RUNNING and heartbeat_is_fresh(evaluation):
            raise EvaluationBusy(evaluation_id)
        attempts = evaluation.attempts
    return evaluation_move(
        evaluation_id=evaluation_id,
        to=Status.RUNNING,
        attempts=attempts + 1,
        started_at=timezone.now(),
        heartbeat_at=timezone.now(),
        progress={},
        error_code="",
        error_message="",
    )


def heartbeat_is_fresh(evaluation: Evaluation) -> bool:
    if evaluation.heartbeat_at is None:
        return False
    age = (timezone.now() - evaluation.heartbeat_at).total_seconds()
    return age < settings.GLEW_HEARTBEAT_STALE_S


def evaluation_heartbeat(*, evaluation_id: int, alive: bool = True) -> None:
    """The running worker is alive (or, with ``alive=False``, has let go)."""
    if alive:
        Evaluation.objects.filter(pk=evaluation_id, status=Status.RUNNING).update(
            heartbeat_at=timezone.now()
        )
    else:
        Evaluation.objects.filter(pk=evaluation_id).update(heartbeat_at=None)


def evaluation_requeue_stale(*, older_than_s: int | None = None) -> int:
    """Publish again the jobs of queued evaluations published long ago.

    A broker that restarts without persistence forgets queued messages; the rows
    remember. A duplicate message is harmless: the claim rules make it a no-op or
    a retry.
    """
    if older_than_s is None:
        older_than_s = settings.GLEW_REQUEUE_AFTER_S
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    stale = list(
        Evaluation.objects.filter(
            status=Status.QUEUED, predicted_by__isnull=True
        ).filter(
            Q(enqueued_at__lt=cutoff)
            | Q(enqueued_at__isnull=True, created_at__lt=cutoff)
        )
    )
    _enqueue(stale)
    return len(stale)


def evaluation_report_progress(
    *, evaluation_id: int, progress: dict, log_tail: str
) -> None:
    """Store the latest progress line and log tail of a running evaluation.

    A plain update, not a status move: it only touches rows still running, so a
    late progress line can never revive a finished or cancelled evaluation.
    """
    Evaluation.objects.filter(pk=evaluation_id, status=Status.RUNNING).update(
        progress=progress, log_tail=log_tail
    )


def evaluation_fail(
    *, evaluation_id: int, code: str, message: str, log_tail: str = ""
) -> Evaluation | None:
    """Mark an evaluation failed, with a stable code and a plain-words reason."""
    fields = {
        "error_code": code[:80],
        "error_message": message,
        "finished_at": timezone.now(),
    }
    if log_tail:
        fields["log_tail"] = log_tail
    return evaluation_move(evaluation_id=evaluation_id, to=Status.FAILED, **fields)


def evaluation_cancel(*, evaluation_id: int, user) -> Evaluation | None:
    """Cancel a queued or running evaluation (its owner or staff only)."""
    evaluation = Evaluation.objects.select_related("submission").get(pk=evaluation_id)
    if not (user.is_staff or evaluation.submission.owner_id == user.pk):
        raise UserError("auth.forbidden", "Only the owner or an admin may cancel this.")
    return evaluation_move(
        evaluation_id=evaluation_id, to=Status.CANCELLED, finished_at=timezone.now()
    )


def submission_cancel(*, submission: Submission, user) -> int:
    """Cancel every unfinished evaluation of a submission; returns how many."""
    cancelled = 0
    for evaluation_id in submission.evaluations.values_list("pk", flat=True):
        if evaluation_cancel(evaluation_id=evaluation_id, user=user) is not None:
            cancelled += 1
    return cancelled


def evaluation_finish(
    *,
    evaluation_id: int,
    scores: dict,
    task_score: float | None,
    efficiency: dict,
    manifest: dict,
    predictions: dict,
    numerics: str,
    log_tail: str = "",
) -> Result | None:
    """Store the Result of a scored evaluation and mark it finished, exactly once.

    A redelivered job that reaches this point again finds the evaluation finished and
    changes nothing: there is never a second Result for one evaluation.
    """
    with transaction.atomic():
        evaluation = evaluation_move(
            evaluation_id=evaluation_id,
            to=Status.FINISHED,
            finished_at=timezone.now(),
            log_tail=log_tail or Evaluation.objects.get(pk=evaluation_id).log_tail,
        )
        if evaluation is None:
            return None
        result, _ = Result.objects.get_or_create(
            evaluation=evaluation,
            defaults={
                "scores": scores,
                "task_score": task_score,
                "task_version": evaluation.task.version,
                "efficiency": efficiency,
                "manifest": manifest,
                "predictions": predictions,
                "numerics": numerics,
            },
        )
        leaderboard_refresh_for_task(
            task=evaluation.task, submission=evaluation.submission
        )
    return result


def submission_set_visibility(
    *, submission: Submission, user, visibility: str
) -> Submission:
    """Make a submission public or private (its owner or staff only)."""
    if not (user.is_staff or submission.owner_id == user.pk):
        raise UserError(
            "auth.forbidden", "Only the owner or an admin may change visibility."
        )
    if visibility not in Visibility.values:
        raise UserError(
            "submission.bad_visibility", "Visibility must be 'public' or 'private'."
        )
    submission.visibility = visibility
    submission.save(update_fields=["visibility", "updated_at"])
    # Who may see its leaderboard rows changed: cached boards must be rebuilt.
    LeaderboardEntry.objects.filter(submission=submission).update(
        updated_at=timezone.now()
    )
    return submission


def evaluation_rerun(*, evaluation_id: int, user) -> Evaluation:
    """Re-run a finished or failed evaluation with the same manifest.

    Same model archive, dataset version, recipe version and seed; the new evaluation
    names the one it reproduces, so its drift can be shown. A recipe whose version
    changed since cannot reproduce the old run, and says so.
    """
    original = Evaluation.objects.select_related(
        "submission", "task", "predicted_by__task"
    ).get(pk=evaluation_id)
    if not (user.is_staff or original.submission.owner_id == user.pk):
        raise UserError("auth.forbidden", "Only the owner or an admin may re-run this.")
    if original.predicted_by_id is not None:
        raise UserError(
            "evaluation.companion",
            f"{original.task.name} is predicted by the "
            f"{original.predicted_by.task.name} model; re-run that evaluation instead.",
        )
    if original.status not in (Status.FINISHED, Status.FAILED):
        raise UserError(
            "evaluation.not_done",
            "Only a finished or failed evaluation can be re-run.",
        )
    recipe = get_recipe(
        original.recipe_name,
        task_name=original.task.name,
        task_type=original.task.task_type,
    )
    if recipe.version != original.recipe_version:
        raise UserError(
            "evaluation.recipe_changed",
            f"The {original.recipe_name} recipe is now {recipe.version}; this "
            f"evaluation ran {original.recipe_version} and cannot be reproduced by it.",
        )
    source = original.rerun_of or original
    with transaction.atomic():
        rerun = Evaluation.objects.create(
            submission=original.submission,
            task=original.task,
            dataset_version=original.dataset_version,
            recipe_name=original.recipe_name,
            recipe_version=original.recipe_version,
            seed=original.seed,
            queue=original.queue,
            rerun_of=source,
        )
        submission = Submission.objects.select_for_update().get(
            pk=original.submission_id
        )
        submission_refresh_status(submission=submission)
        transaction.on_commit(lambda: _enqueue([rerun]))
    return rerun


def evaluation_retry_smaller_batch(*, evaluation_id: int) -> bool:
    """After an out-of-memory failure, queue one retry at half the batch size.

    Gradient accumulation doubles, so the effective batch (and so the recipe) is the
    same. Only one automatic retry: a run that fails again stays failed.
    The evaluation stays ``running`` (a status never goes back to queued): the new
    job claims it again, exactly as a job redelivered after a worker crash does.
    """
    with transaction.atomic():
        evaluation = Evaluation.objects.select_for_update().get(pk=evaluation_id)
        if evaluation.gradient_accumulation_steps > 1:
            return False
        recipe = get_recipe(
            evaluation.recipe_name,
            task_name=evaluation.task.name,
            task_type=evaluation.task.task_type,
        )
        if recipe.with_half_batch() is None:
            return False  # a batch of one cannot be halved
        if evaluation.status != Status.RUNNING:
            return False
        evaluation.gradient_accumulation_steps = 2
        evaluation.save(update_fields=["gradient_accumulation_steps"])
        transaction.on_commit(lambda: _enqueue([evaluation]))
    return True


def evaluation_reap_stuck(*, grace_seconds: int = 600) -> int:
    """Fail evaluations running past their recipe's time limit (plus a grace period).

    A worker that dies hard returns its job to the queue (late acks), but one whose
    host vanished with the job unacknowledged on a broker without redelivery, or a
    sandbox that hangs past its limit, would otherwise show "running" forever.
    """
    now = timezone.now()
    reaped = 0
    stuck = Evaluation.objects.filter(
        status__in=[Status.RUNNING, Status.SCORING], started_at__isnull=False
    ).values_list("pk", "recipe_name", "started_at")
    for pk, recipe_name, started_at in stuck:
        limit = settings.GLEW_TIME_LIMITS.get(recipe_name, 3600) + grace_seconds
        if (now - started_at).total_seconds() > limit:
            failed = evaluation_fail(
                evaluation_id=pk,
                code="platform.stuck",
                message=f"The evaluation ran past its time limit of {limit} s without "
                "finishing (its worker may have died); it was stopped. It can be "
                "re-run.",
            )
            reaped += failed is not None
    return reaped
