"""Hostile programs inside the real bubblewrap sandbox (what tests/runners misses).

Uploads cannot carry code (no remote code, no pickle), so the hostile program is
put straight into the job's model folder and run with ``run_in_sandbox``, as the
worker runs ``runners.execute``. Each ends with a plain reason. Network to the
database and Redis, writing outside ``out``, memory and CPU bombs and endless
loops are covered in tests/runners/test_sandbox.py.
"""

from __future__ import annotations

import os
import socket
import textwrap
import time
import uuid
from pathlib import Path

import pytest

from runners import cgroups
from runners.contract import SPEC_FILE, LaunchSettings
from runners.sandbox import (
    SandboxLimits,
    SandboxUnavailable,
    check_sandbox_available,
    run_in_sandbox,
    sandbox_python,
)
from tests.conftest import require_tool

REPO = Path(__file__).resolve().parent.parent.parent
LIMITS = SandboxLimits(
    wall_seconds=30, cpu_seconds=30, memory_bytes=2 << 30, max_file_bytes=10 << 20
)

pytestmark = pytest.mark.timeout(120)

FIX = "scripts/system-packages run (installs bubblewrap)"


@pytest.fixture(autouse=True)
def needs_bwrap() -> None:
    try:
        check_sandbox_available()
    except SandboxUnavailable as exc:
        require_tool("sandbox", False, f"bubblewrap cannot run here: {exc}", FIX)


def _run(job: Path, program: str, limits: SandboxLimits = LIMITS, *args: str):
    for sub in ("model", "data", "out"):
        (job / sub).mkdir(parents=True, exist_ok=True)
    LaunchSettings(threads=1).write(job / SPEC_FILE)
    (job / "model" / "prog.py").write_text(textwrap.dedent(program))
    return run_in_sandbox(
        job_dir=job,
        argv=[sandbox_python(), "/job/model/prog.py", *args],
        limits=limits,
        log_path=job.parent / f"{job.name}.log",
    )


def _processes_with(marker: str) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                if marker.encode() in handle.read():
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_program_cannot_reach_rabbitmq_or_ipv6_loopback(tmp_path: Path) -> None:
    result = _run(
        tmp_path / "job",
        """
        import socket
        for family, host in [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]:
            for port in (5672, 15672, 5432, 6379, 8000):
                try:
                    s = socket.socket(family)
                    s.settimeout(2)
                    s.connect((host, port))
                    print("CONNECTED", host, port)
                except OSError:
                    print("refused", host, port)
        """,
    )
    assert result.ok, result.log_tail
    assert "CONNECTED" not in result.log_tail
    assert result.log_tail.count("refused") == 10


def test_program_cannot_read_secrets_from_env_or_a_dotenv_file(
    tmp_path: Path, monkeypatch
) -> None:
    secret = f"glew-secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("GLEW_SECRET_KEY", secret)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    dotenv = REPO / ".env"
    if dotenv.exists():  # pragma: no cover - never overwrite a real one
        pytest.skip("the repository has a real .env; not touching it")
    dotenv.write_text(f"GLEW_SECRET_KEY={secret}\n")
    try:
        result = _run(
            tmp_path / "job",
            f"""
            import os
            print("ENV", "{secret}" in repr(dict(os.environ)))
            for path in ["{dotenv}", "/glew/.env", "/glew/../.env", "/job/.env",
                         "/proc/1/environ", "/proc/self/environ"]:
                try:
                    text = open(path, errors="replace").read()
                    print("READ", path, "{secret}" in text)
                except OSError as exc:
                    print("DENIED", path, type(exc).__name__)
            """,
        )
    finally:
        dotenv.unlink()
    assert result.ok, result.log_tail
    assert "ENV False" in result.log_tail
    assert " True" not in result.log_tail
    assert f"DENIED {dotenv}" in result.log_tail


def test_program_cannot_see_other_jobs_or_the_storage(tmp_path: Path) -> None:
    jobs, storage = tmp_path / "jobs", tmp_path / "storage"
    other = jobs / "other-submission" / "model"
    other.mkdir(parents=True)
    (other / "model.safetensors").write_text("someone else's weights")
    (storage / "models").mkdir(parents=True)
    (storage / "models" / "other.zip").write_text("someone else's upload")
    result = _run(
        jobs / "mine",
        f"""
        import os
        for path in ["{other}", "{storage}", "{jobs}", "/job/../other-submission",
                     "{storage}/models/other.zip"]:
            print("SEEN" if os.path.exists(path) else "hidden", path)
        print("JOB", sorted(os.listdir("/job")))
        """,
    )
    assert result.ok, result.log_tail
    assert "SEEN" not in result.log_tail
    assert "JOB ['data', 'model', 'out', 'spec.json']" in result.log_tail


def test_fork_storm_is_ended_with_every_process_it_made(tmp_path: Path) -> None:
    """Hundreds of processes are all gone once the wall-clock limit kills the job.

    A real fork bomb is not run: the tests run as root, where the kernel ignores
    RLIMIT_NPROC, and a few seconds of one would starve the other processes on
    this shared machine. What bounds it here is the wall-clock kill of the whole
    sandbox (its PID namespace dies with it).
    """
    marker = f"glew-fork-{uuid.uuid4().hex}"
    limits = SandboxLimits(
        wall_seconds=4, cpu_seconds=60, memory_bytes=4 << 30, max_file_bytes=1 << 20
    )
    result = _run(
        tmp_path / "job",
        """
        import os, sys, time
        made = 0
        for _ in range(300):
            try:
                pid = os.fork()
            except OSError:
                break
            if pid == 0:
                time.sleep(1000)
                os._exit(0)
            made += 1
        print("FORKED", made, flush=True)
        time.sleep(1000)
        """,
        limits,
        marker,
    )
    assert result.timed_out
    assert result.reason_code == "sandbox.time_limit"
    assert "wall-clock limit" in result.reason
    assert "FORKED" in result.log_tail
    deadline = time.monotonic() + 10
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_with(marker) == []


def test_fork_bomb_hits_the_process_limit(tmp_path: Path) -> None:
    require_tool(
        "sandbox",
        os.geteuid() != 0 or cgroups.available(),
        "root ignores RLIMIT_NPROC and no pids cgroup can be made here",
        "run the tests as root on a machine with cgroup v2 (the pids controller)",
    )
    limits = SandboxLimits(
        wall_seconds=20,
        cpu_seconds=60,
        memory_bytes=4 << 30,
        max_file_bytes=1 << 20,
        max_processes=64,
    )
    result = _run(
        tmp_path / "job",
        """
        import os, time
        try:
            for _ in range(10_000):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
        except OSError as exc:
            print("STOPPED", exc.errno)
        """,
        limits,
    )
    assert "STOPPED" in result.log_tail


def test_filling_the_disk_is_stopped_at_the_scratch_quota(tmp_path: Path) -> None:
    limits = SandboxLimits(
        wall_seconds=60,
        cpu_seconds=60,
        memory_bytes=2 << 30,
        max_file_bytes=4 << 20,
        max_scratch_bytes=24 << 20,
    )
    job = tmp_path / "job"
    started = time.monotonic()
    result = _run(
        job,
        """
        import os, time
        chunk = os.urandom(1 << 20)
        i = 0
        while True:  # many files, each under the per-file limit
            with open(f"/job/out/fill-{i}.bin", "wb") as f:
                f.write(chunk * 2)
            i += 1
            time.sleep(0.02)
        """,
        limits,
    )
    assert time.monotonic() - started < 30
    assert result.reason_code == "sandbox.disk_quota", result.log_tail
    assert "disk quota of 24 MiB" in result.reason
    assert not result.ok
    written = sum(p.stat().st_size for p in (job / "out").glob("fill-*"))
    assert 24 << 20 < written < 200 << 20


def test_scratch_quota_counts_what_the_program_keeps_not_what_it_deletes(
    tmp_path: Path,
) -> None:
    limits = SandboxLimits(
        wall_seconds=60,
        cpu_seconds=60,
        memory_bytes=2 << 30,
        max_file_bytes=4 << 20,
        max_scratch_bytes=16 << 20,
    )
    result = _run(
        tmp_path / "job",
        """
        import os, time
        for i in range(20):  # 60 MiB written in all, never more than 3 MiB kept
            with open("/job/out/tmp.bin", "wb") as f:
                f.write(os.urandom(3 << 20))
            os.remove("/job/out/tmp.bin")
            time.sleep(0.05)
        print("done")
        """,
        limits,
    )
    assert result.ok, result.log_tail


def test_a_loopback_listener_on_the_host_stays_unreachable(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = _run(
            tmp_path / "job",
            f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
                print("CONNECTED")
            except OSError:
                print("refused")
            """,
        )
    assert result.ok and "refused" in result.log_tail


def test_job_cgroups_left_by_a_killed_worker_are_swept(monkeypatch) -> None:
    require_tool(
        "sandbox",
        cgroups.available(),
        "no pids cgroup can be made here",
        "run the tests as root on a machine with cgroup v2 (the pids controller)",
    )
    leftover = cgroups.JobCgroup.create(max_pids=8)
    assert leftover is not None and leftover.path.exists()
    monkeypatch.setattr(cgroups, "STALE_AFTER_S", -1)  # as if made long ago
    fresh = cgroups.JobCgroup.create(max_pids=8)
    try:
        assert not leftover.path.exists()
        assert fresh is not None and fresh.path.exists()
    finally:
        if fresh is not None:
            fresh.remove()
