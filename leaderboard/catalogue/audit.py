"""The curation audit trail: one event per change, written by the service making it.

Every service that creates, publishes, withdraws, deprecates or edits a suite, a
task or a dataset version calls :func:`audit_record` inside its own transaction, so
an event exists exactly when its change does. Events copy the names they concern
(``suite_slug``, ``task_name``, ``dataset_sha256``, the actor's username): they
read true after the objects change, or the user is gone.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from leaderboard.catalogue.models import AuditEvent, DatasetVersion, Suite, Task


def audit_record(
    *,
    actor,
    action: str,
    summary: str,
    suite: Suite | None = None,
    task: Task | None = None,
    version: DatasetVersion | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Store one event; ``actor`` None is the platform itself (a command)."""
    if version is not None and task is None:
        task = version.task
    if task is not None and suite is None:
        suite = task.suite
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_name=user.get_username() if user else "",
        action=action,
        suite=suite,
        suite_slug=suite.slug if suite else "",
        task=task,
        task_name=task.name if task else "",
        dataset_sha256=version.sha256 if version else "",
        summary=summary,
        details=details or {},
    )


def audit_events(
    *, suite: Suite | None = None, task: Task | None = None, limit: int = 100
) -> QuerySet[AuditEvent]:
    """The newest events about ``suite`` (its tasks' included) or ``task``; matched
    by the names kept too, so events whose objects changed are still found."""
    events = AuditEvent.objects.all()
    if task is not None:
        events = events.filter(Q(task=task) | Q(task_name=task.name))
    elif suite is not None:
        events = events.filter(Q(suite=suite) | Q(suite_slug=suite.slug))
    return events.select_related("actor")[:limit]
