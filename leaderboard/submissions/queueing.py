"""Publishing evaluation jobs: the one seam between the database and the job queue.

Services call :func:`enqueue` after their transaction commits. It stamps each
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


RUN_EVALUATION = "glew.run_evaluation"
"""The Celery task that runs one evaluation (``leaderboard.submissions.tasks``), sent
by name so that publishing a job does not import the code that runs it."""


class CeleryQueue:
    """The production queue: ``glew.run_evaluation`` on the evaluation's queue."""

    def publish(self, evaluation: Evaluation) -> None:
        from leaderboard.celery import app

        app.send_task(RUN_EVALUATION, args=[evaluation.pk], queue=evaluation.queue)


class CapturedQueue(list):
    """A queue that keeps what it is given (tests): a list of evaluations."""

    def publish(self, evaluation: Evaluation) -> None:
        self.append(evaluation)


_current: JobQueue = CeleryQueue()


def enqueue(evaluations: Iterable[Evaluation]) -> None:
    """Publish one job per evaluation (call it after the transaction commits)."""
    from leaderboard.submissions.models import Evaluation

    for evaluation in evaluations:
        Evaluation.objects.filter(pk=evaluation.pk).update(enqueued_at=timezone.now())
        _current.publish(evaluation)


@contextlib.contextmanager
def captured() -> Iterator[CapturedQueue]:
    """Within the block, jobs are kept in the returned list instead of published."""
    global _current
    previous, _current = _current, CapturedQueue()
    try:
        yield _current
    finally:
        _current = previous
