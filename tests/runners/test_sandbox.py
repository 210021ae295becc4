"""The bubblewrap sandbox, exercised with small hostile programs.

These tests run the real bwrap (no mocks): the point is to prove what a program
inside can and cannot reach. They skip where bwrap cannot build a sandbox, except
the tests of that very refusal.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import textwrap
import time
from pathlib import Path

import pytest

from runners import sandbox
from runners.contract import (
    ERROR_PREFIX,
    SPEC_FILE,
    LaunchSettings,
    parse_progress,
)
from runners.sandbox import (
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    check_sandbox_available,
    run_in_sandbox,
    sandbox_python,
)
from tasks.errors import PlatformError
from tests.conftest import require_tool

REPO = Path(sandbox.__file__).resolve().parents[2]
LIMITS = SandboxLimits(
    wall_seconds=30, cpu_seconds=30, memory_bytes=2 << 30, max_file_bytes=10 << 20
)

FIX = "scripts/system-packages run (installs bubblewrap)"


@pytest.fixture
def needs_bwrap() -> None:
    try:
        check_sandbox_available()
    except SandboxUnavailable as exc:
        require_tool("sandbox", False, f"bubblewrap cannot run here: {exc}", FIX)


def _job(tmp_path: Path, program: str) -> Path:
    job = tmp_path / "job"
    (job / "model").mkdir(parents=True)
    (job / "data").mkdir()
    (job / "out").mkdir()
    LaunchSettings(threads=1).write(job / SPEC_FILE)
    (job / "data" / "train.jsonl").write_text('{"idx": 0, "sentence": "hi"}\n')
    (job / "model" / "prog.py").write_text(textwrap.dedent(program))
    return job


def _run(
    tmp_path: Path,
    program: str,
    limits: SandboxLimits = LIMITS,
    **kwargs,
) -> tuple[SandboxResult, Path]:
    job = _job(tmp_path, program)
    result = run_in_sandbox(
        job_dir=job,
        argv=[sandbox_python(), "/job/model/prog.py"],
        limits=limits,
        log_path=tmp_path / "job.log",
        **kwargs,
    )
    return result, job


pytestmark = pytest.mark.timeout(120)


def test_program_runs_and_writes_its_output(tmp_path: Path, needs_bwrap) -> None:
    result, job = _run(
        tmp_path,
        """
        import os, sys
        import runners.sandbox
        with open("/job/out/predictions.jsonl", "w") as f:
            f.write(open("/job/data/train.jsonl").read())
        print("cwd", os.getcwd(), "home", os.environ["HOME"])
        print("threads", os.environ["OMP_NUM_THREADS"])
        """,
    )
    assert result.ok, result.log_tail
    assert result.reason_code is None
    assert (job / "out" / "predictions.jsonl").read_text().startswith('{"idx": 0')
    assert "cwd /job/out home /job/out/home" in result.log_tail
    assert "threads 1" in result.log_tail
    assert "cwd /job/out" in (tmp_path / "job.log").read_text()


def test_program_cannot_write_outside_out_and_tmp(tmp_path: Path, needs_bwrap) -> None:
    result, job = _run(
        tmp_path,
        f"""
        import json
        verdict = {{}}
        for path in ["/job/model/x", "/job/data/x", "/job/spec.json", "/glew/x",
                     "/glew/runners/x", "/x", "/usr/x", "{REPO}/x",
                     "/tmp/x", "/dev/shm/x", "/job/out/x"]:
            try:
                with open(path, "a") as f:
                    f.write("x")
                verdict[path] = True
            except OSError:
                verdict[path] = False
        print("VERDICT", json.dumps(verdict))
        """,
    )
    assert result.ok, result.log_tail
    line = next(x for x in result.log_tail.splitlines() if x.startswith("VERDICT"))
    verdict = json.loads(line.split(" ", 1)[1])
    writable = {path for path, ok in verdict.items() if ok}
    if str(REPO).startswith("/tmp/"):
        # A checkout under /tmp: inside, that path is on the sandbox's own private
        # /tmp, not the checkout; the real file is checked below.
        writable.discard(f"{REPO}/x")
    assert writable == {"/tmp/x", "/dev/shm/x", "/job/out/x"}
    assert not (REPO / "x").exists(), "the sandbox wrote into the checkout"
    assert sorted(p.name for p in (job / "model").iterdir()) == ["prog.py"]


def test_program_cannot_reach_databases_or_the_network(
    tmp_path: Path, needs_bwrap
) -> None:
    # A listener on the host's loopback, so the refusal is not just "nothing there".
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result, _ = _run(
            tmp_path,
            f"""
            import socket
            for host, port in [("127.0.0.1", 5432), ("127.0.0.1", 6379),
                               ("127.0.0.1", {port}), ("10.0.0.1", 80),
                               ("1.1.1.1", 443)]:
                try:
                    socket.create_connection((host, port), timeout=2).close()
                    print("CONNECTED", host, port)
                except OSError as exc:
                    print("refused", host, port, type(exc).__name__)
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect("/var/run/postgresql/.s.PGSQL.5432")
                print("CONNECTED unix")
            except OSError:
                print("refused unix")
            """,
        )
    assert result.ok, result.log_tail
    assert "CONNECTED" not in result.log_tail
    assert result.log_tail.count("refused") == 6


def test_program_cannot_see_host_secrets_or_the_web_app(
    tmp_path: Path, needs_bwrap, monkeypatch
) -> None:
    monkeypatch.setenv("GLEW_FAKE_SECRET", "hunter2")
    monkeypatch.setenv("DATABASE_URL", "postgres://glew:hunter2@localhost/glew")
    paths = [
        "/root/.ssh",
        "/root/.bashrc",
        "/var/run/postgresql",
        "/run/postgresql",
        "/etc/passwd",
        "/etc/shadow",
        "/home",
        "/glew/leaderboard",
        str(REPO / "leaderboard"),
        str(REPO / ".env"),
        str(REPO / "media"),
        str(REPO.parent / "shared"),
    ]
    result, _ = _run(
        tmp_path,
        f"""
        import json, os
        print("ENV", json.dumps(dict(os.environ)))
        print("SEEN", json.dumps([p for p in {paths!r} if os.path.exists(p)]))
        print("ROOT", json.dumps(sorted(os.listdir("/root"))))
        print("GLEW", json.dumps(sorted(os.listdir("/glew"))))
        try:
            import leaderboard
            print("IMPORTED leaderboard")
        except ImportError:
            pass
        """,
    )
    assert result.ok, result.log_tail
    lines = {
        line.split(" ", 1)[0]: json.loads(line.split(" ", 1)[1])
        for line in result.log_tail.splitlines()
        if line.split(" ", 1)[0] in {"ENV", "SEEN", "ROOT", "GLEW"}
    }
    assert "hunter2" not in json.dumps(lines["ENV"])
    assert "GLEW_FAKE_SECRET" not in lines["ENV"]
    assert lines["ENV"]["PYTHONPATH"] == "/glew"
    assert lines["SEEN"] == []
    # The interpreter may live under /root (pyenv); only its own folder shows.
    assert set(lines["ROOT"]) <= {".pyenv"}
    assert lines["GLEW"] == ["kernels", "runners", "tasks"]
    assert "IMPORTED" not in result.log_tail


def test_endless_loop_is_stopped_by_the_wall_clock_limit(
    tmp_path: Path, needs_bwrap
) -> None:
    limits = SandboxLimits(
        wall_seconds=1.5, cpu_seconds=60, memory_bytes=1 << 30, max_file_bytes=1 << 20
    )
    result, _ = _run(
        tmp_path,
        """
        import subprocess, time
        subprocess.Popen(["sleep", "600"], start_new_session=True)
        print("started", flush=True)
        while True:
            time.sleep(0.01)
        """,
        limits,
    )
    assert result.timed_out
    assert result.returncode is None
    assert result.reason_code == "sandbox.time_limit"
    assert result.reason == "exceeded the wall-clock limit of 1.5 s"
    assert result.duration_s < 5
    assert "started" in result.log_tail


def test_busy_loop_is_stopped_by_the_cpu_limit(tmp_path: Path, needs_bwrap) -> None:
    limits = SandboxLimits(
        wall_seconds=30, cpu_seconds=1, memory_bytes=1 << 30, max_file_bytes=1 << 20
    )
    result, _ = _run(tmp_path, "while True:\n    pass\n", limits)
    assert not result.timed_out
    assert result.reason_code == "sandbox.cpu_limit"
    assert result.signal is not None


def test_memory_bomb_ends_out_of_memory(tmp_path: Path, needs_bwrap) -> None:
    limits = SandboxLimits(
        wall_seconds=30, cpu_seconds=30, memory_bytes=512 << 20, max_file_bytes=1 << 20
    )
    result, _ = _run(
        tmp_path,
        """
        hoard = []
        while True:
            hoard.append(bytearray(32 << 20))
        """,
        limits,
    )
    assert not result.ok
    assert result.reason_code == "sandbox.out_of_memory"
    assert "512 MiB" in result.reason


def test_file_size_bomb_fails(tmp_path: Path, needs_bwrap) -> None:
    limits = SandboxLimits(
        wall_seconds=30, cpu_seconds=30, memory_bytes=1 << 30, max_file_bytes=1 << 20
    )
    result, job = _run(
        tmp_path,
        """
        with open("/job/out/big", "wb") as f:
            for _ in range(100):
                f.write(b"x" * (1 << 20))
        """,
        limits,
    )
    assert not result.ok
    assert result.reason_code == "sandbox.file_too_large"
    assert (job / "out" / "big").stat().st_size <= 1 << 20


def test_glew_error_line_becomes_the_reason(tmp_path: Path, needs_bwrap) -> None:
    result, _ = _run(
        tmp_path,
        """
        import sys
        from runners.contract import format_error
        print(format_error("early.guess", "not this one"))
        print(format_error("model.bad_config", "config.json has no num_labels"),
              file=sys.stderr)
        sys.exit(3)
        """,
    )
    assert result.returncode == 3
    assert result.reason_code == "model.bad_config"
    assert result.reason == "config.json has no num_labels"


def test_malformed_glew_error_line_falls_back_to_the_exit_status(
    tmp_path: Path, needs_bwrap
) -> None:
    program = f"import sys\nprint({ERROR_PREFIX + '{oops'!r})\nsys.exit(2)\n"
    result, _ = _run(tmp_path, program)
    assert result.reason_code == "sandbox.failed"
    assert result.reason == "exited with status 2"


def test_on_line_receives_every_line(tmp_path: Path, needs_bwrap) -> None:
    seen: list[str] = []
    result, _ = _run(
        tmp_path,
        """
        from runners.contract import format_progress
        for step in range(3):
            print(format_progress(stage="train", step=step))
        print("no newline at the end", end="")
        """,
        on_line=seen.append,
    )
    assert result.ok, result.log_tail
    progress = [p for p in map(parse_progress, seen) if p is not None]
    assert [p["step"] for p in progress] == [0, 1, 2]
    assert seen[-1] == "no newline at the end"


def test_log_is_capped_and_says_how_much_was_dropped(
    tmp_path: Path, needs_bwrap, monkeypatch
) -> None:
    monkeypatch.setattr(sandbox.logs, "LOG_CAP_BYTES", 10_000)
    seen: list[str] = []
    result, _ = _run(
        tmp_path,
        "for i in range(1000):\n    print(f'{i:05d}' + 'y' * 94)\n",
        on_line=seen.append,
    )
    assert result.ok, result.log_tail
    log = (tmp_path / "job.log").read_text()
    kept = log.splitlines()[:-1]
    assert len(kept) == 100  # 100 lines of 100 bytes fill 10 000 bytes
    assert log.splitlines()[-1] == f"[log truncated: {900 * 100} more bytes]"
    assert len(seen) == 1000
    assert result.log_tail.splitlines()[-1].startswith("00999")
    assert len(result.log_tail.splitlines()) <= sandbox.TAIL_LINES
    assert len(result.log_tail) <= sandbox.TAIL_CHARS


def test_endless_line_is_cut_into_pieces(tmp_path: Path, needs_bwrap) -> None:
    seen: list[str] = []
    result, _ = _run(
        tmp_path,
        "import sys\nsys.stdout.write('z' * 300_000)\n",
        on_line=seen.append,
    )
    assert result.ok
    assert "".join(seen) == "z" * 300_000
    assert max(map(len, seen)) <= sandbox.MAX_LINE_BYTES


def test_missing_bwrap_fails_closed_with_a_plain_message(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.setattr(sandbox.bwrap, "_bwrap_ok", None)
    with pytest.raises(SandboxUnavailable) as excinfo:
        check_sandbox_available()
    assert isinstance(excinfo.value, PlatformError)
    assert excinfo.value.code == "sandbox.unavailable"
    assert "bubblewrap" in excinfo.value.message
    assert "apt-get install -y bubblewrap" in excinfo.value.message

    job = _job(tmp_path, "open('/job/out/ran', 'w')\n")
    with pytest.raises(SandboxUnavailable):
        run_in_sandbox(
            job_dir=job,
            argv=[sandbox_python(), "/job/model/prog.py"],
            limits=LIMITS,
            log_path=tmp_path / "job.log",
        )
    assert not (job / "out" / "ran").exists()


def test_bwrap_that_cannot_create_namespaces_is_reported(
    tmp_path: Path, monkeypatch
) -> None:
    fake = tmp_path / "bin" / "bwrap"
    fake.parent.mkdir()
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\n"
        "exit 1\n"
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(fake.parent))
    monkeypatch.setattr(sandbox.bwrap, "_bwrap_ok", None)
    with pytest.raises(SandboxUnavailable, match="cannot create") as excinfo:
        check_sandbox_available()
    assert "No permissions to creating new namespace" in excinfo.value.message


def test_unsandboxed_mode_maps_job_paths_and_warns_loudly(tmp_path: Path) -> None:
    result, job = _run(
        tmp_path,
        """
        import os, sys
        from runners.sandbox import job_path
        print("ARGV", sys.argv[0])
        job_path("/job/out/done").write_text("yes")
        """,
        unsandboxed=True,
    )
    assert result.ok, result.log_tail
    assert (job / "out" / "done").read_text() == "yes"
    assert f"ARGV {job}/model/prog.py" in result.log_tail
    log = (tmp_path / "job.log").read_text()
    assert log.startswith("[glew] WARNING: this job runs UNSANDBOXED")


def test_job_folder_without_model_is_refused(tmp_path: Path) -> None:
    job = _job(tmp_path, "pass\n")
    os.remove(job / "model" / "prog.py")
    os.rmdir(job / "model")
    with pytest.raises(PlatformError) as excinfo:
        run_in_sandbox(
            job_dir=job,
            argv=[sandbox_python(), "-c", "pass"],
            limits=LIMITS,
            log_path=tmp_path / "job.log",
            unsandboxed=True,
        )
    assert excinfo.value.code == "sandbox.bad_job"


def test_program_ignoring_sigxcpu_is_killed_at_the_hard_cpu_limit(
    tmp_path: Path, needs_bwrap
) -> None:
    limits = SandboxLimits(
        wall_seconds=30, cpu_seconds=1, memory_bytes=1 << 30, max_file_bytes=1 << 20
    )
    result, _ = _run(
        tmp_path,
        """
        import signal
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        while True:
            pass
        """,
        limits,
    )
    assert not result.timed_out
    assert result.signal == 9
    assert result.reason_code == "sandbox.cpu_limit"


def test_timeout_in_unsandboxed_mode_kills_the_process_group(tmp_path: Path) -> None:
    limits = SandboxLimits(
        wall_seconds=1, cpu_seconds=60, memory_bytes=1 << 30, max_file_bytes=1 << 20
    )
    result, job = _run(
        tmp_path,
        """
        import subprocess, time
        from runners.sandbox import job_path
        child = subprocess.Popen(["sleep", "600"])
        job_path("/job/out/child").write_text(str(child.pid))
        time.sleep(600)
        """,
        limits,
        unsandboxed=True,
    )
    assert result.timed_out
    pid = int((job / "out" / "child").read_text())
    for _ in range(50):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the program's child outlived the timeout")
