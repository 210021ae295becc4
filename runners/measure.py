"""Efficiency and reproducibility figures, measured on every run (never looked up).

Part of the in-sandbox program (``runners.execute``), so the same import rule
applies: stdlib, numpy, torch, transformers, tokenizers, safetensors, psutil
and ``tasks.errors`` only; ``pynvml`` (package ``nvidia-ml-py``) is imported
lazily and every figure that needs it is ``None`` without it. How each figure
is taken is written into ``measurements.json`` as ``measurement_method``
(``METHODS`` below), so a number on a leaderboard carries its own definition.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from typing import Any

import numpy as np
import torch
from torch.utils import flop_counter
from transformers import PreTrainedModel

from runners import training
from runners.training import Encoding, Tracker

LATENCY_ROWS = 64
"""Rows of the first predicted split timed one at a time for the latency figures."""

INVARIANCE_ROWS = LATENCY_ROWS
"""Rows re-predicted one at a time to check batch-size invariance: the first rows
of the predicted splits, in spec order. The same single-row passes that time the
latency, so the check costs nothing more (it was 256 rows, a quarter of a short
job's wall time on a CPU)."""

REGRESSION_TOLERANCE = 1e-4
"""Largest output change between batch sizes a regression run may show."""

CUBLAS_WORKSPACE_CONFIG = ":4096:8"
"""What deterministic cuBLAS needs; must be in the environment before CUDA starts."""

MEASURE_PARTS = ("flops", "latency and batch invariance")

METHODS: dict[str, str] = {
    "params": "sum of numel over model.parameters() after loading (head included)",
    "trainable_params": (
        "the same, only parameters with requires_grad once the recipe's method "
        "is applied (runners.training.methods: LoRA's adapters count)"
    ),
    "flops_per_example": (
        "forward FLOPs counted by torch.utils.flop_counter.FlopCounterMode (matmul "
        "2*M*N*K, attention included) on one real batch (the first eval_batch_size "
        "rows of the first predicted split, padded as in prediction), divided by "
        "its rows; training costs about 3x forward FLOPs per example"
    ),
    "train_seconds": "wall time of the training loop, CUDA synchronised at the end",
    "train_examples_per_s": "train_examples / train_seconds",
    "infer_examples_per_s": (
        "rows predicted / wall time of prediction at the recipe's eval_batch_size, "
        "every predicted split, timed after one untimed warm-up batch"
    ),
    "infer_tokens_per_s": (
        "real (non-pad, attention_mask) tokens predicted / the same wall time"
    ),
    "latency_ms": (
        f"p50 and p95 of the wall time of one batch-size-1 prediction (collate, "
        f"copy to device, forward, logits back on the host; tokenizing excluded) "
        f"over the first {LATENCY_ROWS} rows of the first predicted split, after "
        f"one untimed warm-up row"
    ),
    "peak_memory_bytes": (
        "torch.cuda.max_memory_allocated on GPU; peak resident set size of the "
        "process (getrusage ru_maxrss) on CPU"
    ),
    "energy_j": (
        "NVML total energy counter of the GPU board (nvmlDeviceGetTotalEnergy"
        "Consumption) from before training to the end of prediction; whole "
        "board, idle draw included; null on CPU or without NVML"
    ),
    "batch_invariance": (
        f"the first {INVARIANCE_ROWS} predicted rows (splits in spec order) "
        f"predicted again one row at a time and compared with their logits at "
        f"eval_batch_size: classification must keep every argmax (multi-label: "
        f"every predicted class set), regression must stay within "
        f"{REGRESSION_TOLERANCE}"
    ),
    "truncated_rows": (
        "rows (train and predicted, per split) longer than the tokens a row may "
        "keep, min(recipe max_length, model_max_length), and so cut; a task "
        "vocabulary keeps [CLS] plus max_length symbols per text"
    ),
    "model_max_length": (
        "the longest row the model takes: min of the tokenizer's model_max_length "
        "and the position table (max_position_embeddings, less RoBERTa's offset); "
        "null when neither limits it"
    ),
    "pooling": (
        "which vector the classifier reads: the pooling a sentence-transformers "
        "checkpoint declares (modules.json and its Pooling config), else the "
        "architecture's own classification head; head 'checkpoint' when its "
        "weights were in the folder, 'new' when initialised for the task"
    ),
    "stage_seconds": (
        "wall seconds of each stage inside the sandbox: start (process start to "
        "reading the spec), imports, numerics (pins and canary), load, encode "
        "(tokenizing train and predicted rows), train, predict, measure (FLOP "
        "count, latency at batch 1, batch invariance)"
    ),
    "process_seconds": "wall seconds from the process's start to the end of the job",
}


def configure_determinism(seed: int, device: torch.device) -> dict[str, Any]:
    """Seed everything and ask torch for deterministic kernels; returns the settings.

    ``warn_only`` keeps an op without a deterministic kernel running (with a
    warning) instead of failing a submission over it. Filling uninitialized
    memory (a guard against kernels that read memory they never wrote, which
    the standard ones do not) is turned off: it costs ~20% of a CPU step.
    """
    training.seed_everything(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.utils.deterministic.fill_uninitialized_memory = False
    settings: dict[str, Any] = {
        "seed": seed,
        "deterministic_algorithms": True,
        "warn_only": True,
        "fill_uninitialized_memory": False,
        "cudnn_deterministic": None,
        "cudnn_benchmark": None,
        "tf32": None,
        "cublas_workspace_config": None,
    }
    if device.type == "cuda":
        if not torch.cuda.is_initialized():
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        if hasattr(torch.backends.cuda.matmul, "fp32_precision"):
            torch.backends.cuda.matmul.fp32_precision = "ieee"  # no TF32
            torch.backends.cudnn.fp32_precision = "ieee"
        else:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        settings.update(
            cudnn_deterministic=True,
            cudnn_benchmark=False,
            tf32=False,
            cublas_workspace_config=os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        )
    return settings


def attention_implementation(model: PreTrainedModel) -> str | None:
    """The attention kernel transformers chose ("sdpa", "eager", ...)."""
    return getattr(model.config, "_attn_implementation", None)


def parameter_counts(model: torch.nn.Module) -> tuple[int, int]:
    """(all parameters, trainable parameters)."""
    params = list(model.parameters())
    return (
        sum(p.numel() for p in params),
        sum(p.numel() for p in params if p.requires_grad),
    )


def _cpu_sdpa_flops(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    # FlopCounterMode has no formula for the CPU flash kernel; it is the same maths.
    return flop_counter.sdpa_flop_count(query, key, value)


def _custom_flop_formulas() -> dict[Any, Any]:
    cpu_sdpa = torch.ops.aten._scaled_dot_product_flash_attention_for_cpu
    return {cpu_sdpa: _cpu_sdpa_flops}


@contextlib.contextmanager
def _unaccounted(tracker: Tracker) -> Iterator[None]:
    """Keep measurement passes out of the run's padding accounting and out of
    the execution path it reports (those describe the real prediction)."""
    padding, path = tracker.padding, tracker.execution_path
    tracker.padding = type(padding)()
    try:
        yield
    finally:
        tracker.padding, tracker.execution_path = padding, path


def warm_up_and_count_flops(
    model: PreTrainedModel,
    encodings: Sequence[Encoding],
    *,
    batch_size: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
    predict: Callable[..., tuple[torch.Tensor, int]] | None = None,
    forward: Callable[..., torch.Tensor] | None = None,
) -> float | None:
    """Run one untimed warm-up batch, then count forward FLOPs per example on it.

    ``predict`` and ``forward`` default to the sequence classifier's
    (``runners.training``); a token task passes its own
    (``runners.training.tokens``)."""
    if not encodings:
        return None
    predict = predict or training.predict_logits
    forward = forward or training.forward
    tracker.stage = "measure"
    rows = list(encodings[:batch_size])
    kwargs = {"pad_id": pad_id, "padding_side": padding_side, "tracker": tracker}
    counter = flop_counter.FlopCounterMode(
        display=False, custom_mapping=_custom_flop_formulas()
    )
    with _unaccounted(tracker):
        predict(model, rows, batch_size=batch_size, **kwargs)
        model.eval()
        # no_grad, not inference_mode: the counter's module tracker hooks every
        # module input that requires grad, and a parameter passed to a module as
        # an input (DeBERTa's relative embeddings into their LayerNorm) has no
        # autograd node under inference_mode, which crashes the hook.
        with torch.no_grad(), counter:
            forward(model, rows, **kwargs)
    flops = counter.get_total_flops() / len(rows)
    training.emit_progress(
        stage="measure",
        part=MEASURE_PARTS[0],
        step=1,
        total_steps=len(MEASURE_PARTS),
        loss=None,
        examples_per_s=None,
    )
    return flops


def latency_and_invariance(
    model: PreTrainedModel,
    encodings: Sequence[Encoding],
    reference: torch.Tensor,
    *,
    latency_rows: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
    predict: Callable[..., tuple[torch.Tensor, int]] | None = None,
) -> dict[str, Any]:
    """Predict ``encodings`` one row at a time: time the first ``latency_rows``
    and compare every row with ``reference`` (its logits at eval_batch_size).

    ``predict`` defaults to ``runners.training.predict_logits``; whatever it
    returns for one row is concatenated and compared with ``reference`` (a
    token task's: the row's word logits)."""
    predict = predict or training.predict_logits
    empty = {
        "latency_p50_ms": None,
        "latency_p95_ms": None,
        "latency_examples": 0,
        "batch_invariant": None,
        "batch_invariance": {
            "rows_checked": 0,
            "max_abs_diff": None,
            "argmax_agree": None,
        },
    }
    if not encodings:
        return empty
    tracker.stage = "measure"
    kwargs = {"pad_id": pad_id, "padding_side": padding_side, "tracker": tracker}
    single, times_ms = [], []
    with _unaccounted(tracker):
        predict(model, [encodings[0]], batch_size=1, **kwargs)
        start = time.perf_counter()
        for number, encoding in enumerate(encodings):
            began = time.perf_counter()
            logits, _ = predict(model, [encoding], batch_size=1, **kwargs)
            if number < latency_rows:
                times_ms.append((time.perf_counter() - began) * 1000)
            single.append(logits)
        seconds = time.perf_counter() - start
    alone = torch.cat(single)
    diff = float((alone - reference).abs().max())
    if training.is_multi_label(model):
        # A multi-label prediction is the set of classes with a positive logit.
        agree = bool(torch.equal(alone > 0, reference > 0))
        invariant = agree
    elif reference.shape[1] == 1:
        agree, invariant = None, diff <= REGRESSION_TOLERANCE
    else:
        agree = bool(torch.equal(alone.argmax(-1), reference.argmax(-1)))
        invariant = agree
    training.emit_progress(
        stage="measure",
        part=MEASURE_PARTS[1],
        step=2,
        total_steps=len(MEASURE_PARTS),
        loss=None,
        examples_per_s=round(len(encodings) / max(seconds, 1e-9), 2),
    )
    return {
        "latency_p50_ms": float(np.percentile(times_ms, 50)) if times_ms else None,
        "latency_p95_ms": float(np.percentile(times_ms, 95)) if times_ms else None,
        "latency_examples": len(times_ms),
        "batch_invariant": invariant,
        "batch_invariance": {
            "rows_checked": len(encodings),
            "max_abs_diff": diff,
            "argmax_agree": agree,
        },
    }


def _nvml() -> Any | None:
    """pynvml, initialised, or None where NVML (or the package) is missing."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # no package, no driver, no GPU: the figure is just absent
        return None
    return pynvml


def _nvml_handle(nvml: Any, device: torch.device) -> Any | None:
    """The NVML handle of a torch device, found by PCI bus id (so a remapped
    CUDA_VISIBLE_DEVICES still finds the right board), else by index."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    try:
        props = torch.cuda.get_device_properties(index)
        domain, bus, slot = props.pci_domain_id, props.pci_bus_id, props.pci_device_id
        return nvml.nvmlDeviceGetHandleByPciBusId_v2(
            f"{domain:08x}:{bus:02x}:{slot:02x}.0"
        )
    except Exception:
        pass
    try:
        return nvml.nvmlDeviceGetHandleByIndex(index)
    except Exception:
        return None


class EnergyMeter:
    """GPU board energy between ``__init__`` and ``stop()``, in joules (or None)."""

    def __init__(self, device: torch.device) -> None:
        self._handle = self._start_mj = None
        if device.type != "cuda":
            return
        nvml = _nvml()
        if nvml is None:
            return
        handle = _nvml_handle(nvml, device)
        try:
            self._start_mj = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            self._nvml, self._handle = nvml, handle
        except Exception:  # boards before Volta have no energy counter
            self._start_mj = None

    def stop(self) -> float | None:
        if self._handle is None or self._start_mj is None:
            return None
        try:
            end_mj = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
        except Exception:
            return None
        return (end_mj - self._start_mj) / 1000.0


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def hardware(device: torch.device) -> dict[str, Any]:
    """What the job ran on, so efficiency figures are compared fairly."""
    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "gpu": None,
        "gpu_memory_bytes": None,
        "gpu_capability": None,
        "driver": None,
        "cuda": None,
        "cudnn": None,
    }
    if device.type != "cuda":
        return info
    props = torch.cuda.get_device_properties(device)
    info.update(
        gpu=props.name,
        gpu_memory_bytes=int(props.total_memory),
        gpu_capability=f"{props.major}.{props.minor}",
        cuda=torch.version.cuda,
        cudnn=torch.backends.cudnn.version(),
    )
    nvml = _nvml()
    if nvml is not None:
        try:
            driver = nvml.nvmlSystemGetDriverVersion()
            info["driver"] = driver.decode() if isinstance(driver, bytes) else driver
        except Exception:
            pass
    return info


def versions() -> dict[str, str | None]:
    """Library versions that can change scores, for the reproducibility manifest."""
    found: dict[str, str | None] = {"python": platform.python_version()}
    for name in ("torch", "transformers", "tokenizers", "numpy", "peft"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    found["torch"] = torch.__version__  # includes the build tag (+cpu, +cu128)
    return found
