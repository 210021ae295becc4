"""Settings for the test suite: the real PostgreSQL and the real Redis broker.

SQLite and the filesystem broker are only the zero-setup default of ``make run``;
tests run on what production runs on.
"""

import os
from pathlib import Path

import dj_database_url

# One id per test session, shared with the worker processes it starts: concurrent
# test sessions on one machine get their own database, storage and queues.
os.environ.setdefault("GLEW_TEST_RUN_ID", str(os.getpid()))
RUN_ID = os.environ["GLEW_TEST_RUN_ID"]
os.environ.setdefault("GLEW_CPU_QUEUE", f"cpu-{RUN_ID}")
os.environ.setdefault("GLEW_GPU_QUEUE", f"gpu-{RUN_ID}")

from leaderboard.settings import *  # noqa: E402, F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get(
            "GLEW_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/glew"
        )
    )
}
DATABASES["default"]["TEST"] = {"NAME": f"test_glew_{RUN_ID}"}
CELERY_BROKER_URL = os.environ.get("GLEW_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
# Short, so the worker-killed test sees the job redelivered within seconds (the
# test jobs take a few seconds; production keeps hours, longer than any job).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("GLEW_TEST_VISIBILITY_TIMEOUT", 3600)),
    # A live worker looks for a dead worker's unacked messages every 2 s (kombu's
    # default sweep runs every 100 s, longer than the worker-killed tests wait).
    "unacked_restore_interval": 2,
    "unacked_restore_throttle": 1,
}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Fixed places (not temp dirs) so the Celery worker process the integration tests
# start finds the same storage; tests/conftest.py empties them per session. A worker
# that plays another machine (tests/integration/test_scale_out.py) gets folders of
# its own instead; the names are test-only so a developer's GLEW_STORAGE_ROOT never
# points a test session's clean-up at real files.
_TEST_DIR = BASE_DIR / "var" / "test" / RUN_ID  # noqa: F405
MEDIA_ROOT = Path(os.environ.get("GLEW_TEST_STORAGE_ROOT") or _TEST_DIR / "storage")
GLEW_JOBS_DIR = Path(os.environ.get("GLEW_TEST_JOBS_DIR") or _TEST_DIR / "jobs")
# Many tests upload as one user within a minute; tests of the limit lower it.
GLEW_UPLOADS_PER_MINUTE = 10_000

# Tests read what they just wrote: no microcache.
GLEW_MICROCACHE_SECONDS = 0
# Tests change curated suites and read them back at once (and roll back between
# tests): the registry reads its stamp on every lookup.
GLEW_CATALOGUE_RECHECK_SECONDS = 0.0
