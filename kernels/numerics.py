"""Numerics profiles: how a run computes, so a recipe version has one set of numbers.

A fine-tuning run's scores depend on the arithmetic that produced them, not only on
the recipe: bf16 and fp32 differ, and so do two fp32 CPUs, because torch, oneDNN and
MKL pick different kernels (AVX-512 or AVX2, Intel or AMD code paths, one or many
threads) that sum in different orders. A hundred steps of training turn those last
bits into different predictions. So every run computes in a named **profile**, the
Result records it, and a leaderboard cell averages results of one profile only.

Profiles (the string is what a Result stores):

``fp32-x86-64-v3``
    fp32 on any x86-64 CPU with AVX2 and FMA (the x86-64-v3 level: Intel since
    Haswell, AMD since Zen). The sandbox pins torch's own kernels to AVX2
    (``ATEN_CPU_CAPABILITY``), oneDNN's to AVX2 (``ONEDNN_MAX_CPU_ISA``), MKL to its
    AVX2 conditional-numerical-reproducibility branch (``MKL_CBWR``) with the
    ``mkl_any_cpu`` shim preloaded (MKL otherwise ignores that setting on non-Intel
    CPUs and runs vendor-specific code), and runs exactly :data:`PORTABLE_THREADS`
    intra-op threads (LayerNorm's weight gradients are summed per thread). The same
    job then gives the same bits on every such CPU: tests/kernels/test_numerics.py
    runs one natively and on emulated AVX2-only AMD (EPYC-Rome) and Intel (Haswell)
    CPUs and compares. On an AVX-512 CPU this costs about a quarter of fp32 speed.
    Each run also computes a *canary* (a few steps of every kernel family a
    fine-tuning step uses) and compares it with the reference for its torch build;
    a machine that computes otherwise records ``fp32-x86-64-v3+<canary>`` instead,
    so its results are kept apart rather than mixed in.
``fp32-arm64``
    fp32 on an arm64 CPU, with the same thread count. Arm CPUs run other kernels
    than x86 ones, so this is a profile of its own (not verified across Arm
    machines: none was available).
``bf16-cuda``, ``bf16-cpu``
    bf16 autocast (fp32 master weights) on a GPU, or on a CPU that multiplies bf16
    natively (kernels.precision). A bf16 recipe never falls back to fp32: a worker
    that cannot run it natively refuses the job (:class:`NumericsError`).
``fp32-cpu``, ``fp32-cuda``
    fp32 without pins: a run outside the platform's launcher (a researcher calling
    ``runners.execute`` directly, the in-process tests) records what it was.

Environment variables must be in place before torch starts, so the launcher sets
them (:func:`environment`) and the program inside only checks and records
(:func:`establish`). This module imports torch lazily: the launcher side needs none.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kernels import precision

__all__ = [
    "ARM64",
    "BF16",
    "BF16_CPU",
    "BF16_CUDA",
    "CANARY_REFERENCE",
    "FP32_CPU",
    "FP32_CUDA",
    "Numerics",
    "NumericsError",
    "PINNED_ENVIRONMENT",
    "PORTABLE_THREADS",
    "PORTABLE_X86",
    "PROFILES",
    "REQUIRED_X86_FLAGS",
    "canary",
    "environment",
    "establish",
    "requested_profile",
    "shim_path",
    "threads_for",
]

PORTABLE_X86 = "fp32-x86-64-v3"
ARM64 = "fp32-arm64"
FP32_CPU = "fp32-cpu"
FP32_CUDA = "fp32-cuda"
BF16_CPU = "bf16-cpu"
BF16_CUDA = "bf16-cuda"
BF16 = "bf16"
"""Requested only: a bf16 recipe becomes ``bf16-cuda`` or ``bf16-cpu`` where it runs."""

PROFILES = (PORTABLE_X86, ARM64, FP32_CPU, FP32_CUDA, BF16_CPU, BF16_CUDA)
_REQUESTABLE = (PORTABLE_X86, ARM64, FP32_CPU, FP32_CUDA, BF16)

PORTABLE_THREADS = 2
"""Intra-op threads of the pinned CPU profiles. Fixed, because some of torch's CPU
kernels (LayerNorm's backward) sum per-thread partials; two, because small encoders
gain little from more and a CPU worker with more cores runs more jobs at once."""

PINNED_ENVIRONMENT = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "MKL_CBWR": "AVX2",
}
"""What ``fp32-x86-64-v3`` sets, besides preloading the shim."""

REQUIRED_X86_FLAGS = frozenset({"avx2", "fma"})
"""``/proc/cpuinfo`` flags the pinned x86 kernels execute."""

SHIM_MODULE = "kernels._mkl_any_cpu"
"""The shim built from kernels/mkl_any_cpu.c by ``pip install``; preloaded, never
imported."""

CANARY_REFERENCE: dict[str, str] = {
    "2.13.0+cpu": "a1edebd6442a0cb5",
}
"""The canary of ``fp32-x86-64-v3`` per torch build (``torch.__version__``),
measured on a native AVX-512 CPU and on emulated AVX2-only AMD and Intel CPUs
(tests/kernels/test_numerics.py checks all three). A build not listed here has no
reference: its runs record ``fp32-x86-64-v3+<canary>``."""


class NumericsError(RuntimeError):
    """This machine cannot run the requested profile; ``code`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _machine(machine: str | None) -> str:
    return (machine or platform.machine()).lower()


def requested_profile(recipe_precision: str, machine: str | None = None) -> str:
    """The profile the platform asks for when it runs a recipe of this precision on
    a worker of this machine type (``platform.machine()`` by default)."""
    if recipe_precision == precision.BF16:
        return BF16
    if recipe_precision != precision.FP32:
        raise ValueError(f"precision {recipe_precision!r} is not one of fp32, bf16")
    arch = _machine(machine)
    if arch in ("x86_64", "amd64"):
        return PORTABLE_X86
    if arch in ("aarch64", "arm64"):
        return ARM64
    return FP32_CPU


def threads_for(profile: str | None, default: int) -> int:
    """Intra-op threads a job of ``profile`` runs: fixed for the pinned CPU ones."""
    if profile in (PORTABLE_X86, ARM64):
        return PORTABLE_THREADS
    return default


def shim_path() -> Path | None:
    """The built shim library, or None where ``pip install`` did not build it."""
    try:
        spec = importlib.util.find_spec(SHIM_MODULE)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.origin or not Path(spec.origin).is_file():
        return None
    return Path(spec.origin)


def environment(profile: str | None, *, shim: str | None) -> dict[str, str]:
    """Environment variables a job of ``profile`` starts with (before torch loads).

    ``shim`` is the path of the shim library as the job will see it. A pinned x86
    profile without it cannot promise its numbers, so that is an error here, on
    the worker, before any sandbox starts.
    """
    if profile != PORTABLE_X86:
        return {}
    if not shim:
        raise NumericsError(
            "numerics.shim_missing",
            "The fp32 recipes compute in the fp32-x86-64-v3 profile, which needs the "
            "shim library built from kernels/mkl_any_cpu.c; it is not built. Run "
            "`pip install -e .` (or `make install`) on this worker; it needs a C "
            "compiler (`apt-get install -y gcc`).",
        )
    return {**PINNED_ENVIRONMENT, "LD_PRELOAD": shim}


@dataclass
class Numerics:
    """How this run computes: the profile recorded with its scores, the precision
    the training loop uses (``fp32`` or ``bf16`` autocast), the device, and the
    evidence (pins in effect, threads, canary)."""

    profile: str
    precision: str
    device: str
    detail: dict[str, Any] = field(default_factory=dict)


def establish(requested: str | None, recipe_precision: str) -> Numerics:
    """Check that this process computes in ``requested`` and say how it computes.

    ``requested`` is the job spec's ``numerics`` (None where the spec has none: a
    run outside the platform; then the run records what it finds). Call it after
    importing torch and before any computation: it sets the thread count of the
    pinned profiles and runs their canary.
    """
    import torch

    if requested is not None and requested not in _REQUESTABLE:
        raise NumericsError(
            "numerics.unknown",
            f"numerics profile {requested!r} is not one of {', '.join(_REQUESTABLE)}",
        )
    if recipe_precision not in precision.PRECISIONS:
        raise NumericsError(
            "numerics.unknown",
            f"precision {recipe_precision!r} is not one of "
            f"{', '.join(precision.PRECISIONS)}",
        )
    if recipe_precision == precision.BF16 or requested == BF16:
        return _bf16()
    if requested == PORTABLE_X86:
        return _portable_x86()
    if requested == ARM64:
        if _machine(None) not in ("aarch64", "arm64"):
            raise NumericsError(
                "numerics.unavailable",
                f"the {ARM64} profile runs on arm64 CPUs; this one is "
                f"{platform.machine()}",
            )
        torch.set_num_threads(PORTABLE_THREADS)
        return Numerics(ARM64, precision.FP32, "cpu", _detail(canary_value=canary()))
    cuda = requested != FP32_CPU and torch.cuda.is_available()
    if requested == FP32_CUDA and not cuda:
        raise NumericsError("numerics.unavailable", "fp32-cuda needs a CUDA device")
    device = "cuda" if cuda else "cpu"
    return Numerics(f"fp32-{device}", precision.FP32, device, _detail())


def _bf16() -> Numerics:
    import torch

    if torch.cuda.is_available() and precision.native_bf16(torch.device("cuda")):
        return Numerics(BF16_CUDA, precision.BF16, "cuda", _detail())
    if precision.native_bf16(torch.device("cpu")):
        return Numerics(BF16_CPU, precision.BF16, "cpu", _detail())
    raise NumericsError(
        "numerics.bf16_unavailable",
        "This recipe computes in bf16, and this worker cannot: it has no GPU and its "
        "CPU does not multiply bf16 natively (no AVX512_BF16, AMX or Arm BF16). A "
        "bf16 recipe never falls back to fp32, because its numbers would differ; "
        "run it on a worker of the gpu queue (a GPU, or a CPU with native bf16).",
    )


def _portable_x86() -> Numerics:
    import torch

    if _machine(None) not in ("x86_64", "amd64"):
        raise NumericsError(
            "numerics.unavailable",
            f"the {PORTABLE_X86} profile runs on x86-64 CPUs; this one is "
            f"{platform.machine()}",
        )
    missing = sorted(REQUIRED_X86_FLAGS - precision.cpu_flags())
    if missing:
        raise NumericsError(
            "numerics.unavailable",
            f"the {PORTABLE_X86} profile computes with AVX2 and FMA kernels so that "
            f"every CPU gives the same numbers; this CPU lacks {', '.join(missing)}",
        )
    problems = [
        f"{key}={os.environ.get(key)!r} (want {value!r})"
        for key, value in PINNED_ENVIRONMENT.items()
        if os.environ.get(key) != value
    ]
    capability = torch.backends.cpu.get_cpu_capability()
    if capability != "AVX2":
        problems.append(f"torch runs {capability} kernels (want AVX2)")
    if not _shim_loaded():
        problems.append("the mkl_any_cpu shim is not preloaded (LD_PRELOAD)")
    if problems:
        raise NumericsError(
            "numerics.not_pinned",
            f"the job asks for the {PORTABLE_X86} profile but this process is not "
            f"pinned to it: {'; '.join(problems)}. The launcher sets these before "
            "Python starts (kernels.numerics.environment).",
        )
    torch.set_num_threads(PORTABLE_THREADS)
    value = canary()
    reference = CANARY_REFERENCE.get(torch.__version__)
    profile = PORTABLE_X86 if value == reference else f"{PORTABLE_X86}+{value[:8]}"
    detail = _detail(canary_value=value, reference=reference)
    return Numerics(profile, precision.FP32, "cpu", detail)


def _shim_loaded() -> bool:
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "_mkl_any_cpu" in maps


def _detail(
    *, canary_value: str | None = None, reference: str | None = None
) -> dict[str, Any]:
    import torch

    return {
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(),
        "pins": {key: os.environ.get(key) for key in PINNED_ENVIRONMENT},
        "vendor_shim": _shim_loaded(),
        "canary": canary_value,
        "canary_reference": reference,
        "torch": torch.__version__,
    }


def canary() -> str:
    """A fingerprint of how this process computes in fp32 on the CPU.

    One small forward and backward pass through every kernel family a fine-tuning
    step of an encoder uses (matrix products, GELU, LayerNorm, softmax, attention,
    dropout, cross-entropy, the fused AdamW step) and the elementwise functions MKL
    provides (exp, erf, sqrt, tanh), hashed bit for bit. Inputs come from a private
    generator and the global random state is restored, so the run it precedes is
    unchanged. Takes a few milliseconds.
    """
    import torch
    import torch.nn.functional as F

    digest = hashlib.sha256()

    def add(*tensors: torch.Tensor) -> None:
        for tensor in tensors:
            digest.update(tensor.detach().float().contiguous().numpy().tobytes())

    with torch.random.fork_rng(devices=[]), _no_autocast():
        torch.manual_seed(20261130)
        gen = torch.Generator().manual_seed(7)
        x = torch.randn(48, 96, generator=gen, requires_grad=True)
        weight = torch.randn(192, 96, generator=gen, requires_grad=True)
        bias = torch.randn(192, generator=gen, requires_grad=True)
        hidden = F.gelu(F.linear(x, weight, bias))
        normed = F.layer_norm(hidden, (192,))
        q = normed.view(2, 4, 24, 48)
        attended = F.scaled_dot_product_attention(q, q, q, dropout_p=0.1)
        scores = torch.softmax(attended @ q.transpose(-1, -2), dim=-1)
        logits = torch.tanh(F.dropout(scores.sum(-1).view(48, 4), p=0.1))
        labels = torch.randint(0, 4, (48,), generator=gen)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        add(hidden, normed, attended, scores, loss, x.grad, weight.grad, bias.grad)
        add(torch.exp(x), torch.erf(x), torch.sqrt(x.abs()), torch.tanh(x))
        param = torch.nn.Parameter(weight.detach().clone())
        param.grad = weight.grad.clone()
        optimizer = torch.optim.AdamW([param], lr=1e-3, fused=True)
        optimizer.step()
        optimizer.step()
        add(param)
    return digest.hexdigest()[:16]


@contextlib.contextmanager
def _no_autocast():
    import torch

    with torch.autocast("cpu", enabled=False):
        yield
