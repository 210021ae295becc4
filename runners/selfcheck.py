"""Prove, before the platform queues anything, that a job can really run here.

``python -m runners.selfcheck`` (the first step of ``make run``) starts the real
sandbox with the flags every job uses, runs the platform's interpreter inside it,
and has it pin the numerics profile of the fp32 recipes (kernels.numerics) and
compute its canary. It prints one line saying what works, or the reason it does not
and how to fix it, and exits 1; bubblewrap being installed is not enough (containers
often forbid the namespaces it needs), and neither is a sandbox whose interpreter
cannot load torch.

Plain Python, no Django: it runs before the database is migrated.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from kernels import numerics
from runners.contract import (
    DATA_DIR,
    MODEL_DIR,
    OUT_DIR,
    SPEC_FILE,
    LaunchSettings,
    inside_job,
)
from runners.sandbox import (
    SandboxLimits,
    check_sandbox_available,
    run_in_sandbox,
    sandbox_python,
)
from tasks.errors import GlewError

PROGRAM = """
import json
from kernels import numerics
found = numerics.establish({profile!r}, "fp32")
print("GLEW_SELFCHECK " + json.dumps({{"profile": found.profile, **found.detail}}))
"""

LIMITS = SandboxLimits(
    wall_seconds=120,
    cpu_seconds=240,
    memory_bytes=8 * 1024**3,
    max_file_bytes=64 * 1024**2,
)


def check(*, unsandboxed: bool = False) -> dict:
    """Run the probe job; return what it reported, or raise a GlewError saying why
    a job cannot run here."""
    if not unsandboxed:
        check_sandbox_available()
    profile = numerics.requested_profile("fp32")
    with tempfile.TemporaryDirectory(prefix="glew-selfcheck-") as folder:
        job = Path(folder)
        for name in (MODEL_DIR, DATA_DIR, OUT_DIR):
            (job / name).mkdir()
        (job / MODEL_DIR / "probe.py").write_text(PROGRAM.format(profile=profile))
        # Only what the launcher reads: the probe is not a runners.execute job.
        LaunchSettings(
            numerics=profile, threads=numerics.threads_for(profile, 1)
        ).write(job / SPEC_FILE)
        result = run_in_sandbox(
            job_dir=job,
            argv=[sandbox_python(), "-s", "-P", inside_job(MODEL_DIR, "probe.py")],
            limits=LIMITS,
            log_path=job / "probe.log",
            unsandboxed=unsandboxed,
        )
        lines = [
            line.removeprefix("GLEW_SELFCHECK ")
            for line in result.log_tail.splitlines()
            if line.startswith("GLEW_SELFCHECK ")
        ]
        if not result.ok or not lines:
            raise GlewError(
                result.reason_code or "sandbox.failed",
                f"a probe job could not run in the sandbox "
                f"({result.reason or 'no report'}). Its log ends:\n"
                + "\n".join(result.log_tail.splitlines()[-15:]),
            )
        return json.loads(lines[-1])


def main() -> int:
    unsandboxed = os.environ.get("GLEW_ALLOW_UNSANDBOXED", "").lower() in (
        "1",
        "true",
        "yes",
    )
    try:
        found = check(unsandboxed=unsandboxed)
    except GlewError as exc:
        print(f"glew: evaluations cannot run on this machine: {exc.message}")
        print("Nothing was migrated or queued.")
        return 1
    where = "UNSANDBOXED (development only)" if unsandboxed else "bubblewrap sandbox"
    canary = found.get("canary")
    verified = found["profile"] == numerics.PORTABLE_X86 or not canary
    print(
        f"glew: {where} ok; fp32 recipes compute in {found['profile']} "
        f"({found['cpu_capability']} kernels, {found['threads']} threads"
        + (", canary matches the reference)" if canary and verified else ")")
    )
    if not verified:
        print(
            "glew: note: this machine's canary differs from the reference of its "
            "torch build, so its fp32 results are kept apart from other machines'."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
