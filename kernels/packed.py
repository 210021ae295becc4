"""Padding-free (packed) execution of BERT-family sequence classifiers.

A padded batch of ``n`` rows of longest length ``L`` computes ``n * L`` tokens in
every projection, feed-forward and LayerNorm, however short most rows are. Here the
real tokens of a batch are laid end to end (``cu_seqlens`` style: one
``[total_tokens, hidden]`` tensor, position ids restarting at 0 for each row,
token types per row), every per-token module runs on that tensor, and attention is
computed per row with :func:`torch.nn.functional.scaled_dot_product_attention`:
rows of equal length sit next to each other in the pack, so each run of equal
lengths is a free ``view`` as ``[rows, length, heads, head_dim]`` and costs one
SDPA call with no mask and no pads. The pooler reads each row's first token
([CLS]) and the classifier head is the model's own; a pooled classifier (mean,
max, ... pooling declared by a sentence-transformers checkpoint) pools each run of
equal-length rows with one reduction.

It reuses the model's own modules (embeddings, output dense + LayerNorm,
intermediate, pooler, classifier), so weights, dropout and autograd are the
model's; only attention is recomputed, with the Q/K/V projections fused into one
matrix product. :func:`padded_logits` is the plain reference (the Hugging Face
forward on a padded batch) and the tests hold the two to float tolerance, for
logits and for gradients.

Models outside the supported layout (:func:`supports_packed` is False) run the
padded path; :func:`forward_logits` picks the path and says which ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "PACKED_MODEL_TYPES",
    "PACKED_PATH",
    "PADDED_PATH",
    "PackedBatch",
    "forward_logits",
    "pack",
    "pad",
    "packed_hidden",
    "packed_logits",
    "pool_packed",
    "padded_logits",
    "sequence_loss",
    "supports_packed",
]

PACKED_PATH = "packed_sdpa"
PADDED_PATH = "padded"

POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len", "lasttoken")
"""Poolings of a pooled classifier (``runners.training.pooling.PooledClassifier``:
an encoder, a ``pooling`` mode, ``dropout`` and a linear ``head``) computed here."""

PACKED_MODEL_TYPES = frozenset({"bert"})
"""Model types whose classifiers have BertForSequenceClassification's layout:
absolute positions from 0, token types, post-LayerNorm layers, a tanh pooler over
the first token. (RoBERTa offsets its positions and has no pooler, so it is not
here.) The module layout is checked as well, so a look-alike falls back cleanly."""

_LAYER_MODULES = (
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "attention.output.LayerNorm",
    "intermediate.dense",
    "output.dense",
    "output.LayerNorm",
)


def _has(module: torch.nn.Module, dotted: str) -> bool:
    for name in dotted.split("."):
        module = getattr(module, name, None)
        if module is None:
            return False
    return True


def supports_packed(model: torch.nn.Module) -> bool:
    """True when ``model`` is a BERT-layout sequence classifier the packed path
    computes exactly; anything else (other families, decoders, cross-attention,
    relative positions, missing modules) takes the padded path."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in PACKED_MODEL_TYPES:
        return False
    if getattr(config, "is_decoder", False) or getattr(
        config, "add_cross_attention", False
    ):
        return False
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return False
    if getattr(config, "problem_type", None) == "multi_label_classification":
        return False
    pooled = getattr(model, "pooling", None) in POOLING_MODES
    encoder = getattr(model, "encoder" if pooled else "bert", None)
    if encoder is None:
        return False
    needed = (
        "embeddings.word_embeddings",
        "embeddings.position_embeddings",
        "embeddings.token_type_embeddings",
        "embeddings.LayerNorm",
        "encoder.layer",
    )
    if not all(_has(encoder, name) for name in needed):
        return False
    head = ("dropout", "head") if pooled else ("dropout", "classifier")
    if not all(_has(model, name) for name in head):
        return False
    if not pooled and not _has(encoder, "pooler.dense"):
        return False
    return all(
        all(_has(layer, name) for name in _LAYER_MODULES)
        and getattr(layer, "crossattention", None) is None
        for layer in encoder.encoder.layer
    )


@dataclass
class PackedBatch:
    """Real tokens of a batch laid end to end, rows grouped by equal length.

    ``rows`` lists the batch positions in pack order (so ``logits[k]`` belongs to
    batch row ``rows[k]``); ``runs`` lists (first row, row count, length) for each
    run of equal-length rows; ``starts`` indexes each row's first token.
    """

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    position_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    starts: torch.Tensor
    rows: list[int]
    runs: list[tuple[int, int, int]]

    @property
    def total_tokens(self) -> int:
        return int(self.input_ids.shape[0])

    def to(self, device: torch.device | str) -> PackedBatch:
        move = {"non_blocking": True}
        return PackedBatch(
            self.input_ids.to(device, **move),
            self.token_type_ids.to(device, **move),
            self.position_ids.to(device, **move),
            self.cu_seqlens.to(device, **move),
            self.starts.to(device, **move),
            self.rows,
            self.runs,
        )


def pack(encodings: Sequence[dict[str, list[int]]]) -> PackedBatch:
    """Pack tokenized rows (``input_ids`` and optional ``token_type_ids``).

    Rows are stably sorted by length, longest first, so equal lengths are
    contiguous; an already sorted batch keeps its order.
    """
    rows = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]["input_ids"]))
    ids: list[int] = []
    types: list[int] = []
    positions: list[int] = []
    cu = [0]
    runs: list[tuple[int, int, int]] = []
    for k, i in enumerate(rows):
        enc = encodings[i]
        length = len(enc["input_ids"])
        if length == 0:
            raise ValueError("cannot pack an empty row")
        ids.extend(enc["input_ids"])
        types.extend(enc.get("token_type_ids") or [0] * length)
        positions.extend(range(length))
        cu.append(cu[-1] + length)
        if runs and runs[-1][2] == length:
            first, count, _ = runs[-1]
            runs[-1] = (first, count + 1, length)
        else:
            runs.append((k, 1, length))
    cu_seqlens = torch.tensor(cu, dtype=torch.int32)
    return PackedBatch(
        input_ids=torch.tensor(ids, dtype=torch.long),
        token_type_ids=torch.tensor(types, dtype=torch.long),
        position_ids=torch.tensor(positions, dtype=torch.long),
        cu_seqlens=cu_seqlens,
        starts=cu_seqlens[:-1].long(),
        rows=rows,
        runs=runs,
    )


def pad(
    encodings: Sequence[dict[str, list[int]]], pad_id: int, padding_side: str = "right"
) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest row (the reference path's input)."""
    width = max(len(e["input_ids"]) for e in encodings)
    fill = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0}
    keys = [k for k in fill if k in encodings[0]]
    if "attention_mask" not in keys:
        keys.append("attention_mask")
    out = {}
    for key in keys:
        tensor = torch.full((len(encodings), width), fill[key], dtype=torch.long)
        for row, enc in enumerate(encodings):
            values = enc.get(key) or [1] * len(enc["input_ids"])
            if padding_side == "left":
                tensor[row, width - len(values) :] = torch.tensor(values)
            else:
                tensor[row, : len(values)] = torch.tensor(values)
        out[key] = tensor
    return out


def _attention(layer: torch.nn.Module, hidden: torch.Tensor, batch: PackedBatch):
    """Self-attention over packed tokens: one fused QKV product, one SDPA per run."""
    attn = layer.attention.self
    heads = attn.num_attention_heads
    head_dim = attn.attention_head_size
    width = heads * head_dim
    weight = torch.cat((attn.query.weight, attn.key.weight, attn.value.weight))
    bias = torch.cat((attn.query.bias, attn.key.bias, attn.value.bias))
    qkv = F.linear(hidden, weight, bias)
    dropout = attn.dropout.p if attn.training else 0.0
    scale = getattr(attn, "scaling", head_dim**-0.5)
    # Token offsets come from the runs (host ints), never from cu_seqlens: on a
    # GPU reading that tensor back would synchronise the device in every layer.
    single = len(batch.runs) == 1
    offset = 0
    outputs = []
    for _, count, length in batch.runs:
        chunk = qkv if single else qkv[offset : offset + count * length]
        offset += count * length
        # [rows * length, 3 * width] -> 3 x [rows, heads, length, head_dim]
        q, k, v = chunk.view(count, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scale)
        outputs.append(out.transpose(1, 2).reshape(count * length, width))
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def packed_hidden(bert: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """The encoder's last hidden states of every real token, in pack order."""
    hidden = bert.embeddings(
        input_ids=batch.input_ids[None],
        token_type_ids=batch.token_type_ids[None],
        position_ids=batch.position_ids[None],
    )[0]
    for layer in bert.encoder.layer:
        context = _attention(layer, hidden, batch)
        hidden = layer.attention.output(context, hidden)
        hidden = layer.output(layer.intermediate(hidden), hidden)
    return hidden


def pool_packed(hidden: torch.Tensor, batch: PackedBatch, mode: str) -> torch.Tensor:
    """One vector per row, in pack order, from packed token states: each run of
    equal-length rows is a free ``[rows, length, hidden]`` view, so a mean or a
    max is one reduction per run with no mask (the padded reference masks pads)."""
    offset = 0
    pooled = []
    for _, count, length in batch.runs:
        rows = hidden[offset : offset + count * length].view(count, length, -1)
        offset += count * length
        if mode == "cls":
            pooled.append(rows[:, 0])
        elif mode == "mean":
            pooled.append(rows.mean(dim=1))
        elif mode == "mean_sqrt_len":
            pooled.append(rows.sum(dim=1) / length**0.5)
        elif mode == "max":
            pooled.append(rows.amax(dim=1))
        elif mode == "lasttoken":
            pooled.append(rows[:, -1])
        else:
            raise ValueError(f"unknown pooling mode {mode!r}")
    return pooled[0] if len(pooled) == 1 else torch.cat(pooled)


def packed_logits(model: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """Logits in pack order (row ``k`` is batch row ``batch.rows[k]``): through
    the BERT pooler and classifier, or a pooled classifier's pooling and head."""
    if getattr(model, "pooling", None) in POOLING_MODES:
        hidden = packed_hidden(model.encoder, batch)
        pooled = pool_packed(hidden, batch, model.pooling)
        return model.head(model.dropout(pooled))
    bert = model.bert
    hidden = packed_hidden(bert, batch)
    pooled = bert.pooler.activation(bert.pooler.dense(hidden[batch.starts]))
    return model.classifier(model.dropout(pooled))


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
