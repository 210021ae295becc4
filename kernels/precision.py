"""Which precision a device really computes a recipe in, and the autocast for it.

A recipe asks for ``"fp32"`` or ``"bf16"``. ``"bf16"`` means bf16 autocast: fp32
master weights and optimizer state, matrix products (linear, attention) in bf16
with fp32 accumulation, LayerNorm, softmax-with-loss and the residual stream in
fp32. It pays only where the hardware multiplies bf16 natively: a GPU with bf16
tensor cores, or a CPU with bf16 dot-product instructions (x86 AVX512_BF16 or
AMX-BF16, Arm BF16). There, matrix products run several times faster than in
fp32 (on the 2-core Zen 5 of our CI machines a 2048x384x1536 product runs at
~870 GFLOP/s in bf16 against ~160-200 in fp32). On a CPU without those
instructions oneDNN emulates bf16 and it is slower than fp32, and its numbers are
neither the native bf16 ones nor fp32's: the platform never runs a bf16 recipe
there (kernels.numerics refuses the job; a recipe's precision is part of its
identity).

The CPU decision reads the flags the kernel reports (``/proc/cpuinfo``), never a
timing, so the same hardware always makes the same choice; the run records the
precision it used next to its scores.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads lazily: the job launcher reads the flags without it
    import torch

__all__ = [
    "BF16",
    "BF16_CPU_FLAGS",
    "FP32",
    "PRECISIONS",
    "autocast",
    "cpu_flags",
    "flags_have_native_bf16",
    "native_bf16",
    "resolve",
]

FP32 = "fp32"
BF16 = "bf16"
PRECISIONS = (FP32, BF16)

BF16_CPU_FLAGS = frozenset({"avx512_bf16", "amx_bf16", "bf16"})
"""``/proc/cpuinfo`` names of native bf16 arithmetic: x86 ``flags`` (AVX512_BF16,
AMX-BF16) and the arm64 ``Features`` entry ``bf16``."""

CPUINFO = Path("/proc/cpuinfo")


def cpu_flags(cpuinfo: Path = CPUINFO) -> frozenset[str]:
    """The feature flags of the first CPU listed in ``cpuinfo`` (x86 ``flags`` or
    arm64 ``Features``); empty where the file is missing (not Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def flags_have_native_bf16(flags: Iterable[str]) -> bool:
    """Whether a CPU with these feature flags multiplies bf16 natively."""
    return not BF16_CPU_FLAGS.isdisjoint(flags)


@functools.cache
def _cpu_native_bf16() -> bool:
    import torch

    return torch.backends.mkldnn.is_available() and flags_have_native_bf16(cpu_flags())


def native_bf16(device: torch.device) -> bool:
    """True where bf16 matrix products run natively on ``device`` (so faster than
    fp32): a CUDA device with bf16 support (no emulation), or a CPU with the
    flags in :data:`BF16_CPU_FLAGS` and oneDNN available to use them."""
    import torch

    if device.type == "cuda":
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported(
            including_emulation=False
        )
    if device.type == "cpu":
        return _cpu_native_bf16()
    return False


def resolve(requested: str, device: torch.device) -> str:
    """The fastest of ``requested`` and fp32 that ``device`` runs natively: bf16
    only where :func:`native_bf16` holds, fp32 everywhere else.

    For the benchmarks, which time what a machine can do; a platform run never
    swaps precisions (kernels.numerics.establish refuses a bf16 job instead).
    """
    if requested not in PRECISIONS:
        raise ValueError(f"precision {requested!r} is not one of {PRECISIONS}")
    if requested == BF16 and native_bf16(device):
        return BF16
    return FP32


def autocast(
    precision: str, device: torch.device
) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast on ``device`` when ``precision`` (already resolved) is bf16;
    otherwise nothing, so fp32 runs see no autocast at all."""
    if precision == BF16:
        import torch

        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()
