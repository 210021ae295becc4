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

One module per step: ``environment`` (what the program sees: paths and
variables), ``bwrap`` (the command line, and the check that bubblewrap works
here), ``limits`` (rlimits and the watch on the running program), ``logs`` (its
output: the capped log, the tail, ``on_line``), ``outcome`` (how it ended, in
words) and ``launch`` (:func:`run_in_sandbox`, which strings them together).

This package is plain Python (no Django): the worker calls it, and the tests run
it without a database.
"""

from runners.contract import JOB_ROOT
from runners.sandbox.bwrap import SandboxUnavailable, check_sandbox_available
from runners.sandbox.environment import (
    CODE_PACKAGES,
    CODE_ROOT,
    JOB_ROOT_ENV,
    execute_argv,
    job_path,
    sandbox_python,
)
from runners.sandbox.launch import run_in_sandbox
from runners.sandbox.limits import SandboxLimits
from runners.sandbox.logs import LOG_CAP_BYTES, MAX_LINE_BYTES, TAIL_CHARS, TAIL_LINES
from runners.sandbox.outcome import SandboxResult

__all__ = [
    "CODE_PACKAGES",
    "CODE_ROOT",
    "JOB_ROOT",
    "JOB_ROOT_ENV",
    "LOG_CAP_BYTES",
    "MAX_LINE_BYTES",
    "TAIL_CHARS",
    "TAIL_LINES",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "check_sandbox_available",
    "execute_argv",
    "job_path",
    "run_in_sandbox",
    "sandbox_python",
]
