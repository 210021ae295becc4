"""The worker side of an evaluation: prepare a job folder, run the sandbox, publish.

Called by the Celery adapter (``leaderboard.submissions.tasks``) with an evaluation id.
It is safe to call twice for one evaluation: a finished evaluation is left alone, and a
running one (its first worker died) is claimed again and started from scratch. Each
step is its own module: ``folder`` (prepare), ``sandboxed`` (run), ``publish`` (check,
score against the hidden labels, store Results), ``heartbeat``. The in-sandbox side is
``runners`` (plain Python, no Django); only results flow back.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

from django.conf import settings
from django.db import InterfaceError, OperationalError

from leaderboard.submissions import lifecycle
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.pipeline.folder import job_folder_prepare, remove_tree
from leaderboard.submissions.pipeline.heartbeat import Heartbeat
from leaderboard.submissions.pipeline.publish import job_publish
from leaderboard.submissions.pipeline.sandboxed import job_run
from leaderboard.submissions.status import Status
from runners.contract import OUT_OF_MEMORY_CODE
from tasks import registry
from tasks.errors import GlewError

log = logging.getLogger("glew.worker")

TAIL_LINES = 60


def evaluation_execute(*, evaluation_id: int) -> None:
    """Run one evaluation end to end; every failure ends as a failed evaluation."""
    evaluation = lifecycle.evaluation_claim(evaluation_id=evaluation_id)
    if evaluation is None:
        log.info("evaluation %s: nothing to do (already terminal)", evaluation_id)
        return
    job_dir = (
        Path(settings.GLEW_JOBS_DIR) / f"eval-{evaluation.pk}-{evaluation.attempts}"
    )
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    heartbeat = Heartbeat(evaluation.pk)
    heartbeat.start()
    try:
        spec = registry.get_task(evaluation.task.name)
        clock = time.perf_counter()
        job_folder_prepare(evaluation=evaluation, spec=spec, job_dir=job_dir)
        seconds = {"prepare": time.perf_counter() - clock}
        clock = time.perf_counter()
        outcome = job_run(evaluation=evaluation, job_dir=job_dir, tail=tail)
        seconds["sandbox"] = time.perf_counter() - clock
        if outcome is not None:
            code, message = outcome
            if code == OUT_OF_MEMORY_CODE and lifecycle.evaluation_retry_smaller_batch(
                evaluation_id=evaluation.pk
            ):
                log.info(
                    "evaluation %s: out of memory, retrying at half batch",
                    evaluation.pk,
                )
                return
            lifecycle.evaluation_fail(
                evaluation_id=evaluation.pk,
                code=code,
                message=message,
                log_tail="\n".join(tail),
            )
            return
        if (
            lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
            is None
        ):
            log.info("evaluation %s was cancelled while running", evaluation.pk)
            return
        job_publish(
            evaluation=evaluation,
            spec=spec,
            job_dir=job_dir,
            tail=tail,
            worker_seconds=seconds,
        )
    except GlewError as error:
        log.warning(
            "evaluation %s failed: %s %s", evaluation.pk, error.code, error.message
        )
        lifecycle.evaluation_fail(
            evaluation_id=evaluation.pk,
            code=error.code,
            message=error.message,
            log_tail="\n".join(tail),
        )
    except (OperationalError, InterfaceError):
        # The database went away: not the submission's fault. Celery retries the
        # job with backoff; the redelivered job takes the evaluation over.
        log.warning("evaluation %s: database unavailable, will retry", evaluation.pk)
        raise
    except Exception as error:  # noqa: BLE001 - any crash must end as a failed row
        log.exception("evaluation %s crashed in the worker", evaluation.pk)
        lifecycle.evaluation_fail(
            evaluation_id=evaluation.pk,
            code="platform.worker_crashed",
            message=f"The platform failed while running this evaluation "
            f"({type(error).__name__}: {error}). It is our fault; an admin can "
            "re-run it.",
            log_tail="\n".join(tail),
        )
    finally:
        heartbeat.stop()
        remove_tree(job_dir)
        _settle_companions(evaluation_id=evaluation.pk)


def _settle_companions(*, evaluation_id: int) -> None:
    """Companions of a failed or cancelled evaluation end the same way, with reason."""
    main = Evaluation.objects.select_related("task").get(pk=evaluation_id)
    if main.status not in (Status.FAILED, Status.CANCELLED):
        return
    for companion in main.companions.exclude(
        status__in=[Status.FINISHED, Status.FAILED, Status.CANCELLED]
    ):
        if main.status == Status.CANCELLED:
            lifecycle.evaluation_move(evaluation_id=companion.pk, to=Status.CANCELLED)
        else:
            lifecycle.evaluation_fail(
                evaluation_id=companion.pk,
                code="evaluation.model_failed",
                message=f"It is predicted with the {main.task.name} model, whose "
                f"evaluation failed: {main.error_message}",
            )
