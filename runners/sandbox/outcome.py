"""How a sandboxed run ended, in words: a stable reason code and a message.

The exit status alone is ambiguous (a SIGKILL is the CPU hard limit, the
out-of-memory killer or the wall clock; bwrap reports a child's signal as
128 + N), so the run's own error line, the CPU time seen while it ran, the tail
of its log and the job's cgroup are read together.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from runners.cgroups import JobCgroup
from runners.contract import parse_error
from runners.sandbox.limits import MIB, Child, SandboxLimits
from runners.sandbox.logs import LogSink


@dataclass
class SandboxResult:
    """What happened to a sandboxed run, in terms the worker can store and show.

    ``reason_code``/``reason`` are set whenever the run did not end with exit 0
    (and ``timed_out`` runs always have one), so the caller never has to guess
    from the exit status.
    """

    returncode: int | None
    duration_s: float
    timed_out: bool
    signal: int | None
    reason_code: str | None
    reason: str | None
    log_tail: str

    @property
    def ok(self) -> bool:
        """True when the program exited 0 within its limits."""
        return self.returncode == 0 and not self.timed_out


_OOM_MARKERS = ("MemoryError", "std::bad_alloc", "can't allocate memory")


def _explain(
    *,
    returncode: int | None,
    timed_out: bool,
    cpu_used: float,
    limits: SandboxLimits,
    sink: LogSink,
    sandboxed: bool,
) -> tuple[int | None, str | None, str | None]:
    """Turn how the run ended into (signal, reason_code, reason)."""
    if timed_out:
        return (
            signal.SIGKILL,
            "sandbox.time_limit",
            f"exceeded the wall-clock limit of {limits.wall_seconds:g} s",
        )
    assert returncode is not None
    sig: int | None = None
    if returncode < 0:
        sig = -returncode
    elif sandboxed and returncode > 128 and returncode - 128 < signal.NSIG:
        # bwrap reports a child killed by signal N as exit status 128 + N.
        sig = returncode - 128
    if returncode == 0:
        return None, None, None
    mem_mib = limits.memory_bytes // MIB
    if sig is not None:
        if sig == signal.SIGXCPU or (
            sig == signal.SIGKILL and cpu_used >= limits.cpu_seconds
        ):
            return (
                sig,
                "sandbox.cpu_limit",
                f"exceeded the CPU time limit of {limits.cpu_seconds} s",
            )
        if sig == signal.SIGKILL:
            return (
                sig,
                "sandbox.out_of_memory",
                "was killed by the kernel, most likely for running out of memory",
            )
        if sig == signal.SIGXFSZ:
            return sig, "sandbox.file_too_large", _file_reason(limits)
    own = parse_error(sink.last_error)
    if own is not None:
        return sig, own[0], own[1]
    recent = list(sink.tail)[-30:]
    if any(marker in line for line in recent for marker in _OOM_MARKERS):
        return sig, "sandbox.out_of_memory", f"ran out of memory (limit {mem_mib} MiB)"
    if any("File too large" in line for line in recent):
        return sig, "sandbox.file_too_large", _file_reason(limits)
    if sig is not None:
        name = signal.Signals(sig).name if sig in signal.valid_signals() else str(sig)
        return sig, "sandbox.killed", f"was killed by signal {name}"
    return None, "sandbox.failed", f"exited with status {returncode}"


def _file_reason(limits: SandboxLimits) -> str:
    return (
        "tried to write a file larger than the limit of "
        f"{limits.max_file_bytes // MIB} MiB"
    )


def diagnose(
    *,
    returncode: int | None,
    timed_out: bool,
    child: Child,
    group: JobCgroup | None,
    limits: SandboxLimits,
    sink: LogSink,
    sandboxed: bool,
) -> tuple[int | None, str | None, str | None]:
    """(signal, reason_code, reason) of a finished run, with what the watch saw.

    :func:`_explain` reads the exit status and the log; then a run killed over
    its scratch quota, one that hit its process limit, and a bwrap that could not
    set up the sandbox are named as such, with a note in the log.
    """
    sig, code, reason = _explain(
        returncode=returncode,
        timed_out=timed_out,
        cpu_used=child.cpu_used,
        limits=limits,
        sink=sink,
        sandboxed=sandboxed,
    )
    if child.over_quota and not timed_out:
        quota_mib = (limits.max_scratch_bytes or 0) // MIB
        sink.note(f"[glew] killed: wrote more than {quota_mib} MiB under /job/out")
        sig, code, reason = (
            signal.SIGKILL,
            "sandbox.disk_quota",
            f"wrote more than its disk quota of {quota_mib} MiB in its scratch folder",
        )
    if group is not None and group.hit_limit():
        sink.note(
            f"[glew] the job reached its limit of {limits.max_processes} processes"
        )
        if code in ("sandbox.failed", "sandbox.killed", None) and returncode != 0:
            code = "sandbox.process_limit"
            reason = f"tried to run more than {limits.max_processes} processes at once"
    if code == "sandbox.failed" and sandboxed and returncode == 1:
        setup = [line for line in sink.tail if line.startswith("bwrap: ")]
        if setup:
            code, reason = "sandbox.setup_failed", setup[-1]
    return sig, code, reason
