"""Publishing jobs: the one seam between the database and the job queue.

Services call :func:`enqueue` (evaluations) or :func:`send_job` (any other job:
curation's bundle imports) after their transaction commits. It stamps each
evaluation's ``enqueued_at`` (the requeue sweep republishes queued evaluations whose
message a broker restart lost) and hands it to the current :class:`JobQueue`: Celery,
on the queue of the evaluation's hardware class. Tests that must not start jobs use
:func:`captured`, which swaps in a list, instead of patching a private function.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Protocol

from django.utils import timezone

if TYPE_CHECKING:
    from leaderboard.submissions.models import Evaluation


class JobQueue(Protocol):
    """Where a job message goes."""

    def publish(self, evaluation: Evaluation) -> None: ...

    def send(self, name: str, args: list, queue: str) -> None: ...


RUN_EVALUATION = "glew.run_evaluation"
"""The Celery task that runs one evaluation (``leaderboard.submissions.tasks``), sent
by name so that publishing a job does not import the code that runs it."""


class CeleryQueue:
    """The production queue: ``glew.run_evaluation`` on the evaluation's queue."""

    def publish(self, evaluation: Evaluation) -> None:
        from leaderboard.celery import app

        app.send_task(RUN_EVALUATION, args=[evaluation.pk], queue=evaluation.queue)

    def send(self, name: str, args: list, queue: str) -> None:
        from leaderboard.celery import app

        app.send_task(name, args=args, queue=queue)


class CapturedQueue(list):
    """A queue that keeps what it is given (tests): a list of evaluations, and the
    other jobs as ``(name, args, queue)`` in ``jobs``."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[tuple[str, list, str]] = []

    def publish(self, evaluation: Evaluation) -> None:
        self.append(evaluation)

    def send(self, name: str, args: list, queue: str) -> None:
        self.jobs.append((name, args, queue))


_current: JobQueue = CeleryQueue()


def enqueue(evaluations: Iterable[Evaluation]) -> None:
    """Publish one job per evaluation (call it after the transaction commits)."""
    from leaderboard.submissions.models import Evaluation

    for evaluation in evaluations:
        Evaluation.objects.filter(pk=evaluation.pk).update(enqueued_at=timezone.now())
        _current.publish(evaluation)


def send_job(name: str, *, args: list, queue: str) -> None:
    """Publish one job of the Celery task ``name`` (call it after the commit)."""
    _current.send(name, args, queue)


@contextlib.contextmanager
def captured() -> Iterator[CapturedQueue]:
    """Within the block, jobs are kept in the returned list instead of published."""
    global _current
    previous, _current = _current, CapturedQueue()
    try:
        yield _current
    finally:
        _current = previous
