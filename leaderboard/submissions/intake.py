"""Intake: an upload becomes a stored archive, a Submission and its Evaluations.

Every write that creates a submission, and the rules it checks on the way in (the
archive's safety and size, targets with data, daily quotas, the parameter cap), lives
here; its settings afterwards (visibility) too. Views, the API, the CLI's endpoints
and management commands call these; each runs in one transaction. What happens to an
evaluation after it is queued is ``lifecycle``'s.
"""

import hashlib
import itertools
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
from django.utils import timezone

from leaderboard import ratelimit
from leaderboard.catalogue.models import Task
from leaderboard.standings.confidence import suite_rank_confidence_refresh
from leaderboard.submissions import queueing
from leaderboard.submissions.models import (
    Evaluation,
    LeaderboardEntry,
    ModelArchive,
    Submission,
    Visibility,
)
from leaderboard.submissions.permissions import require_manager
from leaderboard.submissions.recipes import task_recipe
from leaderboard.submissions.status import Status
from leaderboard.submissions.tracks import (
    track_runs,
    tracks_check,
    tracks_targets_check,
)
from runners.archives import (
    ArchiveInfo,
    ArchiveLimits,
    check_architecture,
    check_parameter_cap,
    inspect_archive,
)
from runners.recipes import RECIPE_NAMES, Recipe
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


def check_daily_quota(
    *, owner, targets: list[Task], tracks: Iterable[str] = ("full",)
) -> None:
    """Refuse a submission past the owner's limit for the last 24 hours.

    Each suite the submission touches has a limit of slots (``GLEW_DAILY_LIMITS``
    per suite, else ``GLEW_DAILY_SUBMISSION_LIMIT``); a submission takes one slot
    per track, since each track is a fine-tuning of its own. Submissions that
    failed or were cancelled are not counted: a broken run should not cost a
    researcher a slot. Staff are exempt.
    """
    if owner.is_staff:
        return
    needed = len(list(tracks))
    since = timezone.now() - timedelta(hours=24)
    recent = Submission.objects.filter(owner=owner, created_at__gte=since).exclude(
        status__in=[Status.FAILED, Status.CANCELLED]
    )
    for suite in sorted({task.suite.slug for task in targets}):
        limit = settings.GLEW_DAILY_LIMITS.get(
            suite, settings.GLEW_DAILY_SUBMISSION_LIMIT
        )
        touching = recent.filter(evaluations__task__suite__slug=suite).distinct()
        # By submission (pk): rows with equal track lists must not collapse.
        used = sum(
            len(tracks or ["full"])
            for _, tracks in touching.values_list("pk", "tracks")
        )
        if used + needed > limit:
            raise UserError(
                "limits.daily_quota",
                f"You have used {used} of your {limit} submission slots to {suite} "
                f"for the last 24 hours, and this one needs {needed} (one per "
                "track; failed and cancelled ones do not count). Try again later.",
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
    reused by the next upload of the same bytes after checking its hash. A loser
    of the race deletes whatever it saved, canonical or not, unless the winning
    row points at it (a racer that saw a half-written canonical file saved a
    suffixed copy and may win with it).
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
        # Another upload's row is in; any copy this call saved that the winner
        # does not point at is garbage, the canonical one included: a concurrent
        # upload that found it intact links to the same winning row.
        winner = ModelArchive.objects.get(sha256=upload.sha256)
        if winner.storage_name != name:
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


def needs_tokenizer(targets: list[Task]) -> bool:
    """Whether any target encodes its text with the model's own tokenizer (every
    task but those with a task vocabulary, such as LRA's)."""
    return any(registry.get_task(task.name).vocabulary is None for task in targets)


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
    tracks: Iterable[str] = ("full",),
) -> Submission:
    """Validate an uploaded model and queue one evaluation per (task, track, seed).

    ``tracks`` are the fine-tuning methods it is evaluated under
    (runners.contract.METHODS), each its own board; full fine-tuning only unless
    more are asked for.

    Everything is checked before anything is kept: a bad archive, recipe, target or
    visibility raises ``UserError`` and leaves no row and no stored file behind.
    """
    name = _fields_check(name=name, recipe=recipe, visibility=visibility)
    tracks = tracks_check(tracks)
    targets = resolve_targets(tasks=tasks, suites=suites)
    tracks_targets_check(tracks, targets)
    if not is_baseline:
        check_daily_quota(owner=owner, targets=targets, tracks=tracks)
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
        # An architecture the runner does not fine-tune, or a model whose tasks
        # need its tokenizer but that ships none, is refused here, not in a job.
        check_architecture(info, tokenizer_needed=needs_tokenizer(targets))
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
                    tracks=tracks,
                    visibility=visibility,
                    is_baseline=is_baseline,
                )
                evaluations = _evaluations_create(
                    submission=submission, targets=targets
                )
                transaction.on_commit(lambda: queueing.enqueue(evaluations))
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


def _fields_check(*, name: str, recipe: str, visibility: str) -> str:
    """The submission's name (stripped), recipe and visibility, or a UserError."""
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
    return name


def _evaluations_create(
    *, submission: Submission, targets: list[Task]
) -> list[Evaluation]:
    created = []
    for task, method in itertools.product(targets, submission.tracks):
        if not track_runs(method, task):
            continue  # the mlm track skips tasks without a prompt (STS-B)
        recipe = task_recipe(submission.recipe, task, method)
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
                method=method,
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
                    method=method,
                    seed=seed,
                    queue=queue,
                    predicted_by=evaluation,
                )
    return created


def submission_set_visibility(
    *, submission: Submission, user, visibility: str
) -> Submission:
    """Make a submission public or private (its owner or staff only)."""
    require_manager(user, submission, action="change visibility")
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
    # Rank intervals are among public rows: the suites it has rows on re-rank.
    for suite in {entry.suite for entry in submission.entries.select_related("suite")}:
        suite_rank_confidence_refresh(suite=suite)
    return submission
