"""``manage.py serve`` (the last step of ``make run``) fails clearly on a busy port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leaderboard.submissions.management.commands import serve

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list:
    """Records worker processes serve would start, instead of starting them."""
    calls: list = []
    monkeypatch.setattr(serve.subprocess, "Popen", lambda *a, **k: calls.append(a))
    return calls


def test_busy_port_is_refused_before_a_worker_starts(spawned: list) -> None:
    """runserver exits the process on a busy port without unwinding, which left
    the worker it had started running with nobody to stop it."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"port {port} .* in use"):
            call_command("serve", "--port", str(port))
    assert spawned == []


def test_port_that_is_not_a_number_is_refused(spawned: list) -> None:
    with pytest.raises(CommandError, match="--port"):
        call_command("serve", "--port", "eighty")
    assert spawned == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) has stopped running.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.integration
def test_sigterm_stops_the_worker_serve_started(tmp_path: Path) -> None:
    """``kill`` (a process manager's stop, not Ctrl-C) used to end serve without
    its cleanup, leaving the Celery worker running."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env |= {"GLEW_VAR_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        worker_pid = None
        while worker_pid is None and time.monotonic() < deadline:
            found = re.search(r"worker pid (\d+)", log.read_text())
            worker_pid = int(found.group(1)) if found else None
            time.sleep(0.2)
        assert worker_pid, log.read_text()
        time.sleep(3)  # let runserver and the worker come up
        assert _alive(worker_pid)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _alive(worker_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker_pid), log.read_text()[-2000:]
    finally:
        if server.poll() is None:
            server.kill()
        if worker_pid and _alive(worker_pid):
            os.killpg(worker_pid, signal.SIGKILL)
