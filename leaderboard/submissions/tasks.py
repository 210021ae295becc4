"""Celery adapters: ids in, one call to the worker pipeline, nothing else."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from leaderboard.submissions.queueing import RUN_EVALUATION


@shared_task(
    bind=True,
    name=RUN_EVALUATION,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,
)
def run_evaluation(self, evaluation_id: int) -> None:
    """Run one evaluation; redelivery after a crash re-runs it (idempotent).

    Database outages are retried with backoff until the database is back; a job
    whose evaluation a live worker is running waits and looks again.
    """
    from django.conf import settings

    from leaderboard.submissions.lifecycle import EvaluationBusy
    from leaderboard.submissions.pipeline import evaluation_execute

    try:
        evaluation_execute(evaluation_id=evaluation_id)
    except EvaluationBusy as busy:
        raise self.retry(
            countdown=settings.GLEW_HEARTBEAT_STALE_S, max_retries=None
        ) from busy


@shared_task(name="glew.reap_stuck_evaluations", ignore_result=True)
def reap_stuck_evaluations() -> int:
    """Periodic: fail evaluations stuck past their time limit."""
    from leaderboard.submissions.lifecycle import evaluation_reap_stuck

    return evaluation_reap_stuck()


@shared_task(name="glew.requeue_stale_evaluations", ignore_result=True)
def requeue_stale_evaluations() -> int:
    """Periodic: publish again queued jobs a broker restart may have lost."""
    from leaderboard.submissions.lifecycle import evaluation_requeue_stale

    return evaluation_requeue_stale()
