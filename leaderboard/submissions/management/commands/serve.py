"""Serve the site and run a Celery worker beside it: the last step of ``make run``."""

import os
import shutil
import signal
import socket
import subprocess

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from leaderboard.celery import worker_argv


def check_port_free(host: str, port: str) -> None:
    """Raise CommandError unless ``host:port`` can be bound.

    Checked before the worker starts: runserver ends the process with
    ``os._exit`` on a busy port, skipping the ``finally`` that stops the worker.
    SO_REUSEADDR (as runserver sets) lets a port in TIME_WAIT pass while a
    listening one fails.
    """
    try:
        number = int(port)
    except ValueError:
        raise CommandError(f"--port must be a number, not {port!r}.") from None
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, number, type=socket.SOCK_STREAM
        )[0]
    except socket.gaierror as exc:
        raise CommandError(f"--host {host!r} cannot be resolved: {exc}.") from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise CommandError(
                f"port {port} on {host} is already in use ({exc.strerror}); stop "
                f"what holds it or choose another port (make run PORT=8001)."
            ) from None


def _native_bf16_here() -> bool:
    """Whether this machine's worker can run bf16 recipes: a CPU with native bf16,
    or an NVIDIA GPU (bf16 support itself is checked when a job starts)."""
    from kernels import precision

    cpu = precision.flags_have_native_bf16(precision.cpu_flags())
    return cpu or shutil.which("nvidia-smi") is not None


def _interrupt(signum, frame):
    """SIGTERM as Ctrl-C: unwinds runserver so the worker is stopped too."""
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the web server and one Celery worker (all queues, with the periodic "
    "reaper) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--concurrency", default="1")

    def handle(self, *args, port: str, host: str, concurrency: str, **options):
        check_port_free(host, port)
        queues = sorted(set(settings.GLEW_QUEUES.values()))
        worker = subprocess.Popen(
            worker_argv(
                queues=queues,
                hostname=f"glew-local@{os.uname().nodename}",
                concurrency=concurrency,
            ),
            start_new_session=True,
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Glew is starting on http://{host}:{port}/ (worker pid {worker.pid}, "
                f"queues {', '.join(queues)}). Ctrl-C or SIGTERM stops both."
            )
        )
        if not _native_bf16_here():
            self.stdout.write(
                "Note: this machine has no GPU and its CPU does not multiply bf16 "
                "natively, so its worker refuses bf16 recipes (standard, LRA's fixed "
                "ones) with a plain reason; smoke and quick compute in fp32 here as "
                "on any machine (kernels/numerics.py)."
            )
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False)
        finally:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(worker.pid, signal.SIGKILL)
