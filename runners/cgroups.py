"""A process-count cgroup per sandboxed job: a fork bomb meets a wall, even as root.

``RLIMIT_NPROC`` counts per real user and the kernel ignores it for root, which is
what a worker in a container usually is. A cgroup's ``pids.max`` counts the
processes of the job itself, whoever runs it. cgroup v1 (``/sys/fs/cgroup/pids``)
and v2 (a unified hierarchy with the ``pids`` controller) are both handled; where
neither is writable the job runs without it and the wall-clock limit remains the
bound (``available()`` says which).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

V1_ROOT = Path("/sys/fs/cgroup/pids")
V2_ROOTS = (Path("/sys/fs/cgroup"), Path("/sys/fs/cgroup/unified"))
PARENT = "glew-sandbox"


def _v2_root() -> Path | None:
    for root in V2_ROOTS:
        controllers = root / "cgroup.controllers"
        if controllers.exists() and "pids" in controllers.read_text().split():
            return root
    return None


def _base() -> Path | None:
    """Where job cgroups go, made on first use; None when we may not make them."""
    candidates = []
    if (V1_ROOT / "cgroup.procs").exists():
        candidates.append(V1_ROOT / PARENT)
    v2 = _v2_root()
    if v2 is not None:
        candidates.append(v2 / PARENT)
    for base in candidates:
        try:
            base.mkdir(exist_ok=True)
            if base.parent != V1_ROOT:
                # v2: children of PARENT may only use controllers it delegates.
                with contextlib.suppress(OSError):
                    (base / "cgroup.subtree_control").write_text("+pids")
            return base
        except OSError:
            continue
    return None


def available() -> bool:
    """Whether job process limits can be enforced on this machine."""
    base = _base()
    if base is None:
        return False
    probe = JobCgroup.create(max_pids=8)
    if probe is None:
        return False
    probe.remove()
    return True


class JobCgroup:
    """One job's cgroup: made before the job starts, removed after it ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.procs = str(path / "cgroup.procs")

    @classmethod
    def create(cls, *, max_pids: int) -> JobCgroup | None:
        base = _base()
        if base is None:
            return None
        _sweep(base)
        path = base / f"job-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_pids))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return None
        return cls(path)

    def join(self) -> None:
        """Move the calling process in (called in the child before exec)."""
        fd = os.open(self.procs, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)

    def hit_limit(self) -> bool:
        """Whether a fork was refused because the job reached its process limit."""
        with contextlib.suppress(OSError):
            for line in (self.path / "pids.events").read_text().splitlines():
                name, _, count = line.partition(" ")
                if name == "max" and int(count or 0) > 0:
                    return True
        return False

    def remove(self) -> None:
        """Kill whatever of the job is left and remove the cgroup."""
        for _ in range(50):
            try:
                pids = [int(p) for p in Path(self.procs).read_text().split()]
            except OSError:
                return
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            self.path.rmdir()


STALE_AFTER_S = 300


def _sweep(base: Path) -> None:
    """Remove job cgroups left empty by workers that were killed before cleaning up.

    Only empty ones older than ``STALE_AFTER_S``: a cgroup made a moment ago may be
    about to receive its job.
    """
    now = time.time()
    for path in base.glob("job-*"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime < STALE_AFTER_S:
                continue
            if (path / "cgroup.procs").read_text().strip():
                continue
            path.rmdir()
