"""The limits of a sandboxed run, and the watch kept on it while it runs.

Most limits are rlimits set on the bwrap child (:func:`preexec`), so they bind
everything started inside; the wall clock, the scratch-disk quota and telling a
CPU-limit kill from the out-of-memory killer need the parent to watch
(:class:`Child`).
"""

from __future__ import annotations

import collections
import logging
import os
import resource
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runners.cgroups import JobCgroup

# The package's name, as before it was split: log settings keep applying.
logger = logging.getLogger("runners.sandbox")

MIB = 1024 * 1024


@dataclass(frozen=True)
class SandboxLimits:
    """Hard limits for one sandboxed run.

    ``cpu_seconds``, ``memory_bytes`` (address space), ``max_file_bytes`` and
    ``max_open_files`` are per-process rlimits; ``wall_seconds`` is enforced by
    the parent, which kills the whole sandbox. ``tmp_bytes`` caps each of the
    private in-memory ``/tmp`` and ``/dev/shm``, which would otherwise be an
    unlimited way to use the host's RAM. ``max_scratch_bytes`` caps everything
    under ``/job/out`` together: the parent measures it every second and kills the
    sandbox past it (``sandbox.disk_quota``); ``max_file_bytes`` stops one file
    growing in between. ``max_processes`` is ``RLIMIT_NPROC`` (processes and
    threads): the kernel ignores it when the worker runs as root, so there only
    the wall-clock kill of the whole sandbox bounds a fork bomb.
    """

    wall_seconds: float
    cpu_seconds: int
    memory_bytes: int
    max_file_bytes: int
    max_open_files: int = 1024
    tmp_bytes: int = 512 * MIB
    max_scratch_bytes: int | None = None
    max_processes: int | None = 4096


def preexec(
    limits: SandboxLimits, group: JobCgroup | None = None
) -> Callable[[], None]:
    """rlimits for the bwrap child; everything it starts inherits them.

    The CPU hard limit sits a little above the soft one: the soft limit sends
    SIGXCPU (reported as ``sandbox.cpu_limit``), the hard one SIGKILLs a program
    that ignores it.
    """

    def apply() -> None:
        cpu = max(1, int(limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_file_bytes,) * 2)
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.max_open_files,) * 2)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if limits.max_processes:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.max_processes,) * 2)
        if group is not None:
            group.join()

    return apply


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def max_tree_cpu(root: int) -> float:
    """The most CPU seconds any one process under ``root`` has used so far.

    RLIMIT_CPU is per process, and the kernel's SIGKILL at the hard limit looks
    exactly like the out-of-memory killer's; sampling the tree's CPU times tells
    them apart. (``wait4``'s rusage cannot: bwrap does not pass on its
    grandchildren's times.) Reads /proc directly; a few ms per call.
    """
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        cpu[pid] = (int(fields[11]) + int(fields[12])) / _CLK_TCK
    best, stack, seen = 0.0, [root], set()
    children: dict[int, list[int]] = collections.defaultdict(list)
    for pid, ppid in parents.items():
        children[ppid].append(pid)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        best = max(best, cpu.get(pid, 0.0))
        stack.extend(children.get(pid, ()))
    return best


def tree_bytes(root: Path, stop_at: int) -> int:
    """Disk used under ``root`` (hard links once, each entry at least one block),
    counting no further than just past ``stop_at``."""
    total, seen, stack = 0, set(), [str(root)]
    while stack and total <= stop_at:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            total += max(st.st_blocks * 512, _BLOCK)
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
    return total


_BLOCK = 4096


class Child:
    """The running bwrap (or program), and the most CPU time one of its processes
    was seen to use (sampled while it runs, see :func:`max_tree_cpu`). With a
    scratch quota it also measures the job's ``out`` folder every second and kills
    the sandbox past the quota (``over_quota``)."""

    SAMPLE_EVERY = 0.5
    QUOTA_EVERY = 1.0

    def __init__(
        self,
        proc: subprocess.Popen,
        scratch: Path | None = None,
        quota: int | None = None,
    ) -> None:
        self.proc = proc
        self.cpu_used = 0.0
        self._sampled_at = 0.0
        self.scratch = scratch
        self.quota = quota
        self.over_quota = False
        self._measured_at = 0.0

    def reap(self) -> bool:
        """True once the program has ended; samples CPU time (and disk) meanwhile."""
        if self.proc.poll() is not None:
            return True
        now = time.monotonic()
        if now - self._sampled_at >= self.SAMPLE_EVERY:
            self._sampled_at = now
            self.cpu_used = max(self.cpu_used, max_tree_cpu(self.proc.pid))
        if (
            self.quota is not None
            and self.scratch is not None
            and now - self._measured_at >= self.QUOTA_EVERY
        ):
            self._measured_at = now
            if tree_bytes(self.scratch, self.quota) > self.quota:
                self.over_quota = True
                kill_group(self.proc)
                return True
        return False

    def wait(self, deadline: float) -> bool:
        """Wait for the program to end by the deadline; False when it did not."""
        while not self.reap():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
        logger.error("sandbox process %s did not die after SIGKILL", proc.pid)
