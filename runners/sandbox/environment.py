"""What the sandboxed program sees: where things are, and its whole environment.

The job folder appears at ``/job`` and the project's plain-Python packages at
``/glew``; the interpreter's own folders keep their host paths, so
:func:`sandbox_python` works inside. Nothing of the worker's environment is
inherited: :func:`base_env` is all the program gets, plus the variables that pin
the job's numerics profile, which only work if set before Python starts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kernels import numerics
from runners.contract import JOB_ROOT, SPEC_FILE, LaunchSettings
from tasks.errors import PlatformError

CODE_ROOT = "/glew"
"""Where the project's plain-Python packages appear inside the sandbox."""

CODE_PACKAGES: tuple[str, ...] = ("runners", "tasks", "kernels")
"""The only project folders the sandbox may see; never ``leaderboard`` (settings)."""

HOME_DIR = "home"
"""``HOME`` of the program: a folder under ``/job/out``, the only writable place."""

JOB_ROOT_ENV = "GLEW_JOB_ROOT"
"""Tells the in-sandbox program where ``/job`` really is (see :func:`job_path`)."""


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


def execute_argv(spec_path: str, processes: int = 1) -> list[str]:
    """The command line of a job's program (``runners.execute``) in the sandbox: one
    process, or ``processes`` started by torchrun (one per device; each joins the
    others through ``runners.distributed``; the sandbox has its own network
    namespace, so the fixed port is free). ``--no-python`` makes torchrun start
    the same interpreter line for every process, so each keeps ``-s -P`` (no user
    site, nothing from the working folder on the import path)."""
    program = [sandbox_python(), "-s", "-P", "-m", "runners.execute", spec_path]
    if processes <= 1:
        return program
    return [
        *program[:3],
        "-m",
        "torch.distributed.run",
        # One node, rendezvous on the sandbox's own loopback (it resolves no
        # names: no /etc/hosts, its own host name).
        "--nnodes=1",
        "--master-addr=127.0.0.1",
        "--master-port=29500",
        f"--nproc-per-node={int(processes)}",
        "--no-python",
        *program,
    ]


def repo_root() -> Path:
    """The checkout that holds ``CODE_PACKAGES`` (this file is runners/sandbox/)."""
    return Path(__file__).resolve().parents[2]


def interpreter_paths() -> list[Path]:
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


def threads(job_dir: Path) -> int:
    """The spec's ``threads``, or every core when the spec does not say."""
    return LaunchSettings.read(job_dir / SPEC_FILE).threads or os.cpu_count() or 1


def numerics_env(job_dir: Path, *, code_root: str | None) -> dict[str, str]:
    """The variables that pin the spec's numerics profile (kernels.numerics).

    They must be set before Python starts, so the launcher sets them. The shim
    library is named as the program sees it: under ``code_root`` inside the
    sandbox (None: at its host path, unsandboxed).
    """
    profile = LaunchSettings.read(job_dir / SPEC_FILE).numerics
    if profile is None:
        return {}
    shim = numerics.shim_path()
    shown = str(shim) if shim else None
    repo = repo_root()
    if shim is not None and code_root is not None:
        if shim.is_relative_to(repo):
            shown = f"{code_root}/{shim.relative_to(repo)}"
        elif not any(shim.is_relative_to(p) for p in interpreter_paths()):
            shown = None  # not visible inside the sandbox
    try:
        return numerics.environment(profile, shim=shown)
    except numerics.NumericsError as exc:
        raise PlatformError(exc.code, exc.message) from exc


def base_env(
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
    ``extra`` holds the numerics pins of the job (:func:`numerics_env`).
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
