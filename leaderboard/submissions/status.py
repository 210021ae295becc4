"""The one status machine of an evaluation, and how a submission's status follows.

Allowed moves live in ``TRANSITIONS``; ``evaluation_move`` (services) is the only code
that changes an evaluation's status. ``running -> running`` is allowed on purpose: a
job redelivered after its worker died re-claims its evaluation and starts again.
"""

from django.db import models


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SCORING = "scoring", "Scoring"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


TERMINAL = frozenset({Status.FINISHED, Status.FAILED, Status.CANCELLED})

TRANSITIONS: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.RUNNING, Status.FAILED, Status.CANCELLED}),
    Status.RUNNING: frozenset(
        {Status.RUNNING, Status.SCORING, Status.FAILED, Status.CANCELLED}
    ),
    Status.SCORING: frozenset({Status.FINISHED, Status.FAILED, Status.CANCELLED}),
    Status.FINISHED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}


def can_move(current: str, target: str) -> bool:
    """Whether an evaluation may go from ``current`` to ``target``."""
    return target in TRANSITIONS[current]


def submission_status_from(statuses: list[str]) -> str:
    """A submission's status, derived from its evaluations' statuses.

    Anything still in flight makes it ``running`` (or ``queued`` if nothing started);
    once all are terminal it is ``finished`` if any finished, else ``failed``, or
    ``cancelled`` when every evaluation was cancelled.
    """
    if not statuses:
        return Status.QUEUED
    states = set(statuses)
    if states <= {Status.QUEUED}:
        return Status.QUEUED
    if states - TERMINAL:
        return Status.RUNNING
    if Status.FINISHED in states:
        return Status.FINISHED
    if states == {Status.CANCELLED}:
        return Status.CANCELLED
    return Status.FAILED
