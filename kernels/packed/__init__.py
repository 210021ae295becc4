"""Padding-free (packed) execution of encoder sequence classifiers.

A padded batch of ``n`` rows of longest length ``L`` computes ``n * L`` tokens in
every projection, feed-forward and LayerNorm, however short most rows are. Here the
real tokens of a batch are laid end to end (:mod:`kernels.packed.batch`: one
``[total_tokens, hidden]`` tensor, position ids restarting at 0 for each row,
token types per row), every per-token module runs on that tensor, and attention is
computed per row with :func:`torch.nn.functional.scaled_dot_product_attention`:
rows of equal length sit next to each other in the pack, so each run of equal
lengths is a free ``view`` as ``[rows, length, heads, head_dim]`` and costs one
SDPA call with no pads. A pooled classifier (mean, max, ... pooling declared by a
sentence-transformers checkpoint) pools each run of equal-length rows with one
reduction.

Families, one module each, each reusing the model's own modules (so weights,
dropout and autograd are the model's; only attention is recomputed):

- :mod:`kernels.packed.bert`: BERT's layout (BERT, RoBERTa, XLM-R, CamemBERT,
  ELECTRA);
- :mod:`kernels.packed.modernbert`: ModernBERT (rotary positions, local and
  global layers).

:func:`padded_logits` is the plain reference (the Hugging Face forward on a padded
batch) and the tests hold each family to float tolerance against it, for logits
and for gradients. Models outside these families (:func:`supports_packed` is
False: DeBERTa's relative attention, DistilBERT, ALBERT, MPNet, decoders, look-
alikes without the modules) run the padded path on length-bucketed batches;
:func:`forward_logits` picks the path and says which ran.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from kernels.packed import bert, modernbert
from kernels.packed.batch import (
    POOLING_MODES,
    PackedBatch,
    pack,
    pad,
    pool_packed,
)

__all__ = [
    "PACKED_MODEL_TYPES",
    "PACKED_PATH",
    "PADDED_PATH",
    "POOLING_MODES",
    "PackedBatch",
    "forward_logits",
    "has_adapters",
    "pack",
    "pad",
    "packed_logits",
    "pool_packed",
    "padded_logits",
    "sequence_loss",
    "supports_packed",
]

PACKED_PATH = "packed_sdpa"
PADDED_PATH = "padded"

_FAMILIES = (bert, modernbert)

PACKED_MODEL_TYPES = frozenset(bert.HEADS) | modernbert.MODEL_TYPES
"""Model types the packed path computes (each family also checks the modules it
reads, so a look-alike falls back cleanly)."""


def _family(model: torch.nn.Module):
    return next((f for f in _FAMILIES if f.supports(model)), None)


def supports_packed(model: torch.nn.Module) -> bool:
    """True when ``model`` is a sequence classifier of a packed family that the
    packed path computes exactly; anything else (other families, decoders,
    cross-attention, relative positions, missing modules) takes the padded path.

    A model with adapters (LoRA: modules holding ``lora_A``) takes it only in a
    family that calls its projections' own forward: one that reads their weights
    directly (``READS_WEIGHTS``: BERT's fused QKV) would skip the adapters."""
    family = _family(model)
    if family is None:
        return False
    return not (family.READS_WEIGHTS and has_adapters(model))


def has_adapters(model: torch.nn.Module) -> bool:
    """Whether any module of ``model`` carries LoRA adapters (peft's ``lora_A``)."""
    return any(hasattr(module, "lora_A") for module in model.modules())


def packed_logits(model: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """Logits in pack order (row ``k`` is batch row ``batch.rows[k]``)."""
    family = _family(model)
    if family is None:
        raise ValueError(f"{type(model).__name__} has no packed forward")
    return family.packed_logits(model, batch)


def padded_logits(
    model: torch.nn.Module, batch: dict[str, torch.Tensor]
) -> torch.Tensor:
    """The reference: the model's own forward on a padded batch."""
    return model(**batch).logits


def sequence_loss(model: torch.nn.Module, logits: torch.Tensor, labels: torch.Tensor):
    """The loss ``*ForSequenceClassification`` computes for these logits:
    MSE for regression, BCE with logits for multi-label (multi-hot ``labels``),
    cross-entropy otherwise."""
    if getattr(model.config, "problem_type", None) == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    if model.config.num_labels == 1:
        return F.mse_loss(logits.squeeze(), labels.squeeze().to(logits.dtype))
    return F.cross_entropy(logits.view(-1, model.config.num_labels), labels.view(-1))


def forward_logits(
    model: torch.nn.Module,
    encodings: Sequence[dict[str, list[int]]],
    *,
    pad_id: int,
    padding_side: str = "right",
    device: torch.device | str = "cpu",
    packed: bool | None = None,
) -> tuple[torch.Tensor, str]:
    """Logits for ``encodings`` in their given order, and which path computed them.

    ``packed=None`` takes the packed path when :func:`supports_packed` allows it.
    """
    if packed is None:
        packed = supports_packed(model)
    if packed:
        batch = pack(encodings).to(device)
        logits = packed_logits(model, batch)
        if batch.rows != sorted(batch.rows):
            inverse = torch.empty(len(batch.rows), dtype=torch.long)
            inverse[torch.tensor(batch.rows)] = torch.arange(len(batch.rows))
            logits = logits[inverse.to(logits.device)]
        return logits, PACKED_PATH
    batch = {k: v.to(device) for k, v in pad(encodings, pad_id, padding_side).items()}
    return padded_logits(model, batch), PADDED_PATH
