"""Run a program on a job folder inside the sandbox: :func:`run_in_sandbox`.

The steps, each its own function: check the job folder, build the command (the
bwrap command line, or the same program directly on the host in the
development-only unsandboxed mode), start it under its limits and a process-count
cgroup, stream its output until it ends or its time is up, then say how it ended.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from runners.cgroups import JobCgroup
from runners.contract import JOB_ROOT, MODEL_DIR, OUT_DIR, SPEC_FILE
from runners.sandbox import bwrap
from runners.sandbox.environment import (
    HOME_DIR,
    base_env,
    numerics_env,
    repo_root,
    threads,
)
from runners.sandbox.limits import Child, SandboxLimits, kill_group, preexec
from runners.sandbox.logs import LogSink, pump
from runners.sandbox.outcome import SandboxResult, diagnose
from tasks.errors import PlatformError

# The package's name, as before it was split: log settings keep applying.
logger = logging.getLogger("runners.sandbox")


def run_in_sandbox(
    *,
    job_dir: Path,
    argv: list[str],
    limits: SandboxLimits,
    log_path: Path,
    on_line: Callable[[str], None] | None = None,
    unsandboxed: bool = False,
) -> SandboxResult:
    """Run ``argv`` on the job folder inside the sandbox and report how it ended.

    ``argv`` is written for the sandbox's view (``/job/...`` paths; the interpreter
    from :func:`sandbox_python`). stdout and stderr are merged, streamed line by
    line to ``log_path`` (appended, capped at 5 MiB) and to ``on_line``.

    With ``unsandboxed=True`` (development only) the same argv and environment run
    directly on the host: every argument equal to ``/job`` or starting with
    ``/job/`` is rewritten to the real ``job_dir``, ``GLEW_JOB_ROOT`` is set to it
    so that the program can map spec paths with :func:`job_path`, and a WARNING is
    written into the job log. rlimits and the wall-clock limit still apply; no
    isolation does.
    """
    job_dir = Path(job_dir).resolve()
    _prepare_job_dir(job_dir)
    if unsandboxed:
        command, env, cwd = _host_command(job_dir, argv)
    else:
        command, env, cwd = _sandbox_command(job_dir, argv, limits)
    sink = LogSink(Path(log_path), on_line)
    if unsandboxed:
        logger.warning("job %s: running unsandboxed (development only)", job_dir)
        sink.note(UNSANDBOXED_WARNING)
    start = time.monotonic()
    deadline = start + limits.wall_seconds
    proc: subprocess.Popen | None = None
    group = _process_cgroup(limits, sink)
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=preexec(limits, group),
        )
        child = Child(proc, scratch=job_dir / OUT_DIR, quota=limits.max_scratch_bytes)
        finished = pump(child, sink, deadline) and child.wait(deadline)
        _stop(proc, finished)
        duration = time.monotonic() - start
        if not finished:
            sink.note(f"[glew] killed: wall-clock limit of {limits.wall_seconds:g} s")
        returncode = proc.returncode if finished else None
        sig, code, reason = diagnose(
            returncode=returncode,
            timed_out=not finished,
            child=child,
            group=group,
            limits=limits,
            sink=sink,
            sandboxed=not unsandboxed,
        )
        return SandboxResult(
            returncode=returncode,
            duration_s=duration,
            timed_out=not finished,
            signal=sig,
            reason_code=code,
            reason=reason,
            log_tail=sink.tail_text(),
        )
    finally:
        if proc is not None and proc.returncode is None:
            kill_group(proc)
        if group is not None:
            group.remove()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        sink.close()


UNSANDBOXED_WARNING = (
    "[glew] WARNING: this job runs UNSANDBOXED (development only): the "
    "program can read and write everything this worker can, including the "
    "network, the database and secrets. Never use this mode in production."
)


def _prepare_job_dir(job_dir: Path) -> None:
    """Refuse a job folder the worker has not finished; make the program's HOME."""
    for need in (SPEC_FILE, MODEL_DIR, OUT_DIR):
        if not (job_dir / need).exists():
            raise PlatformError(
                "sandbox.bad_job",
                f"The job folder {job_dir} has no {need}; the worker must prepare it "
                "before starting the sandbox.",
            )
    (job_dir / OUT_DIR / HOME_DIR).mkdir(exist_ok=True)


def _sandbox_command(
    job_dir: Path, argv: list[str], limits: SandboxLimits
) -> tuple[list[str], dict[str, str], str | None]:
    """(command, environment, cwd) of a sandboxed run: bwrap sets the program's
    environment and folder itself, so bwrap gets an empty one. Fails closed
    (:class:`SandboxUnavailable`) when bubblewrap cannot run here."""
    return bwrap.bwrap_argv(bwrap.checked_bwrap(), job_dir, argv, limits), {}, None


def _host_command(
    job_dir: Path, argv: list[str]
) -> tuple[list[str], dict[str, str], str | None]:
    """(command, environment, cwd) of an unsandboxed run: ``/job`` paths in argv
    rewritten to the real job folder, the same environment as inside."""
    command = [
        str(job_dir) + a[len(JOB_ROOT) :]
        if a == JOB_ROOT or a.startswith(JOB_ROOT + "/")
        else a
        for a in argv
    ]
    env = base_env(
        home=str(job_dir / OUT_DIR / HOME_DIR),
        pythonpath=str(repo_root()),
        threads=threads(job_dir),
        job_root=str(job_dir),
        extra=numerics_env(job_dir, code_root=None),
    )
    return command, env, str(job_dir / OUT_DIR)


def _process_cgroup(limits: SandboxLimits, sink: LogSink) -> JobCgroup | None:
    """The process limit for the whole job (root ignores RLIMIT_NPROC), or None
    where no pids cgroup can be made (a note in the log says so, as root)."""
    group = (
        JobCgroup.create(max_pids=limits.max_processes)
        if limits.max_processes
        else None
    )
    if group is None and limits.max_processes and os.geteuid() == 0:
        sink.note(
            "[glew] note: no pids cgroup here; the process count is bounded only "
            "by the wall-clock limit"
        )
    return group


def _stop(proc: subprocess.Popen, finished: bool) -> None:
    """Kill the whole process group: a run out of time, or whatever a finished
    program left running behind it."""
    if not finished:
        kill_group(proc)
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
