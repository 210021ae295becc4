"""Shared fixtures: test data in the original GLUE layout, tiny models, a real worker.

Integration tests run against what production runs: PostgreSQL (settings_test), a
real Celery worker process on Redis, and the real bubblewrap sandbox.
"""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model, zip_model_dir

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

ALLOW_MISSING_ENV = "GLEW_TEST_ALLOW_MISSING"
"""Opt-out for people who know what they give up: a comma-separated list of the
tools whose tests may be skipped when missing (``sandbox``, ``browser``, ``qemu``,
or ``all``). Unset (always, in CI), a missing tool fails its tests."""


def require_tool(kind: str, available: bool, problem: str, fix: str) -> None:
    """Fail the calling test when a tool it needs is missing, naming the fix.

    A suite that passes by skipping the sandbox or the browser proves nothing, so a
    missing tool is an error unless ``GLEW_TEST_ALLOW_MISSING`` names its kind.
    """
    if available:
        return
    allowed = {
        part.strip() for part in os.environ.get(ALLOW_MISSING_ENV, "").split(",")
    }
    if kind in allowed or "all" in allowed:
        pytest.skip(f"{problem} ({ALLOW_MISSING_ENV} allows skipping {kind} tests)")
    pytest.fail(
        f"{problem}. Fix: {fix}. To skip these tests knowingly, set "
        f"{ALLOW_MISSING_ENV}={kind}.",
        pytrace=False,
    )


def write_sst2_folder(folder: Path) -> Path:
    """A tiny SST-2 in the exact GLUE release layout (header, tab, label 0/1)."""
    folder.mkdir(parents=True, exist_ok=True)
    positives = FIXTURE_TEXTS[:30]
    negatives = FIXTURE_TEXTS[30:]
    train = [(t, 1) for t in positives[:22]] + [(t, 0) for t in negatives[:22]]
    dev = [(t, 1) for t in positives[22:]] + [(t, 0) for t in negatives[22:]]
    with (folder / "train.tsv").open("w") as f:
        f.write("sentence\tlabel\n")
        f.writelines(f"{text} \t{label}\n" for text, label in train)
    with (folder / "dev.tsv").open("w") as f:
        f.write("sentence\tlabel\n")
        f.writelines(f"{text} \t{label}\n" for text, label in dev)
    with (folder / "test.tsv").open("w") as f:
        f.write("index\tsentence\n")
        f.writelines(f"{i}\t{text}\n" for i, (text, _) in enumerate(dev[:6]))
    return folder


def write_advglue_folder(folder: Path) -> Path:
    """AdvGLUE's released layout: one dev.json keyed by task name (sst2 here)."""
    folder.mkdir()
    rows = [
        {"idx": i, "label": 1 if i < 5 else 0, "sentence": FIXTURE_TEXTS[i * 3]}
        for i in range(10)
    ]
    (folder / "dev.json").write_text(json.dumps({"sst2": rows}))
    return folder


@pytest.fixture(scope="session")
def tiny_model_zip(tmp_path_factory) -> Path:
    """A zipped tiny BERT classifier (safetensors, own tokenizer) as users upload it."""
    root = tmp_path_factory.mktemp("tiny-model")
    model = build_tiny_model(root / "model", FIXTURE_TEXTS, num_labels=2)
    return zip_model_dir(model, root / "tiny-model.zip")


@pytest.fixture
def no_enqueue():
    """Jobs that services would publish are kept in this list instead (the seam
    ``leaderboard.submissions.queueing``), so no worker runs them."""
    from leaderboard.submissions import queueing

    with queueing.captured() as sent:
        yield sent


@pytest.fixture
def sst2_folder(tmp_path) -> Path:
    return write_sst2_folder(tmp_path / "SST-2")


@pytest.fixture(autouse=True, scope="session")
def _clean_test_storage(request):
    """Start every session with empty test storage (when Django is in play at all:
    the plain-Python layers' tests also run with ``-p no:django``)."""
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    from django.conf import settings

    folders = (Path(settings.MEDIA_ROOT), Path(settings.GLEW_JOBS_DIR))
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
    yield
    shutil.rmtree(Path(settings.MEDIA_ROOT).parent, ignore_errors=True)


def _worker_env(db_name: str) -> dict:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="leaderboard.settings_test",
        GLEW_TEST_RUN_ID=os.environ["GLEW_TEST_RUN_ID"],
        GLEW_CPU_QUEUE=settings.GLEW_QUEUES["cpu"],
        GLEW_GPU_QUEUE=settings.GLEW_QUEUES["gpu"],
        GLEW_TEST_DATABASE_URL=(
            f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
            f"/{db_name}"
        ),
        GLEW_TEST_BROKER_URL=settings.CELERY_BROKER_URL,
        GLEW_SANDBOX_THREADS="1",
    )
    return env


def start_worker(
    log: Path,
    workdir: Path,
    *,
    extra_env: dict | None = None,
    launcher: str = "celery",
):
    """Start a real Celery worker process on the test database and broker.

    It runs from a separate working directory, as a worker on another machine would:
    it shares only the broker, the database and file storage with the test process.
    ``launcher`` is the module run as ``python -m`` in celery's place (one that
    ends by calling celery's main, such as ``tests.fixtures.audited_worker``).
    """
    from django.conf import settings
    from django.db import connection

    from leaderboard.celery import worker_argv
    from runners.sandbox import SandboxUnavailable, check_sandbox_available

    try:
        check_sandbox_available()
    except SandboxUnavailable as exc:
        # Every job of the worker would fail with sandbox.unavailable: say so once.
        require_tool(
            "sandbox", False, str(exc), "scripts/system-packages run (bubblewrap)"
        )
    handle = log.open("w")
    env = {**_worker_env(connection.settings_dict["NAME"]), "PYTHONPATH": str(REPO)}
    env.update(extra_env or {})
    argv = worker_argv(
        queues=settings.GLEW_QUEUES.values(),
        hostname=f"test-worker-{os.getpid()}-{log.stem}@%h",
        extra=("--without-mingle", "--without-gossip"),
    )
    assert argv[1:3] == ["-m", "celery"], argv
    proc = subprocess.Popen(
        [argv[0], "-m", launcher, *argv[3:]],
        cwd=workdir,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"Celery worker did not start:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.3)
    return proc


def purge_queues(*names: str) -> None:
    """Drop this session's queues on the broker (left over from an aborted run)."""
    from django.conf import settings

    from leaderboard.celery import app

    client = app.connection_for_write().default_channel.client
    for name in set(settings.GLEW_QUEUES.values()) | set(names):
        client.delete(name)


def stop_worker(proc, sig: int = 15) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """A real Celery worker process on the real broker, using the test database."""
    purge_queues()
    with django_db_blocker.unblock():
        proc = start_worker(
            tmp_path_factory.mktemp("worker") / "worker.log",
            tmp_path_factory.mktemp("worker-cwd"),
        )
    yield proc
    stop_worker(proc)
