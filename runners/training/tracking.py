"""A job's running state: where it is, what it computes in, what it has used.

The :class:`Tracker` travels through loading, training, prediction and the
measurement passes, so an out-of-memory failure can say where it happened and the
measurements can say how the run computed. Progress lines and seeding live here
too: they are the job's side effects that are neither training nor prediction.
"""

from __future__ import annotations

import contextlib
import random
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from kernels import precision
from kernels.accounting import PaddingCounter
from kernels.numerics import Numerics
from runners.contract import OUT_OF_MEMORY_CODE, format_progress
from runners.distributed import SINGLE, Parallel
from tasks.errors import PlatformError

_CPU_OOM_MARKERS = ("can't allocate memory", "not enough memory")


@dataclass
class Tracker:
    """Where the job is (so an out-of-memory error can name the batch and its
    size), the precision the forward passes use, and the last training loss
    (reported in the measurements).

    ``precision`` is the precision actually used: ``"bf16"`` (bf16 autocast on a
    device that multiplies bf16 natively) or ``"fp32"``, and ``numerics`` the
    profile it computes in (kernels.numerics; set by execute).
    """

    device: torch.device
    stage: str = "load"
    batch: int = 0
    batch_size: int | None = None
    precision: str = "fp32"
    final_train_loss: float | None = None
    # Which forward ran (kernels.packed: "packed_sdpa" or "padded") and the
    # tokens it computed against the real ones, for the measurements.
    execution_path: str | None = None
    padding: PaddingCounter = field(default_factory=PaddingCounter)
    numerics: Numerics | None = None
    # Wall seconds per stage of the job (load, encode, train, predict, ...), so
    # an evaluation can show where its time went.
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # How the run is laid out over processes (runners.distributed); one by default.
    parallel: Parallel = SINGLE

    @contextlib.contextmanager
    def timed(self, stage: str) -> Iterator[None]:
        """Add the wall time of the block to ``stage_seconds[stage]``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + elapsed


def kernel_measurements(tracker: Tracker) -> dict[str, Any]:
    """``execution_path`` and ``padding_waste`` (computed / real tokens) of the run."""
    return {
        "execution_path": tracker.execution_path,
        "padding_waste": tracker.padding.waste,
    }


def autocast(tracker: Tracker) -> contextlib.AbstractContextManager[Any]:
    """bf16 autocast when the job runs in bf16 (on a GPU or a CPU with native
    bf16, see kernels.precision), else nothing (fp32)."""
    return precision.autocast(tracker.precision, tracker.device)


def is_out_of_memory(exc: BaseException) -> bool:
    """True for CUDA OOM, Python MemoryError and torch's CPU allocator failure.

    Under an address-space rlimit torch's CPU allocator raises a plain
    RuntimeError, so its message is the only way to tell it apart.
    """
    if isinstance(exc, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and any(m in text for m in _CPU_OOM_MARKERS)


def peak_memory_bytes(device: torch.device) -> int:
    """Peak memory of this job: CUDA allocations on a GPU, else the process's RSS."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    # Linux reports ru_maxrss in KiB.
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def out_of_memory_error(tracker: Tracker) -> PlatformError:
    """The error reported when a batch does not fit in memory."""
    peak = peak_memory_bytes(tracker.device) / 2**30
    if tracker.stage == "load":
        where = "while loading the model"
    else:
        where = f"at batch {tracker.batch} of {tracker.stage}"
        if tracker.batch_size:
            where += f", batch size {tracker.batch_size}"
    return PlatformError(
        OUT_OF_MEMORY_CODE, f"out of memory {where} (peak {peak:.2f} GiB)"
    )


def emit_progress(**fields: Any) -> None:
    """Print one progress line the worker turns into live status."""
    print(format_progress(**fields), flush=True)


def seed_everything(seed: int) -> None:
    """Seed every generator a run touches, so a (spec, seed) pair is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
