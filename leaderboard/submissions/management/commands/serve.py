"""Serve the site and run a Celery worker beside it: the last step of ``make run``."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and one Celery worker (all queues, with the periodic "
    "reaper) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--concurrency", default="1")

    def handle(self, *args, port: str, host: str, concurrency: str, **options):
        queues = ",".join(sorted(set(settings.GLEW_QUEUES.values())))
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "leaderboard",
                "worker",
                "-Q",
                queues,
                "--concurrency",
                concurrency,
                "--loglevel",
                "INFO",
                "--hostname",
                f"glew-local@{os.uname().nodename}",
            ],
            start_new_session=True,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Glew is starting on http://{host}:{port}/ (worker pid {worker.pid}, "
                f"queues {queues}). Ctrl-C stops both."
            )
        )
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
