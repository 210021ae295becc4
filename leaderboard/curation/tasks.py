"""Celery adapters: ids in, one call to a curation service, nothing else."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from leaderboard.curation.services import PROCESS_BUNDLE, bundle_process


@shared_task(
    name=PROCESS_BUNDLE,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=300,
    max_retries=None,
)
def process_bundle(bundle_id: int) -> None:
    """Import one uploaded bundle; redelivery re-runs it (imports are idempotent),
    and a bundle that has ended is left as it is."""
    bundle_process(bundle_id=bundle_id)
