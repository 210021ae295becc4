"""Run the in-sandbox program inside bubblewrap, with hard limits.

Glew runs strangers' models, so the program that loads them runs in a bubblewrap
sandbox that sees only what the job needs: the job spec, the model and the data
read-only, one writable output folder, the Python interpreter and the project's
plain-Python code (``runners``, ``tasks``, ``kernels``) read-only. It has no
network (a private loopback with nothing listening), no view of the host's
environment, ``/etc``, home folders, database sockets, the web app or its
secrets. Resource limits (CPU seconds, address space, file size, open files, no
core dumps) are rlimits set on the bwrap child, so they bind everything inside.

The sandbox fails closed: :func:`check_sandbox_available` raises
:class:`SandboxUnavailable` when bubblewrap is missing or cannot create its
namespaces. ``unsandboxed=True`` exists for development machines only and logs a
loud warning into every job log that uses it.

Layout inside the sandbox::

    /job/spec.json   read-only          /glew/runners   read-only (PYTHONPATH=/glew)
    /job/model/      read-only          /glew/tasks     read-only
    /job/data/       read-only          /glew/kernels   read-only
    /job/out/        read-write, cwd, HOME=/job/out/home
    /tmp, /dev/shm   private size-capped tmpfs
    /usr (+ /lib, /lib64, /bin symlinks), sys.prefix and sys.base_prefix read-only

This module is plain Python (no Django): the worker calls it, and the tests run
it without a database.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import re
import resource
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kernels import numerics
from runners.cgroups import JobCgroup
from tasks.errors import PlatformError

logger = logging.getLogger(__name__)

JOB_ROOT = "/job"
"""Where the job folder appears inside the sandbox; spec paths are written for it."""

CODE_ROOT = "/glew"
"""Where the project's plain-Python packages appear inside the sandbox."""

CODE_PACKAGES: tuple[str, ...] = ("runners", "tasks", "kernels")
"""The only project folders the sandbox may see; never ``leaderboard`` (settings)."""

JOB_ROOT_ENV = "GLEW_JOB_ROOT"
"""Tells the in-sandbox program where ``/job`` really is (see :func:`job_path`)."""

LOG_CAP_BYTES = 5 * 1024 * 1024
TAIL_LINES = 200
TAIL_CHARS = 20_000
MAX_LINE_BYTES = 64 * 1024
"""A longer "line" is cut into pieces, so one endless line cannot exhaust memory."""

ERROR_PREFIX = "GLEW_ERROR "
_CODE_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
_MIB = 1024 * 1024

_bwrap_ok: str | None = None
"""The bwrap path that passed :func:`check_sandbox_available` (a positive cache)."""


class SandboxUnavailable(PlatformError):
    """Bubblewrap is missing or cannot create namespaces on this machine."""

    def __init__(self, message: str) -> None:
        super().__init__("sandbox.unavailable", message)


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
    tmp_bytes: int = 512 * _MIB
    max_scratch_bytes: int | None = None
    max_processes: int | None = 4096


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


# --------------------------------------------------------------------------- paths


def job_path(path: str | os.PathLike[str]) -> Path:
    """Map a ``/job/...`` path from the spec to where the job folder really is.

    Inside the sandbox this is the identity. In development-only unsandboxed mode
    the job folder stays where the worker made it, and ``GLEW_JOB_ROOT`` says
    where; the in-sandbox program should pass every spec path through here.
    """
    text = os.fspath(path)
    root = os.environ.get(JOB_ROOT_ENV, JOB_ROOT)
    if root != JOB_ROOT and (text == JOB_ROOT or text.startswith(JOB_ROOT + "/")):
        return Path(root + text[len(JOB_ROOT) :])
    return Path(text)


def sandbox_python() -> str:
    """The interpreter path to put first in ``argv``: this worker's own Python.

    The sandbox binds ``sys.prefix`` and ``sys.base_prefix`` at their host paths,
    so the same path works inside.
    """
    return sys.executable


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def _interpreter_paths() -> list[Path]:
    """Folders the interpreter needs, as given and with symlinks resolved.

    Paths under ``/usr`` are already bound; nested paths are dropped because their
    parent's bind already shows them.
    """
    candidates: set[Path] = set()
    for raw in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
        candidates.add(Path(os.path.abspath(raw)))
        candidates.add(Path(raw).resolve())
    exe_dir = Path(sys.executable).resolve().parent
    if not any(exe_dir.is_relative_to(c) for c in candidates):
        candidates.add(exe_dir)
    kept = [
        c
        for c in candidates
        if c.exists() and c != Path("/") and not c.is_relative_to("/usr")
    ]
    return sorted(
        c for c in kept if not any(o != c and c.is_relative_to(o) for o in kept)
    )


def _spec_value(job_dir: Path, key: str) -> object:
    """One top-level value of the job's spec (None when missing or unreadable)."""
    try:
        return json.loads((job_dir / "spec.json").read_text()).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def _threads(job_dir: Path) -> int:
    """The spec's ``threads``, or every core when the spec does not say."""
    value = _spec_value(job_dir, "threads")
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return os.cpu_count() or 1


def _numerics_env(job_dir: Path, *, code_root: str | None) -> dict[str, str]:
    """The variables that pin the spec's numerics profile (kernels.numerics).

    They must be set before Python starts, so the launcher sets them. The shim
    library is named as the program sees it: under ``code_root`` inside the
    sandbox (None: at its host path, unsandboxed).
    """
    profile = _spec_value(job_dir, "numerics")
    if not isinstance(profile, str):
        return {}
    shim = numerics.shim_path()
    shown = str(shim) if shim else None
    repo = _repo_root()
    if shim is not None and code_root is not None:
        if shim.is_relative_to(repo):
            shown = f"{code_root}/{shim.relative_to(repo)}"
        elif not any(shim.is_relative_to(p) for p in _interpreter_paths()):
            shown = None  # not visible inside the sandbox
    try:
        return numerics.environment(profile, shim=shown)
    except numerics.NumericsError as exc:
        raise PlatformError(exc.code, exc.message) from exc


def _base_env(
    *,
    home: str,
    pythonpath: str,
    threads: int,
    job_root: str,
    extra: dict[str, str] | None = None,
) -> dict:
    """The whole environment of the program: nothing is inherited from the worker.

    ``USER``/``LOGNAME`` exist because ``getpass.getuser()`` (used by torch's
    caches) would otherwise look for ``/etc/passwd``, which the sandbox lacks.
    ``extra`` holds the numerics pins of the job (:func:`_numerics_env`).
    """
    return (extra or {}) | {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": home,
        "USER": "glew",
        "LOGNAME": "glew",
        "PYTHONPATH": pythonpath,
        "LANG": "C.UTF-8",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        JOB_ROOT_ENV: job_root,
    }


# --------------------------------------------------------------------- bwrap argv


def _root_links() -> list[str]:
    """Recreate ``/lib``, ``/lib64``, ``/bin``, ``/sbin`` as the host has them.

    On merged-/usr systems they are symlinks into ``/usr``; elsewhere they are
    real folders and are bound read-only instead.
    """
    args: list[str] = []
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), str(host)]
        elif host.is_dir():
            args += ["--ro-bind", str(host), str(host)]
    return args


def _bwrap_prefix(bwrap: str, limits: SandboxLimits | None = None) -> list[str]:
    """Namespace and base-filesystem options shared by real runs and the probe."""
    tmp_size = str(limits.tmp_bytes) if limits else str(16 * _MIB)
    return [
        bwrap,
        "--unshare-all",
        "--unshare-user",
        "--disable-userns",
        "--uid",
        "1000",
        "--gid",
        "1000",
        "--hostname",
        "glew-sandbox",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
        "--clearenv",
        "--ro-bind",
        "/usr",
        "/usr",
        *_root_links(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        tmp_size,
        "--tmpfs",
        "/tmp",
        "--size",
        tmp_size,
        "--tmpfs",
        "/dev/shm",
    ]


def _bwrap_argv(
    bwrap: str, job_dir: Path, argv: list[str], limits: SandboxLimits
) -> list[str]:
    repo = _repo_root()
    args = _bwrap_prefix(bwrap, limits)
    for path in _interpreter_paths():
        if repo.is_relative_to(path):
            raise PlatformError(
                "sandbox.unsafe_layout",
                f"The Python installation at {path} contains the Glew repository, so "
                "binding it into the sandbox would expose the web app and its "
                "settings. Use a virtualenv outside the repository.",
            )
        args += ["--ro-bind", str(path), str(path)]
    for name in CODE_PACKAGES:
        if (repo / name).is_dir():
            args += ["--ro-bind", str(repo / name), f"{CODE_ROOT}/{name}"]
    args += ["--ro-bind", str(job_dir / "spec.json"), f"{JOB_ROOT}/spec.json"]
    args += ["--ro-bind", str(job_dir / "model"), f"{JOB_ROOT}/model"]
    if (job_dir / "data").is_dir():
        args += ["--ro-bind", str(job_dir / "data"), f"{JOB_ROOT}/data"]
    args += ["--bind", str(job_dir / "out"), f"{JOB_ROOT}/out"]
    env = _base_env(
        home=f"{JOB_ROOT}/out/home",
        pythonpath=CODE_ROOT,
        threads=_threads(job_dir),
        job_root=JOB_ROOT,
        extra=_numerics_env(job_dir, code_root=CODE_ROOT),
    )
    for key, value in env.items():
        args += ["--setenv", key, value]
    # Last: the root tmpfs that holds the mount points must not be a writable
    # (RAM-backed, unlimited) scratch space of its own.
    args += ["--remount-ro", "/", "--chdir", f"{JOB_ROOT}/out", "--", *argv]
    return args


def _find_bwrap() -> str | None:
    return shutil.which("bwrap")


_INSTALL_HINT = (
    "Install it with `apt-get install -y bubblewrap` (Debian/Ubuntu) and make sure "
    "the kernel allows user namespaces (in containers: run with a seccomp/AppArmor "
    "profile that permits them, or set kernel.unprivileged_userns_clone=1)."
)


def check_sandbox_available() -> None:
    """Fail closed: prove once that bubblewrap can build this sandbox here.

    Runs ``bwrap ... true`` with the same namespace options as a real job, because
    bwrap being installed is not enough (containers often forbid namespaces). A
    success is cached for the life of the process; a failure is re-checked on the
    next call so that fixing the machine needs no restart.
    """
    global _bwrap_ok
    bwrap = _find_bwrap()
    if bwrap is None:
        raise SandboxUnavailable(
            "Evaluations cannot run because the sandbox program bubblewrap (bwrap) is "
            "not installed on this worker. " + _INSTALL_HINT
        )
    if _bwrap_ok == bwrap:
        return
    try:
        probe = subprocess.run(
            [*_bwrap_prefix(bwrap), "--", "/usr/bin/true"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(
            f"Evaluations cannot run because bubblewrap ({bwrap}) could not be "
            f"started: {exc}. " + _INSTALL_HINT
        ) from exc
    if probe.returncode != 0:
        detail = probe.stderr.decode("utf-8", "replace").strip()[-500:]
        raise SandboxUnavailable(
            f"Evaluations cannot run because bubblewrap ({bwrap}) cannot create its "
            f"sandbox on this machine ({detail or f'exit {probe.returncode}'}). "
            + _INSTALL_HINT
        )
    _bwrap_ok = bwrap


# ------------------------------------------------------------------------ running


def _preexec(
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


class _LogSink:
    """Writes lines to the job log up to a cap, keeps a tail, feeds ``on_line``."""

    def __init__(self, path: Path, on_line: Callable[[str], None] | None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(path, "ab")  # closed in close()
        self._on_line = on_line
        self._written = 0
        self._dropped = 0
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.last_error: str | None = None

    def note(self, text: str) -> None:
        """A line from Glew itself: always written, never counted against the cap."""
        self._file.write(text.encode() + b"\n")
        self._file.flush()
        self.tail.append(text)

    def line(self, raw: bytes) -> None:
        text = raw.decode("utf-8", "replace").rstrip("\r\n")
        data = text.encode() + b"\n"
        if self._written + len(data) <= LOG_CAP_BYTES and not self._dropped:
            self._file.write(data)
            self._written += len(data)
        else:
            self._dropped += len(data)
        self.tail.append(text)
        if text.startswith(ERROR_PREFIX):
            self.last_error = text[len(ERROR_PREFIX) :]
        if self._on_line is not None:
            self._on_line(text)

    def close(self) -> None:
        if self._dropped:
            self._file.write(f"[log truncated: {self._dropped} more bytes]\n".encode())
        self._file.close()

    def tail_text(self) -> str:
        return "\n".join(self.tail)[-TAIL_CHARS:]


_CLK_TCK = os.sysconf("SC_CLK_TCK")


def _max_tree_cpu(root: int) -> float:
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


def _tree_bytes(root: Path, stop_at: int) -> int:
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


class _Child:
    """The running bwrap (or program), and the most CPU time one of its processes
    was seen to use (sampled while it runs, see :func:`_max_tree_cpu`). With a
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
            self.cpu_used = max(self.cpu_used, _max_tree_cpu(self.proc.pid))
        if (
            self.quota is not None
            and self.scratch is not None
            and now - self._measured_at >= self.QUOTA_EVERY
        ):
            self._measured_at = now
            if _tree_bytes(self.scratch, self.quota) > self.quota:
                self.over_quota = True
                _kill_group(self.proc)
                return True
        return False

    def wait(self, deadline: float) -> bool:
        """Wait for the program to end by the deadline; False when it did not."""
        while not self.reap():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True


def _pump(child: _Child, sink: _LogSink, deadline: float) -> bool:
    """Stream output until the program ends; False when the deadline passed.

    Reads raw chunks (not ``readline``) so that a program printing one endless line
    cannot make the worker buffer it all. Stops reading shortly after the program
    exits even if something it left behind still holds the pipe.
    """
    assert child.proc.stdout is not None
    fd = child.proc.stdout.fileno()
    os.set_blocking(fd, False)
    buf = b""
    exited_at: float | None = None
    in_time = True
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                in_time = exited_at is not None
                break
            if exited_at is None and child.reap():
                exited_at = now
            if exited_at is not None and now - exited_at > 1.0:
                break
            if not sel.select(timeout=min(0.2, deadline - now)):
                continue
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                sink.line(line)
            while len(buf) > MAX_LINE_BYTES:
                sink.line(buf[:MAX_LINE_BYTES])
                buf = buf[MAX_LINE_BYTES:]
    if buf:
        sink.line(buf)
    return in_time


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable process
        logger.error("sandbox process %s did not die after SIGKILL", proc.pid)


def _parse_error(payload: str | None) -> tuple[str, str] | None:
    """The program's own ``GLEW_ERROR {"code", "message"}``, if well-formed."""
    if payload is None:
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    code, message = data.get("code"), data.get("message")
    if not isinstance(code, str) or not _CODE_RE.match(code) or len(code) > 100:
        return None
    if not isinstance(message, str):
        message = code
    return code, message[:2000]


_OOM_MARKERS = ("MemoryError", "std::bad_alloc", "can't allocate memory")


def _explain(
    *,
    returncode: int | None,
    timed_out: bool,
    cpu_used: float,
    limits: SandboxLimits,
    sink: _LogSink,
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
    mem_mib = limits.memory_bytes // _MIB
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
    own = _parse_error(sink.last_error)
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
        f"{limits.max_file_bytes // _MIB} MiB"
    )


def _prepare_job_dir(job_dir: Path) -> None:
    for need in ("spec.json", "model", "out"):
        if not (job_dir / need).exists():
            raise PlatformError(
                "sandbox.bad_job",
                f"The job folder {job_dir} has no {need}; the worker must prepare it "
                "before starting the sandbox.",
            )
    (job_dir / "out" / "home").mkdir(exist_ok=True)


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
        command = [
            str(job_dir) + a[len(JOB_ROOT) :]
            if a == JOB_ROOT or a.startswith(JOB_ROOT + "/")
            else a
            for a in argv
        ]
        env = _base_env(
            home=str(job_dir / "out" / "home"),
            pythonpath=str(_repo_root()),
            threads=_threads(job_dir),
            job_root=str(job_dir),
            extra=_numerics_env(job_dir, code_root=None),
        )
        cwd: str | None = str(job_dir / "out")
    else:
        check_sandbox_available()
        assert _bwrap_ok is not None
        command = _bwrap_argv(_bwrap_ok, job_dir, argv, limits)
        env = {}
        cwd = None

    sink = _LogSink(Path(log_path), on_line)
    if unsandboxed:
        warning = (
            "[glew] WARNING: this job runs UNSANDBOXED (development only): the "
            "program can read and write everything this worker can, including the "
            "network, the database and secrets. Never use this mode in production."
        )
        logger.warning("job %s: running unsandboxed (development only)", job_dir)
        sink.note(warning)
    start = time.monotonic()
    deadline = start + limits.wall_seconds
    proc: subprocess.Popen | None = None
    # The process limit for the whole job (root ignores RLIMIT_NPROC).
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
    try:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_preexec(limits, group),
        )
        child = _Child(proc, scratch=job_dir / "out", quota=limits.max_scratch_bytes)
        finished = _pump(child, sink, deadline) and child.wait(deadline)
        if not finished:
            _kill_group(proc)
        else:
            # The program is gone; make sure nothing it started outlives it.
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        duration = time.monotonic() - start
        timed_out = not finished
        if timed_out:
            sink.note(f"[glew] killed: wall-clock limit of {limits.wall_seconds:g} s")
        returncode = None if timed_out else proc.returncode
        sig, code, reason = _explain(
            returncode=returncode,
            timed_out=timed_out,
            cpu_used=child.cpu_used,
            limits=limits,
            sink=sink,
            sandboxed=not unsandboxed,
        )
        if child.over_quota and not timed_out:
            quota_mib = (limits.max_scratch_bytes or 0) // _MIB
            sink.note(f"[glew] killed: wrote more than {quota_mib} MiB under /job/out")
            sig, code, reason = (
                signal.SIGKILL,
                "sandbox.disk_quota",
                f"wrote more than its disk quota of {quota_mib} MiB in its scratch "
                "folder",
            )
        if group is not None and group.hit_limit():
            sink.note(
                f"[glew] the job reached its limit of {limits.max_processes} processes"
            )
            if code in ("sandbox.failed", "sandbox.killed", None) and returncode != 0:
                code = "sandbox.process_limit"
                reason = (
                    f"tried to run more than {limits.max_processes} processes at once"
                )
        if code == "sandbox.failed" and not unsandboxed and returncode == 1:
            setup = [line for line in sink.tail if line.startswith("bwrap: ")]
            if setup:
                code, reason = "sandbox.setup_failed", setup[-1]
        return SandboxResult(
            returncode=returncode,
            duration_s=duration,
            timed_out=timed_out,
            signal=sig,
            reason_code=code,
            reason=reason,
            log_tail=sink.tail_text(),
        )
    finally:
        if proc is not None and proc.returncode is None:
            _kill_group(proc)
        if group is not None:
            group.remove()
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        sink.close()
