"""Numerics profiles: the same recipe gives the same bits on every x86-64 CPU.

The cross-CPU tests run a real job of ``runners.execute`` inside the real sandbox,
pinned by the real launcher (``runners.sandbox``), three times: natively, and under
qemu's user-mode emulation of an AVX2-only AMD CPU (EPYC-Rome, the kind of machine
whose numbers used to differ) and an AVX2-only Intel CPU (Haswell). Emulation
reports the emulated CPU's identity and flags, so torch, oneDNN and MKL pick
exactly the kernels they pick on such a machine, and it computes IEEE arithmetic
exactly; so equal bits here mean equal bits there. A control shows the test can
fail: without the MKL shim, the emulated AMD CPU computes other bits.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from kernels import numerics, precision
from runners.contract import (
    MODEL_DIR,
    OUT_DIR,
    SPEC_FILE,
    JobData,
    JobSpec,
    LaunchSettings,
    data_file,
    inside_job,
    predictions_file,
)
from runners.recipes import get_recipe
from runners.sandbox import SandboxLimits, run_in_sandbox, sandbox_python
from runners.sandbox.environment import numerics_env
from tests.conftest import require_tool
from tests.fixtures.jobs import read_measurements, write_sentiment_job
from tests.fixtures.tiny_model import FIXTURE_TEXTS, build_tiny_model

REPO = Path(__file__).resolve().parents[2]
X86 = platform.machine().lower() in ("x86_64", "amd64")
EMULATED_CPUS = ("EPYC-Rome", "Haswell")


def test_fp32_recipes_ask_for_the_pinned_profile_of_their_machine() -> None:
    assert numerics.requested_profile("fp32", "x86_64") == numerics.PORTABLE_X86
    assert numerics.requested_profile("fp32", "aarch64") == numerics.ARM64
    assert numerics.requested_profile("fp32", "riscv64") == numerics.FP32_CPU
    assert numerics.requested_profile("bf16", "x86_64") == numerics.BF16
    with pytest.raises(ValueError):
        numerics.requested_profile("fp16", "x86_64")


def test_pinned_profiles_fix_their_threads_and_others_keep_the_workers() -> None:
    assert numerics.threads_for(numerics.PORTABLE_X86, 16) == 2
    assert numerics.threads_for(numerics.ARM64, 16) == 2
    assert numerics.threads_for(numerics.BF16, 16) == 16
    assert numerics.threads_for(None, 3) == 3


def test_the_pinned_x86_environment_needs_the_shim() -> None:
    with pytest.raises(numerics.NumericsError) as excinfo:
        numerics.environment(numerics.PORTABLE_X86, shim=None)
    assert excinfo.value.code == "numerics.shim_missing"
    assert "pip install -e ." in excinfo.value.message
    env = numerics.environment(numerics.PORTABLE_X86, shim="/glew/kernels/x.so")
    assert env == {**numerics.PINNED_ENVIRONMENT, "LD_PRELOAD": "/glew/kernels/x.so"}
    assert numerics.environment(numerics.BF16, shim=None) == {}
    assert numerics.environment(None, shim=None) == {}


def test_install_built_the_shim() -> None:
    shim = numerics.shim_path()
    assert shim is not None, "run `pip install -e .` to build kernels/mkl_any_cpu.c"
    assert shim.is_relative_to(REPO / "kernels")


def test_an_unpinned_process_is_refused_the_pinned_profile() -> None:
    if not X86:
        pytest.skip("the x86 profile is about x86-64 CPUs")
    # This test process was started without the pins.
    with pytest.raises(numerics.NumericsError) as excinfo:
        numerics.establish(numerics.PORTABLE_X86, "fp32")
    assert excinfo.value.code == "numerics.not_pinned"
    assert "ATEN_CPU_CAPABILITY" in excinfo.value.message


def test_a_run_outside_the_platform_records_what_it_computed_in() -> None:
    found = numerics.establish(None, "fp32")
    assert found.profile == ("fp32-cuda" if torch.cuda.is_available() else "fp32-cpu")
    assert found.precision == "fp32"
    assert found.detail["threads"] == torch.get_num_threads()


def test_bf16_never_falls_back_to_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(precision, "native_bf16", lambda device: False)
    with pytest.raises(numerics.NumericsError) as excinfo:
        numerics.establish(numerics.BF16, "bf16")
    assert excinfo.value.code == "numerics.bf16_unavailable"
    assert "gpu queue" in excinfo.value.message
    monkeypatch.setattr(precision, "native_bf16", lambda device: device.type == "cpu")
    found = numerics.establish(numerics.BF16, "bf16")
    assert (found.profile, found.precision, found.device) == ("bf16-cpu", "bf16", "cpu")


def test_the_canary_leaves_the_random_state_alone() -> None:
    torch.manual_seed(3)
    before = torch.rand(4)
    torch.manual_seed(3)
    numerics.canary()
    assert torch.equal(torch.rand(4), before)


def test_unknown_profiles_are_refused() -> None:
    with pytest.raises(numerics.NumericsError) as excinfo:
        numerics.establish("fp64-quantum", "fp32")
    assert excinfo.value.code == "numerics.unknown"


# --- the same bits on every x86-64 CPU -------------------------------------------


@pytest.fixture(scope="module")
def regressor(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("reg"), FIXTURE_TEXTS, num_labels=1)


def _needs_cross_cpu_tools() -> None:
    if not X86:
        pytest.skip("the pinned x86 profile is about x86-64 CPUs")
    require_tool(
        "sandbox",
        shutil.which("bwrap") is not None,
        "bubblewrap (bwrap) is not installed",
        "scripts/system-packages test",
    )
    require_tool(
        "qemu",
        shutil.which("qemu-x86_64") is not None,
        "qemu-user (qemu-x86_64) is not installed",
        "scripts/system-packages test",
    )


def _run_job(
    tmp_path: Path,
    model: Path,
    name: str,
    *,
    cpu: str | None = None,
    profile: str | None = numerics.PORTABLE_X86,
) -> tuple[list[float], dict]:
    """One smoke job in the real sandbox, pinned by the real launcher; on an
    emulated CPU when ``cpu`` is given. Returns its predictions and measurements."""
    job = tmp_path / name
    smoke = get_recipe("smoke", task_name="glue/stsb", task_type="regression")
    recipe = smoke.to_dict() | {"eval_batch_size": 4, "max_steps": 6}
    spec_path = write_sentiment_job(job, model, task_type="regression", recipe=recipe)
    # The same job with the paths the sandbox sees, pinned as the worker pins it.
    dataclasses.replace(
        JobSpec.read(spec_path),
        model_dir=inside_job(MODEL_DIR),
        output_dir=inside_job(OUT_DIR),
        data=JobData(
            train=data_file("train"), predict={"validation": data_file("validation")}
        ),
        threads=numerics.threads_for(profile, 1),
        numerics=profile,
    ).write(spec_path)
    shutil.copytree(model, job / MODEL_DIR, dirs_exist_ok=True)
    wrap = ["qemu-x86_64", "-cpu", cpu] if cpu else []
    result = run_in_sandbox(
        job_dir=job,
        argv=[
            *wrap,
            sandbox_python(),
            "-s",
            "-P",
            "-m",
            "runners.execute",
            inside_job(SPEC_FILE),
        ],
        limits=SandboxLimits(
            wall_seconds=900,
            cpu_seconds=3000,
            memory_bytes=16 * 1024**3,
            max_file_bytes=1024**3,
        ),
        log_path=tmp_path / f"{name}.log",
    )
    assert result.ok, result.log_tail
    lines = predictions_file(job / OUT_DIR, "validation").read_text()
    predictions = [json.loads(line)["prediction"] for line in lines.splitlines()]
    return predictions, read_measurements(job)


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_a_pinned_job_gives_the_same_bits_on_avx2_amd_and_intel_cpus(
    tmp_path: Path, regressor: Path
) -> None:
    _needs_cross_cpu_tools()
    native, measured = _run_job(tmp_path, regressor, "native")
    assert measured["numerics"] == numerics.PORTABLE_X86, measured["numerics_detail"]
    assert measured["numerics_detail"]["threads"] == numerics.PORTABLE_THREADS
    assert measured["numerics_detail"]["vendor_shim"] is True
    for cpu in EMULATED_CPUS:
        emulated, m = _run_job(tmp_path, regressor, f"qemu-{cpu}", cpu=cpu)
        assert m["numerics_detail"]["cpu_capability"] == "AVX2"
        assert m["numerics"] == numerics.PORTABLE_X86, (cpu, m["numerics_detail"])
        assert emulated == native, f"{cpu} predicted other values"
        assert m["final_train_loss"] == measured["final_train_loss"]
    if "avx512f" in precision.cpu_flags():
        # On an AVX-512 CPU the unpinned kernels compute other bits: the pins are
        # what makes the runs above agree.
        unpinned, m = _run_job(tmp_path, regressor, "unpinned", profile=None)
        assert m["numerics"] == "fp32-cpu"
        assert unpinned != native


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_without_the_shim_an_amd_cpu_computes_other_bits() -> None:
    """The control: MKL's vendor check is real, and the canary sees it."""
    _needs_cross_cpu_tools()
    program = "import torch; from kernels import numerics; torch.set_num_threads(2); "
    program += "print('CANARY', numerics.canary())"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        **numerics.PINNED_ENVIRONMENT,
    }
    canaries = {}
    for name, extra in (
        ("with shim", {"LD_PRELOAD": str(numerics.shim_path())}),
        ("without shim", {}),
    ):
        done = subprocess.run(
            ["qemu-x86_64", "-cpu", "EPYC-Rome", sys.executable, "-c", program],
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=560,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        canaries[name] = done.stdout.split("CANARY ")[1].strip()
    reference = numerics.CANARY_REFERENCE[torch.__version__]
    assert canaries["with shim"] == reference
    assert canaries["without shim"] != reference


def test_the_sandbox_sets_the_pins_of_the_jobs_profile(tmp_path: Path) -> None:
    job = tmp_path / "job"
    job.mkdir()
    LaunchSettings(numerics=numerics.PORTABLE_X86).write(job / SPEC_FILE)
    env = numerics_env(job, code_root="/glew")
    shim = numerics.shim_path()
    assert env["LD_PRELOAD"] == f"/glew/{shim.relative_to(REPO)}"
    assert {k: env[k] for k in numerics.PINNED_ENVIRONMENT} == (
        numerics.PINNED_ENVIRONMENT
    )
    assert numerics_env(job, code_root=None)["LD_PRELOAD"] == str(shim)
    LaunchSettings(numerics="bf16").write(job / SPEC_FILE)
    assert numerics_env(job, code_root="/glew") == {}
