"""Restart the broker and PostgreSQL while evaluations run: nothing is lost.

Redis here keeps nothing on disk, so a restart forgets queued messages: the rows
remember them and the requeue sweep publishes them again. A database restart
breaks every connection: the worker retries until the database is back.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from leaderboard.submissions import intake, lifecycle
from leaderboard.submissions.models import Evaluation, Result
from leaderboard.submissions.status import Status
from tests.conftest import purge_queues, require_tool, start_worker, stop_worker

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True)
def _local_services() -> None:
    require_tool(
        "services",
        bool(shutil.which("redis-server")) and Path("/etc/postgresql").exists(),
        "these tests restart the machine's own Redis and PostgreSQL; they are not "
        "installed here",
        "run them on a machine with local PostgreSQL and Redis servers",
    )


QUEUE = f"restarts-{os.environ['GLEW_TEST_RUN_ID']}"
WORKER_ENV = {
    "GLEW_CPU_QUEUE": QUEUE,
    "GLEW_GPU_QUEUE": QUEUE,
    "GLEW_TEST_VISIBILITY_TIMEOUT": "15",
    "GLEW_HEARTBEAT_STALE_S": "8",
}
REDIS_ARGS = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "-::1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    "/var/lib/redis",
    "--logfile",
    "/var/log/redis/ci.log",
]


def restart_redis() -> None:
    subprocess.run(["redis-cli", "shutdown", "nosave"], check=False, timeout=30)
    Path("/var/lib/redis").mkdir(parents=True, exist_ok=True)
    Path("/var/log/redis").mkdir(parents=True, exist_ok=True)
    subprocess.run(REDIS_ARGS, check=True, timeout=30)
    wait_until(
        lambda: (
            subprocess.run(["redis-cli", "ping"], capture_output=True).stdout.strip()
            == b"PONG"
        ),
        30,
        "redis to answer",
    )


def restart_postgres() -> None:
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )
    wait_until(
        lambda: subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"]).returncode == 0,
        60,
        "postgres to answer",
    )
    connection.close()  # this process's connection died with the server


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - a service is still coming back
            connection.close()
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def statuses(ids):
    return list(Evaluation.objects.filter(pk__in=ids).values_list("status", flat=True))


def test_broker_and_database_restarts_lose_nothing(
    settings, tmp_path, django_user_model, sst2_folder, tiny_model_zip
):
    settings.GLEW_QUEUES = {"cpu": QUEUE, "gpu": QUEUE}
    purge_queues(QUEUE)
    call_command("import_task", "glue/sst2", str(sst2_folder))
    owner = django_user_model.objects.create_user("ren", password="pw-ren-12345")

    worker = start_worker(tmp_path / "worker.log", tmp_path, extra_env=WORKER_ENV)
    try:
        ids = []
        for name in ("first", "second"):  # one runs, one waits in the queue
            submission = intake.submission_create(
                owner=owner,
                name=name,
                archive_stream=tiny_model_zip.open("rb"),
                recipe="smoke",
                tasks=["glue/sst2"],
            )
            ids.append(submission.evaluations.get().pk)
        wait_until(lambda: Status.RUNNING in statuses(ids), 60, "a job to start")

        restart_redis()  # forgets the queued job's message
        restart_postgres()  # breaks the worker's connections mid-job

        # What the periodic requeue sweep does, without waiting its period.
        wait_until(
            lambda: lifecycle.evaluation_requeue_stale(older_than_s=0) >= 0,
            30,
            "the database for the sweep",
        )
        done = wait_until(
            lambda: (
                set(statuses(ids)) <= {Status.FINISHED, Status.FAILED} and statuses(ids)
            ),
            240,
            "both evaluations to finish",
        )
    finally:
        stop_worker(worker)
    log = (tmp_path / "worker.log").read_text()[-4000:]
    assert set(done) == {Status.FINISHED}, (
        list(Evaluation.objects.filter(pk__in=ids).values("status", "error_message")),
        log,
    )
    assert Result.objects.filter(evaluation_id__in=ids).count() == 2
