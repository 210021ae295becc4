"""Run a prepared job in the sandbox, streaming its progress and log tail to the row."""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection

from leaderboard.submissions import lifecycle
from leaderboard.submissions.models import Evaluation
from runners.contract import SPEC_FILE, inside_job, parse_progress
from runners.sandbox import (
    SandboxLimits,
    check_sandbox_available,
    execute_argv,
    run_in_sandbox,
)

log = logging.getLogger("glew.worker")

PROGRESS_INTERVAL_S = 2.0


def job_run(
    *, evaluation: Evaluation, job_dir: Path, tail: deque[str]
) -> tuple[str, str] | None:
    """Run the in-sandbox program; return ``(code, reason)`` on failure, else None."""
    if not settings.GLEW_ALLOW_UNSANDBOXED:
        check_sandbox_available()
    last_report = [0.0]
    progress: dict = {}

    def on_line(line: str) -> None:
        tail.append(line[:2000])
        fields = parse_progress(line)
        if fields is not None:
            progress.update(fields)
        now = time.monotonic()
        if now - last_report[0] >= PROGRESS_INTERVAL_S:
            last_report[0] = now
            try:
                lifecycle.evaluation_report_progress(
                    evaluation_id=evaluation.pk,
                    progress=dict(progress),
                    log_tail="\n".join(tail),
                )
            except (OperationalError, InterfaceError):
                # Progress is best effort: a database blip must not kill the run.
                log.warning("evaluation %s: progress not saved", evaluation.pk)
                connection.close()

    limit = settings.GLEW_TIME_LIMITS.get(evaluation.recipe_name, 3600)
    limits = SandboxLimits(
        wall_seconds=limit,
        cpu_seconds=limit * max(1, settings.GLEW_SANDBOX_THREADS),
        memory_bytes=settings.GLEW_SANDBOX_MEMORY_BYTES,
        max_file_bytes=settings.GLEW_SANDBOX_MAX_FILE_BYTES,
        max_scratch_bytes=settings.GLEW_SANDBOX_SCRATCH_BYTES,
    )
    log_path = job_dir.parent / f"{job_dir.name}.log"
    result = run_in_sandbox(
        job_dir=job_dir,
        # One process per device of this worker (torchrun past one).
        argv=execute_argv(inside_job(SPEC_FILE), settings.GLEW_JOB_PROCESSES),
        limits=limits,
        log_path=log_path,
        on_line=on_line,
        unsandboxed=settings.GLEW_ALLOW_UNSANDBOXED,
    )
    lifecycle.evaluation_report_progress(
        evaluation_id=evaluation.pk, progress=dict(progress), log_tail="\n".join(tail)
    )
    _store_log(evaluation=evaluation, log_path=log_path)
    if result.returncode == 0 and not result.timed_out:
        return None
    reason = result.reason or f"the program exited with status {result.returncode}"
    return result.reason_code or "sandbox.failed", reason


def _store_log(*, evaluation: Evaluation, log_path: Path) -> None:
    if not log_path.exists():
        return
    name = f"logs/eval-{evaluation.pk}-attempt-{evaluation.attempts}.log"
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(log_path.read_bytes()))
    log_path.unlink(missing_ok=True)
