"""Django settings for Glew.

Everything that differs between a laptop and a deployment comes from the environment
(see deploy/env.md). With no environment at all, Glew runs on the embedded default:
SQLite and kombu's filesystem broker under ``var/``, so ``make run`` needs no server.
"""

import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("GLEW_VAR_DIR", BASE_DIR / "var"))


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = _env_bool("GLEW_DEBUG", True)
SECRET_KEY = os.environ.get("GLEW_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("GLEW_SECRET_KEY must be set when GLEW_DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("GLEW_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]
if DEBUG:
    ALLOWED_HOSTS.append("testserver")
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("GLEW_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaderboard.accounts",
    "leaderboard.catalogue",
    "leaderboard.submissions",
    "leaderboard.standings",
    "leaderboard.curation",
    "leaderboard.pages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "leaderboard.urls"
WSGI_APPLICATION = "leaderboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_default_db = f"sqlite:///{VAR_DIR / 'glew.sqlite3'}"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", _default_db), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server and the worker write at once: WAL and immediate transactions
    # keep SQLite from answering "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation."
        "UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Served by WhiteNoise from the app and STATICFILES_DIRS without collectstatic in
# development; production runs collectstatic (deploy/).
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(os.environ.get("GLEW_STORAGE_ROOT", VAR_DIR / "storage"))
# Model archives, dataset files, predictions and logs go through Django's storage
# API: local disk on one box; an S3-compatible bucket (django-storages, the `s3`
# extra) when workers on other machines must fetch what a job needs.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def s3_storage(environ) -> dict | None:
    """The ``STORAGES["default"]`` entry for an S3-compatible bucket, or None.

    Read from ``environ`` (``GLEW_S3_*``; credentials through boto3's usual chain,
    ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``), so the tests that run the web
    side against an S3 server build the very entry a worker builds from its
    environment.
    """
    if not environ.get("GLEW_S3_BUCKET"):
        return None
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": environ["GLEW_S3_BUCKET"],
            "endpoint_url": environ.get("GLEW_S3_ENDPOINT_URL") or None,
            "region_name": environ.get("GLEW_S3_REGION") or None,
            "location": environ.get("GLEW_S3_PREFIX", "glew"),
            "file_overwrite": False,
            "default_acl": "private",
            "querystring_auth": True,
        },
    }


if s3_storage(os.environ):
    STORAGES["default"] = s3_storage(os.environ)

MEDIA_URL = "/media-not-served/"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Uploads over 2.5 MiB are streamed to a temporary file, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
FILE_UPLOAD_TEMP_DIR = None
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
GLEW_MAX_UPLOAD_BYTES = int(os.environ.get("GLEW_MAX_UPLOAD_BYTES", 2 * 1024**3))
# Every upload goes through one handler that streams it to a glew-upload-* temporary
# file and stops at GLEW_MAX_UPLOAD_BYTES while receiving (leaderboard/uploads.py).
FILE_UPLOAD_HANDLERS = ["leaderboard.uploads.CappedUploadHandler"]
# Models larger than this (parameters, counted from config.json before anything is
# built) are refused at upload; per-suite overrides as JSON, e.g. '{"glue": 4e8}'.
GLEW_MAX_MODEL_PARAMS = int(float(os.environ.get("GLEW_MAX_MODEL_PARAMS", 2e9)))
GLEW_MAX_MODEL_PARAMS_PER_SUITE = {
    suite: int(float(value))
    for suite, value in json.loads(
        os.environ.get("GLEW_MAX_MODEL_PARAMS_PER_SUITE", "{}")
    ).items()
}

# The cache holds rate-limit counters: per process by default, shared by every web
# process (as a deployment with several needs) when GLEW_CACHE_URL names a Redis.
GLEW_CACHE_URL = os.environ.get("GLEW_CACHE_URL", "")
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": GLEW_CACHE_URL,
            "KEY_PREFIX": "glew",
        }
        if GLEW_CACHE_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Rate limits (leaderboard/ratelimit.py): failed logins per IP and username in a
# window, and uploads per user per minute.
GLEW_LOGIN_ATTEMPTS = int(os.environ.get("GLEW_LOGIN_ATTEMPTS", 10))
GLEW_LOGIN_WINDOW_S = int(os.environ.get("GLEW_LOGIN_WINDOW_S", 300))
GLEW_UPLOADS_PER_MINUTE = int(os.environ.get("GLEW_UPLOADS_PER_MINUTE", 6))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "EXCEPTION_HANDLER": "leaderboard.errors.api_exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Glew API",
    "DESCRIPTION": "Submit models, follow their evaluations, read leaderboards and "
    "download datasets. Authenticate with `Authorization: Token KEY`.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's files: no CDN is needed.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Celery: one broker, many workers, queues per hardware class.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # Exchange tables; kombu's default is ./control in whatever the cwd is.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
elif CELERY_BROKER_URL.startswith("redis"):
    # Longer than any evaluation may run, so an unacked job is not redelivered while
    # its worker still runs it (late acks: a dead worker's job comes back after this).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 4 * 3600}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("GLEW_CPU_QUEUE", "cpu")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# Where workers prepare job folders (local disk of the worker machine).
GLEW_JOBS_DIR = Path(os.environ.get("GLEW_JOBS_DIR", VAR_DIR / "jobs"))
# Queue names per hardware class; a recipe's needs pick one.
GLEW_QUEUES = {
    "cpu": os.environ.get("GLEW_CPU_QUEUE", "cpu"),
    "gpu": os.environ.get("GLEW_GPU_QUEUE", "gpu"),
}
# Processes one job runs as: one per device of this worker (a GPU worker's GPU
# count), started by torchrun inside the sandbox past one (runners.distributed
# chooses data-parallel or fully sharded from the model's size and the devices).
GLEW_JOB_PROCESSES = int(os.environ.get("GLEW_JOB_PROCESSES", 1))
# Development only: run jobs without bubblewrap. Logged loudly on every job.
GLEW_ALLOW_UNSANDBOXED = _env_bool("GLEW_ALLOW_UNSANDBOXED", False)
GLEW_SANDBOX_THREADS = int(os.environ.get("GLEW_SANDBOX_THREADS", os.cpu_count() or 1))
GLEW_SANDBOX_MEMORY_BYTES = int(
    os.environ.get("GLEW_SANDBOX_MEMORY_BYTES", 16 * 1024**3)
)
GLEW_SANDBOX_MAX_FILE_BYTES = int(
    os.environ.get("GLEW_SANDBOX_MAX_FILE_BYTES", 4 * 1024**3)
)
# Everything a job may write under its out/ folder together (checked every second).
GLEW_SANDBOX_SCRATCH_BYTES = int(
    os.environ.get("GLEW_SANDBOX_SCRATCH_BYTES", 20 * 1024**3)
)
# Suites curated on the site are re-read by each process at most this often (their
# generation stamp is one small query); a name not known yet is looked up at once.
GLEW_CATALOGUE_RECHECK_SECONDS = float(
    os.environ.get("GLEW_CATALOGUE_RECHECK_SECONDS", 1.0)
)
# Where make run finds GLUE files for the baseline (optional).
GLEW_DATA_DIR = os.environ.get("GLEW_DATA_DIR", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {"glew": {"handlers": ["console"], "level": "INFO"}},
}

# Wall-clock limit of one evaluation per recipe (seconds); the reaper uses it too.
GLEW_TIME_LIMITS = {
    "smoke": int(os.environ.get("GLEW_TIME_LIMIT_SMOKE", 900)),
    "quick": int(os.environ.get("GLEW_TIME_LIMIT_QUICK", 3600)),
    "standard": int(os.environ.get("GLEW_TIME_LIMIT_STANDARD", 12 * 3600)),
}

# Submissions per user per 24 hours (failed and cancelled ones are not counted),
# with per-suite overrides as JSON, e.g. GLEW_DAILY_LIMITS='{"glue": 3}'.
GLEW_DAILY_SUBMISSION_LIMIT = int(os.environ.get("GLEW_DAILY_SUBMISSION_LIMIT", 10))
GLEW_DAILY_LIMITS = json.loads(os.environ.get("GLEW_DAILY_LIMITS", "{}"))

# Periodic jobs (run by `celery beat`, or a worker started with -B as `make run` does).
CELERY_BEAT_SCHEDULE = {
    "reap-stuck-evaluations": {
        "task": "glew.reap_stuck_evaluations",
        "schedule": 300.0,
        "options": {"queue": os.environ.get("GLEW_CPU_QUEUE", "cpu")},
    },
    "requeue-stale-evaluations": {
        "task": "glew.requeue_stale_evaluations",
        "schedule": 300.0,
        "options": {"queue": os.environ.get("GLEW_CPU_QUEUE", "cpu")},
    },
}
# A running job's worker beats every quarter of this; a redelivered job takes over
# only a running evaluation whose heartbeat is older.
GLEW_HEARTBEAT_STALE_S = int(os.environ.get("GLEW_HEARTBEAT_STALE_S", 60))
# Queued evaluations whose message is older than this are published again.
GLEW_REQUEUE_AFTER_S = int(os.environ.get("GLEW_REQUEUE_AFTER_S", 900))
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Anonymous reads of leaderboards and submissions are answered from a cache of whole
# responses for this many seconds, in front of Django (0 turns it off;
# leaderboard/microcache.py, wrapped around the handler in leaderboard/wsgi.py).
# 5 s, not the live pages' 2 s polling period: each cached URL is rebuilt once per
# period, and on a server with half a core those builds made the latency tail (p95
# 18-68 ms at 2 s, 8-17 ms at 5 s; README, "Performance"). Signed-in users, who
# watch their own runs, never read from it.
GLEW_MICROCACHE_SECONDS = float(os.environ.get("GLEW_MICROCACHE_SECONDS", 5))
