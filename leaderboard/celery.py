"""The Celery application: one broker, many workers, queues per hardware class."""

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leaderboard.settings")

app = Celery("glew")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["leaderboard.submissions", "leaderboard.curation"])


@app.on_after_configure.connect
def _make_filesystem_broker_folders(sender: Celery, **kwargs) -> None:
    """kombu's filesystem transport (the zero-setup default) needs its folders."""
    options = sender.conf.broker_transport_options or {}
    for key in (
        "data_folder_in",
        "data_folder_out",
        "processed_folder",
        "control_folder",
    ):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)


def worker_argv(
    *,
    queues: Iterable[str],
    hostname: str,
    concurrency: int | str = 1,
    extra: Sequence[str] = (),
) -> list[str]:
    """The command line of one worker process serving ``queues``: what ``make run``
    starts beside the web server and what the integration tests start."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "leaderboard",
        "worker",
        "-Q",
        ",".join(sorted(set(queues))),
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--hostname",
        hostname,
        *extra,
    ]
