"""Scale-out for real: storage on an S3 server, workers that share no disk with the web.

Every process here plays its own machine. The test process is the web (uploads and
downloads through the REST API) and the Celery workers are real processes, each with
its own storage root, job folder, temporary folder and working directory; what they
have in common is PostgreSQL, the Redis broker and a real S3-protocol server (moto's
server mode, a separate process: ``tests/fixtures/s3_server.py`` says why that one).
Each worker runs under an audit hook (``tests/fixtures/audited_worker.py``) that
writes down every path it opens, lists, links or hands to bubblewrap under the test
session's folders, so the tests can show that no worker read from a path it does not
own.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command

from leaderboard.settings import s3_storage
from leaderboard.submissions.models import Evaluation, Result
from leaderboard.submissions.status import Status
from tests.conftest import REPO, purge_queues, start_worker, stop_worker
from tests.fixtures.s3_server import running_s3_server
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model, zip_model_dir

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUN_ID = os.environ["GLEW_TEST_RUN_ID"]
QUEUE = f"scale-{RUN_ID}"
WORKER_ENV = {
    "GLEW_CPU_QUEUE": QUEUE,
    "GLEW_GPU_QUEUE": QUEUE,
    # A killed worker's job comes back within seconds, not hours.
    "GLEW_TEST_VISIBILITY_TIMEOUT": "15",
    "GLEW_HEARTBEAT_STALE_S": "8",
}
TERMINAL = {Status.FINISHED, Status.FAILED, Status.CANCELLED}


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    folder = tmp_path_factory.mktemp("s3-server")
    with running_s3_server(folder / "moto.log", bucket=f"glew-test-{RUN_ID}") as server:
        yield server


@dataclass
class Machines:
    """The web side's folders and the worker "machines" a test starts."""

    root: Path
    store: object
    watched: list[str]
    workers: dict = field(default_factory=dict)

    def start(self, name: str):
        home = self.root / name
        for sub in ("storage", "jobs", "tmp"):
            (home / sub).mkdir(parents=True)
        env = {
            **WORKER_ENV,
            **self.store.env(),
            "GLEW_TEST_STORAGE_ROOT": str(home / "storage"),
            "GLEW_TEST_JOBS_DIR": str(home / "jobs"),
            "TMPDIR": str(home / "tmp"),
            "GLEW_TEST_AUDIT_LOG": str(self.root / f"{name}.audit"),
            "GLEW_TEST_AUDIT_WATCH": os.pathsep.join(self.watched),
        }
        proc = start_worker(
            self.root / f"{name}.log",
            home,
            extra_env=env,
            launcher="tests.fixtures.audited_worker",
        )
        self.workers[name] = proc
        return proc

    def touched(self, name: str) -> list[tuple[str, str]]:
        lines = (self.root / f"{name}.audit").read_text().splitlines()
        return [tuple(line.split("\t", 1)) for line in lines]

    def foreign(self, name: str) -> list[tuple[str, str]]:
        """What worker ``name`` touched under the watched folders outside its own."""
        own = os.path.join(os.path.realpath(self.root / name), "")
        return [
            (event, path)
            for event, path in self.touched(name)
            if not os.path.join(path, "").startswith(own)
        ]

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text()


@pytest.fixture
def machines(request, tmp_path, tmp_path_factory, settings, monkeypatch, s3):
    """The test process as the web on the S3 server, with only folders of its own;
    workers are started by the test and stopped here."""
    store = replace(s3, prefix=f"glew-{request.node.name[:40]}")
    for key, value in store.env().items():
        monkeypatch.setenv(key, value)
    web = tmp_path / "web"
    for sub in ("storage", "jobs", "tmp"):
        (web / sub).mkdir(parents=True)
    settings.STORAGES = {**settings.STORAGES, "default": s3_storage(store.env())}
    settings.MEDIA_ROOT = web / "storage"
    settings.GLEW_JOBS_DIR = web / "jobs"
    settings.FILE_UPLOAD_TEMP_DIR = str(web / "tmp")
    settings.GLEW_QUEUES = {"cpu": QUEUE, "gpu": QUEUE}
    purge_queues(QUEUE)
    watched = [str(tmp_path_factory.getbasetemp()), str(settings.BASE_DIR / "var")]
    fleet = Machines(root=tmp_path, store=store, watched=watched)
    yield fleet
    for proc in fleet.workers.values():
        stop_worker(proc)
    purge_queues(QUEUE)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def upload(api, archive: Path, name: str) -> int:
    with archive.open("rb") as handle:
        response = api.post(
            "/api/v1/submissions",
            {"archive": handle, "name": name, "tasks": "glue/sst2", "recipe": "smoke"},
            format="multipart",
        )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def local_files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def test_the_audit_hook_sees_a_read_from_a_folder_the_process_does_not_own(tmp_path):
    """The check the scale-out tests rely on can fail: a read is written down."""
    secret = tmp_path / "web" / "storage" / "models" / "x.zip"
    secret.parent.mkdir(parents=True)
    secret.write_bytes(b"not yours")
    log = tmp_path / "audit"
    code = (
        "import sys; from tests.fixtures.audited_worker import install; "
        "install(sys.argv[1], [sys.argv[2]]); open(sys.argv[3], 'rb').read()"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(log), str(tmp_path), str(secret)],
        cwd=REPO,
        check=True,
    )
    assert log.read_text().splitlines() == [f"open\t{secret}"]


def test_uploads_job_inputs_predictions_logs_and_downloads_go_through_s3(
    machines, api, sst2_folder, tiny_model_zip
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    machines.start("worker-a")
    submission_id = upload(api, tiny_model_zip, "on-s3")
    (evaluation,) = Evaluation.objects.filter(submission_id=submission_id)
    ended = Evaluation.objects.filter(pk=evaluation.pk, status__in=TERMINAL)
    done = wait_until(
        ended.first,
        240,
        "the evaluation to finish",
    )
    assert done.status == Status.FINISHED, (done.error_code, done.error_message)

    keys = machines.store.keys()
    assert f"models/{done.submission.archive.sha256}.zip" in keys
    assert {"train.jsonl", "validation.jsonl", "test.jsonl"} <= {
        key.rsplit("/", 1)[-1] for key in keys if key.startswith("datasets/glue/sst2/")
    }
    assert f"predictions/eval-{done.pk}/validation.jsonl" in keys
    assert f"predictions/eval-{done.pk}/test.jsonl" in keys
    assert f"logs/eval-{done.pk}-attempt-1.log" in keys

    # Downloads are read back from the bucket by the web side.
    dataset = api.get("/api/v1/tasks/glue/sst2/download")
    assert dataset.status_code == 200, dataset.content
    names = zipfile.ZipFile(io.BytesIO(dataset.content)).namelist()
    assert any(name.endswith("train.jsonl") for name in names), names
    export = api.get(f"/api/v1/submissions/{submission_id}/glue-zip")
    assert export.status_code == 200, export.content
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        rows = archive.read("SST-2.tsv").decode().splitlines()
    assert rows[0] == "index\tprediction" and len(rows) == 7
    result = Result.objects.get(evaluation=done)
    with default_storage.open(result.predictions["validation"]) as handle:
        assert len([json.loads(line) for line in handle]) == 16

    # Nothing was kept on a local disk: not by the web, not by the worker.
    assert local_files(machines.root / "web" / "storage") == []
    assert local_files(machines.root / "worker-a" / "storage") == []
    assert local_files(machines.root / "worker-a" / "jobs" / "models") != []
    assert machines.foreign("worker-a") == []
    assert any(
        event == "subprocess.Popen" for event, _ in machines.touched("worker-a")
    ), "the audit hook saw no sandbox start"


def test_two_workers_sharing_no_disk_finish_every_evaluation_once_after_a_kill(
    machines, api, sst2_folder, tmp_path
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    archives = [
        zip_model_dir(
            build_tiny_model(tmp_path / f"model-{seed}", FIXTURE_TEXTS, seed=seed),
            tmp_path / f"model-{seed}.zip",
        )
        for seed in (1, 2, 3)
    ]
    doomed = machines.start("worker-a")
    machines.start("worker-b")
    ids = [upload(api, archive, archive.stem) for archive in archives]
    evaluations = list(Evaluation.objects.filter(submission_id__in=ids))
    assert len(evaluations) == 3

    jobs_a = machines.root / "worker-a" / "jobs"

    def running_on_a():
        for folder in jobs_a.glob("eval-*"):
            pk = int(folder.name.split("-")[1])
            if Evaluation.objects.filter(pk=pk, status=Status.RUNNING).exists():
                return pk
        return None

    killed = wait_until(running_on_a, 120, "worker-a to start an evaluation")
    stop_worker(doomed, signal.SIGKILL)
    assert Evaluation.objects.get(pk=killed).status == Status.RUNNING

    wait_until(
        lambda: (
            not Evaluation.objects.filter(submission_id__in=ids)
            .exclude(status__in=TERMINAL)
            .exists()
        ),
        300,
        "every evaluation to end",
    )
    for evaluation in Evaluation.objects.filter(submission_id__in=ids):
        assert evaluation.status == Status.FINISHED, (
            evaluation.pk,
            evaluation.error_code,
            evaluation.error_message,
        )
        assert Result.objects.filter(evaluation=evaluation).count() == 1
    assert Evaluation.objects.get(pk=killed).attempts >= 2
    # The killed job ran again on the surviving worker, from its own folders.
    assert f"eval-{killed}-" in "\n".join(p for _, p in machines.touched("worker-b"))
    keys = machines.store.keys()
    for evaluation in evaluations:
        assert f"predictions/eval-{evaluation.pk}/validation.jsonl" in keys
    assert machines.foreign("worker-a") == []
    assert machines.foreign("worker-b") == []
