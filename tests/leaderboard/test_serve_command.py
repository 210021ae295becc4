"""``manage.py serve`` (the last step of ``make run``) fails clearly on a busy port."""

from __future__ import annotations

import socket

import pytest
from django.core.management import CommandError, call_command

from leaderboard.submissions.management.commands import serve


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
