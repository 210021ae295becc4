"""The bubblewrap command line, and the check that bubblewrap works here at all.

Bubblewrap being installed is not enough (containers often forbid the namespaces
it needs), so :func:`check_sandbox_available` runs a probe with the same namespace
options as a real job, and the platform fails closed when it does not work.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

from runners.contract import (
    DATA_DIR,
    JOB_ROOT,
    MODEL_DIR,
    OUT_DIR,
    SPEC_FILE,
    inside_job,
)
from runners.sandbox.environment import (
    CODE_PACKAGES,
    CODE_ROOT,
    HOME_DIR,
    base_env,
    interpreter_paths,
    numerics_env,
    repo_root,
    threads,
)
from runners.sandbox.limits import MIB, SandboxLimits
from tasks.errors import PlatformError

_bwrap_ok: str | None = None
"""The bwrap path that passed :func:`check_sandbox_available` (a positive cache)."""


class SandboxUnavailable(PlatformError):
    """Bubblewrap is missing or cannot create namespaces on this machine."""

    def __init__(self, message: str) -> None:
        super().__init__("sandbox.unavailable", message)


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


def bwrap_prefix(bwrap: str, limits: SandboxLimits | None = None) -> list[str]:
    """Namespace and base-filesystem options shared by real runs and the probe."""
    tmp_size = str(limits.tmp_bytes) if limits else str(16 * MIB)
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


def bwrap_argv(
    bwrap: str, job_dir: Path, argv: list[str], limits: SandboxLimits
) -> list[str]:
    """The whole bwrap command line of one job: the base filesystem, the
    interpreter and ``CODE_PACKAGES`` read-only, the job folder at ``/job``, the
    environment, then ``argv``.

    Refuses an interpreter whose folder holds the repository: binding it would
    show the web app and its settings inside.
    """
    repo = repo_root()
    args = bwrap_prefix(bwrap, limits)
    for path in interpreter_paths():
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
    for name in (SPEC_FILE, MODEL_DIR):
        args += ["--ro-bind", str(job_dir / name), inside_job(name)]
    if (job_dir / DATA_DIR).is_dir():
        args += ["--ro-bind", str(job_dir / DATA_DIR), inside_job(DATA_DIR)]
    args += ["--bind", str(job_dir / OUT_DIR), inside_job(OUT_DIR)]
    for node in gpu_device_nodes():
        args += ["--dev-bind", node, node]
    env = base_env(
        home=inside_job(OUT_DIR, HOME_DIR),
        pythonpath=CODE_ROOT,
        threads=threads(job_dir),
        job_root=JOB_ROOT,
        extra=numerics_env(job_dir, code_root=CODE_ROOT),
    )
    for key, value in env.items():
        args += ["--setenv", key, value]
    # Last: the root tmpfs that holds the mount points must not be a writable
    # (RAM-backed, unlimited) scratch space of its own.
    args += ["--remount-ro", "/", "--chdir", inside_job(OUT_DIR), "--", *argv]
    return args


def gpu_device_nodes(pattern: str = "/dev/nvidia*") -> list[str]:
    """The worker's NVIDIA device nodes (``nvidia0``..., ``nvidiactl``,
    ``nvidia-uvm``), shown to the job as they are: ``--dev /dev`` alone has none,
    and CUDA finds its GPUs through them (the driver's libraries are under
    ``/usr``, already bound). None on a machine without NVIDIA GPUs."""
    return sorted(glob.glob(pattern))


def _find_bwrap() -> str | None:
    """bwrap on the worker's PATH (tests point PATH elsewhere to simulate none)."""
    return shutil.which("bwrap")


_INSTALL_HINT = (
    "Install it with `apt-get install -y bubblewrap` (Debian/Ubuntu) and make sure "
    "the kernel allows user namespaces (in containers: run with a seccomp/AppArmor "
    "profile that permits them, or set kernel.unprivileged_userns_clone=1)."
)


def check_sandbox_available() -> None:
    """Fail closed: prove once that bubblewrap can build this sandbox here.

    Raises :class:`SandboxUnavailable` saying why and how to fix it.
    """
    checked_bwrap()


def checked_bwrap() -> str:
    """The path of a bubblewrap proven to build this sandbox here.

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
        return bwrap
    try:
        probe = subprocess.run(
            [*bwrap_prefix(bwrap), "--", "/usr/bin/true"],
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
    return bwrap
