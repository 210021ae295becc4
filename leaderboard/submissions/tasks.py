"""Celery adapters: ids in, one call to the worker pipeline, nothing else."""

from celery import shared_task
from django.db import InterfaceError, OperationalError


@shared_task(
    name="glew.run_evaluation",
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=8,
)
def run_evaluation(evaluation_id: int) -> None:
    """Run one evaluation; redelivery after a crash re-runs it (idempotent)."""
    from runners.worker import evaluation_execute

    evaluation_execute(evaluation_id=evaluation_id)


@shared_task(name="glew.reap_stuck_evaluations", ignore_result=True)
def reap_stuck_evaluations() -> int:
    """Periodic: fail evaluations stuck past their time limit."""
    from leaderboard.submissions.services import evaluation_reap_stuck

    return evaluation_reap_stuck()
