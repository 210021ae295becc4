"""Lifecycle: how an evaluation moves from queued to finished, failed or cancelled.

One status machine (``status.py``) and one function that moves a row under a lock
(:func:`evaluation_move`), so a redelivered job is a no-op and a status never goes
backwards; around it the worker's claims, heartbeats and progress, results, failures,
cancellation, re-runs, the out-of-memory retry and the sweeps for stuck or lost jobs.
Each service runs in one transaction.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leaderboard.catalogue.selectors import scored_task_version
from leaderboard.standings.refresh import leaderboard_refresh_for_task
from leaderboard.submissions import queueing
from leaderboard.submissions.models import (
    Evaluation,
    Result,
    Submission,
)
from leaderboard.submissions.permissions import require_manager
from leaderboard.submissions.recipes import task_recipe
from leaderboard.submissions.status import Status, can_move, submission_status_from
from tasks.errors import UserError

log = logging.getLogger("glew.submissions")


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
    """Publish again the jobs of evaluations published long ago that no live worker
    holds: queued ones, and running ones whose worker stopped beating.

    A broker that restarts without persistence forgets queued messages; the rows
    remember. A worker machine that dies mid-job leaves its message unacked, and
    Redis hands it out again only after the visibility timeout (hours, longer than
    any job); its stale heartbeat says the job is free. A duplicate message is
    harmless: the claim rules make it a no-op or a retry.
    """
    if older_than_s is None:
        older_than_s = settings.GLEW_REQUEUE_AFTER_S
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    dead = now - timedelta(seconds=settings.GLEW_HEARTBEAT_STALE_S)
    published_long_ago = Q(enqueued_at__lt=cutoff) | Q(
        enqueued_at__isnull=True, created_at__lt=cutoff
    )
    stale = list(
        Evaluation.objects.filter(predicted_by__isnull=True)
        .filter(published_long_ago)
        .filter(
            Q(status=Status.QUEUED) | Q(status=Status.RUNNING, heartbeat_at__lt=dead)
        )
    )
    queueing.enqueue(stale)
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
    require_manager(user, evaluation.submission, action="cancel this")
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
    did_not_learn: bool | None = None,
    did_not_learn_reason: str = "",
) -> Result | None:
    """Store the Result of a scored evaluation and mark it finished, exactly once.

    A redelivered job that reaches this point again finds the evaluation finished and
    changes nothing: there is never a second Result for one evaluation.
    ``did_not_learn`` and its reason are the publisher's verdict
    (``tasks.baselines.learning_check``); None means not judged.
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
                # The version of the data it ran on: a job on data a curated
                # task has since moved on from is never counted as the new one.
                "task_version": scored_task_version(
                    task=evaluation.task, dataset_version=evaluation.dataset_version
                ),
                "efficiency": efficiency,
                "manifest": manifest,
                "predictions": predictions,
                "numerics": numerics,
                "did_not_learn": did_not_learn,
                "did_not_learn_reason": did_not_learn_reason,
            },
        )
        leaderboard_refresh_for_task(
            task=evaluation.task, submission=evaluation.submission
        )
    return result


def evaluation_rerun(*, evaluation_id: int, user) -> Evaluation:
    """Re-run a finished or failed evaluation with the same manifest.

    Same model archive, dataset version, recipe version and seed; the new evaluation
    names the one it reproduces, so its drift can be shown. A recipe whose version
    changed since cannot reproduce the old run, and says so.
    """
    original = Evaluation.objects.select_related(
        "submission", "task", "predicted_by__task"
    ).get(pk=evaluation_id)
    require_manager(user, original.submission, action="re-run this")
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
    recipe = task_recipe(original.recipe_name, original.task, original.method)
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
            method=original.method,
            seed=original.seed,
            queue=original.queue,
            rerun_of=source,
        )
        submission = Submission.objects.select_for_update().get(
            pk=original.submission_id
        )
        submission_refresh_status(submission=submission)
        transaction.on_commit(lambda: queueing.enqueue([rerun]))
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
        recipe = task_recipe(evaluation.recipe_name, evaluation.task, evaluation.method)
        if recipe.with_half_batch() is None:
            return False  # a batch of one cannot be halved
        if evaluation.status != Status.RUNNING:
            return False
        evaluation.gradient_accumulation_steps = 2
        evaluation.save(update_fields=["gradient_accumulation_steps"])
        transaction.on_commit(lambda: queueing.enqueue([evaluation]))
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
