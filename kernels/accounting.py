"""What a batching plan costs: padding waste, encoder FLOPs and model FLOPs use.

* padding waste = tokens computed / real tokens (1.0 means nothing is padded);
* FLOPs: the usual matmul count for a post-LN encoder, per token, with the
  attention term depending on the row's length;
* MFU = achieved FLOP/s / the device's peak, for GPUs in :data:`PEAK_FLOPS`;
  ``None`` on CPU or an unknown GPU (a made-up peak would mislead).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "PEAK_FLOPS",
    "PaddingCounter",
    "encoder_flops",
    "encoder_flops_per_token",
    "mfu",
    "padding_waste",
    "peak_flops",
]

# Dense peak FLOP/s per precision (vendor datasheets, no sparsity). fp32 is the
# plain (non-TF32) rate; tf32/bf16/fp16 are tensor-core rates.
PEAK_FLOPS: dict[str, dict[str, float]] = {
    "H200": {"fp32": 67e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "H100 SXM": {"fp32": 67e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "H100 PCIe": {"fp32": 51e12, "tf32": 378e12, "bf16": 756e12, "fp16": 756e12},
    "H100 NVL": {"fp32": 60e12, "tf32": 417.5e12, "bf16": 835e12, "fp16": 835e12},
    "H100": {"fp32": 67e12, "tf32": 494.7e12, "bf16": 989.4e12, "fp16": 989.4e12},
    "A100": {"fp32": 19.5e12, "tf32": 156e12, "bf16": 312e12, "fp16": 312e12},
    "L40S": {"fp32": 91.6e12, "tf32": 183e12, "bf16": 362e12, "fp16": 362e12},
    "L4": {"fp32": 30.3e12, "tf32": 60e12, "bf16": 121e12, "fp16": 121e12},
    "A10G": {"fp32": 31.2e12, "tf32": 62.5e12, "bf16": 125e12, "fp16": 125e12},
    "A10": {"fp32": 31.2e12, "tf32": 62.5e12, "bf16": 125e12, "fp16": 125e12},
    "V100": {"fp32": 15.7e12, "tf32": 15.7e12, "bf16": 15.7e12, "fp16": 125e12},
    "T4": {"fp32": 8.1e12, "tf32": 8.1e12, "bf16": 8.1e12, "fp16": 65e12},
}


def padding_waste(
    lengths: Sequence[int],
    batches: Iterable[Sequence[int]],
    *,
    packed: bool = False,
    pad_to: int | None = None,
) -> float:
    """Computed tokens / real tokens for a plan (lists of row indices).

    Padded batches compute rows x longest row (or rows x ``pad_to`` when every
    batch is padded to a fixed length); a packed plan computes only real tokens.
    """
    real = computed = 0
    for batch in batches:
        sizes = [lengths[i] for i in batch]
        real += sum(sizes)
        if packed:
            computed += sum(sizes)
        elif pad_to is not None:
            computed += len(sizes) * max(pad_to, max(sizes, default=0))
        else:
            computed += len(sizes) * max(sizes, default=0)
    return computed / real if real else 1.0


class PaddingCounter:
    """Running real and computed token counts, for a run's measurements."""

    def __init__(self) -> None:
        self.real = 0
        self.computed = 0

    def add(self, lengths: Sequence[int], *, packed: bool) -> None:
        self.real += sum(lengths)
        self.computed += sum(lengths) if packed else len(lengths) * max(lengths)

    @property
    def waste(self) -> float | None:
        return self.computed / self.real if self.real else None


def _config_value(config: Any, *names: str) -> int:
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    raise ValueError(f"config has none of {names}")


def encoder_flops_per_token(
    config: Any, seq_len: int, *, training: bool = False
) -> float:
    """FLOPs per token of a post-LN encoder forward (x3 with the backward pass).

    Per layer and token: Q, K, V and output projections ``2 * 4 * h^2``, the
    feed-forward ``2 * 2 * h * i``, and attention scores plus weighted sum
    ``2 * 2 * seq_len * h``. Embedding look-ups, norms, softmax and the head are
    left out (they are a few percent at most).
    """
    hidden = _config_value(config, "hidden_size", "dim", "n_embd")
    layers = _config_value(config, "num_hidden_layers", "n_layers", "n_layer")
    inner = getattr(config, "intermediate_size", None) or getattr(
        config, "hidden_dim", None
    )
    inner = int(inner) if inner else 4 * hidden
    per_layer = 8 * hidden * hidden + 4 * hidden * inner + 4 * seq_len * hidden
    return layers * per_layer * (3.0 if training else 1.0)


def encoder_flops(
    config: Any, lengths: Iterable[int], *, training: bool = False
) -> float:
    """FLOPs of encoding rows of these lengths (each attends only within itself)."""
    return sum(
        n * encoder_flops_per_token(config, n, training=training) for n in lengths
    )


def peak_flops(device_name: str | None, precision: str = "fp32") -> float | None:
    """Peak FLOP/s of a known GPU by its CUDA name, else None (CPU, unknown)."""
    if not device_name:
        return None
    name = device_name.upper()
    for key in sorted(PEAK_FLOPS, key=len, reverse=True):
        if key.upper() in name:
            rates = PEAK_FLOPS[key]
            return rates.get(precision, rates["fp32"])
    return None


def mfu(
    flops: float,
    seconds: float,
    device_name: str | None,
    precision: str = "fp32",
) -> float | None:
    """Model FLOPs utilisation: ``flops / seconds / peak``; None without a peak."""
    peak = peak_flops(device_name, precision)
    if peak is None or seconds <= 0:
        return None
    return flops / seconds / peak
