"""A worker killed mid-evaluation: the job comes back, finishes once, nothing lost."""

import os
import signal
import time

import pytest
from django.core.management import call_command

from leaderboard.submissions import intake
from leaderboard.submissions.models import Evaluation, Result
from leaderboard.submissions.status import Status
from tests.conftest import purge_queues, start_worker, stop_worker

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUEUE = f"faults-{os.environ['GLEW_TEST_RUN_ID']}"
WORKER_ENV = {
    "GLEW_CPU_QUEUE": QUEUE,
    "GLEW_GPU_QUEUE": QUEUE,
    "GLEW_TEST_VISIBILITY_TIMEOUT": "15",
    "GLEW_HEARTBEAT_STALE_S": "8",
}


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkilled_worker_job_is_redelivered_and_finishes_once(
    settings, tmp_path, django_user_model, sst2_folder, tiny_model_zip
):
    settings.GLEW_QUEUES = {"cpu": QUEUE, "gpu": QUEUE}
    purge_queues(QUEUE)
    call_command("import_task", "glue/sst2", str(sst2_folder))
    owner = django_user_model.objects.create_user("kim", password="pw-kim-12345")

    first = start_worker(tmp_path / "first.log", tmp_path, extra_env=WORKER_ENV)
    try:
        submission = intake.submission_create(
            owner=owner,
            name="killed",
            archive_stream=tiny_model_zip.open("rb"),
            recipe="smoke",
            tasks=["glue/sst2"],
        )
        evaluation = submission.evaluations.get()
        wait_until(
            lambda: Evaluation.objects.get(pk=evaluation.pk).status == Status.RUNNING,
            60,
            "the first worker to start the evaluation",
        )
    finally:
        stop_worker(first, signal.SIGKILL)
    assert Evaluation.objects.get(pk=evaluation.pk).status == Status.RUNNING

    second = start_worker(tmp_path / "second.log", tmp_path, extra_env=WORKER_ENV)
    try:
        done = wait_until(
            lambda: Evaluation.objects.filter(
                pk=evaluation.pk, status__in=[Status.FINISHED, Status.FAILED]
            ).first(),
            180,
            "the redelivered evaluation to finish",
        )
    finally:
        stop_worker(second)
    assert done.status == Status.FINISHED, (done.error_code, done.error_message)
    assert done.attempts >= 2
    assert Result.objects.filter(evaluation=done).count() == 1
