"""Settings for the test suite: the real PostgreSQL and the real Redis broker.

SQLite and the filesystem broker are only the zero-setup default of ``make run``;
tests run on what production runs on.
"""

import os

import dj_database_url

from leaderboard.settings import *  # noqa: F403

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get(
            "GLEW_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/glew"
        )
    )
}
CELERY_BROKER_URL = os.environ.get("GLEW_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Fixed places (not temp dirs) so the Celery worker process the integration tests
# start finds the same storage; tests/conftest.py empties them per session.
MEDIA_ROOT = BASE_DIR / "var" / "test" / "storage"  # noqa: F405
GLEW_JOBS_DIR = BASE_DIR / "var" / "test" / "jobs"  # noqa: F405
