"""BERT's layout, packed: BERT, RoBERTa, XLM-R, CamemBERT and ELECTRA.

These families share one encoder: absolute position embeddings, token types,
post-LayerNorm layers whose self-attention has separate query, key and value
projections. They differ only at the ends:

- RoBERTa, XLM-R and CamemBERT count positions from ``pad_token_id + 1`` (the
  padded forward derives them from the ids; packed rows have no pad, so the
  offset is added to each row's 0-based positions);
- ELECTRA's embeddings may be narrower than its layers (``embeddings_project``);
- BERT's classifier reads its tanh pooler over the first token; the others'
  classification heads read the first token's state themselves
  (``features[:, 0]``), so they are given the first tokens as a length-1 batch.

Every per-token module is the model's own (embeddings, output dense and
LayerNorm, intermediate, heads), so weights, dropout and autograd are the
model's; only attention is recomputed, with Q/K/V fused into one product and
one SDPA call per run of equal-length rows (no mask, no pad).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels.packed.batch import POOLING_MODES, PackedBatch, pool_packed

READS_WEIGHTS = True
"""The attention reads the query/key/value weights directly (one fused matmul), so
adapters on those projections would be skipped: adapted models take another path."""

HEADS = {
    "bert": "pooler",
    "roberta": "first_token",
    "xlm-roberta": "first_token",
    "camembert": "first_token",
    "electra": "first_token",
}
"""Model types with BERT's encoder layout, and how their classifier reads it."""

OFFSET_POSITIONS = frozenset({"roberta", "xlm-roberta", "camembert"})
"""Families whose positions start after the pad id (fairseq's convention)."""

_EMBEDDINGS = (
    "embeddings.word_embeddings",
    "embeddings.position_embeddings",
    "embeddings.token_type_embeddings",
    "embeddings.LayerNorm",
    "encoder.layer",
)
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


def has(module: torch.nn.Module, dotted: str) -> bool:
    """Whether ``module`` has the submodule (or attribute) ``dotted``."""
    for name in dotted.split("."):
        module = getattr(module, name, None)
        if module is None:
            return False
    return True


def encoder_of(model: torch.nn.Module) -> torch.nn.Module | None:
    """The base encoder of a classifier: a pooled classifier's ``encoder``, else
    the model's base model (``bert``, ``roberta``, ``electra``, ...)."""
    if getattr(model, "pooling", None) in POOLING_MODES:
        return getattr(model, "encoder", None)
    prefix = getattr(model, "base_model_prefix", None)
    return getattr(model, prefix, None) if prefix else None


def supports(model: torch.nn.Module) -> bool:
    """True when ``model`` is a classifier over one of these encoders, with the
    modules the packed forward reads; anything else takes another path."""
    encoder = encoder_of(model)
    config = getattr(encoder, "config", None)
    model_type = getattr(config, "model_type", None)
    if model_type not in HEADS:
        return False
    if getattr(config, "is_decoder", False) or getattr(
        config, "add_cross_attention", False
    ):
        return False
    if getattr(config, "position_embedding_type", "absolute") != "absolute":
        return False
    if not all(has(encoder, name) for name in _EMBEDDINGS):
        return False
    if getattr(model, "pooling", None) in POOLING_MODES:
        head = ("dropout", "head")
    elif HEADS[model_type] == "pooler":
        head = ("dropout", "classifier")
        if not has(encoder, "pooler.dense"):
            return False
    else:
        head = ("classifier.dense", "classifier.out_proj")
    if not all(has(model, name) for name in head):
        return False
    return all(
        all(has(layer, name) for name in _LAYER_MODULES)
        and getattr(layer, "crossattention", None) is None
        for layer in encoder.encoder.layer
    )


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
    outputs = []
    for chunk, length in batch.run_views(qkv):
        count = chunk.shape[0]
        # [rows, length, 3 * width] -> 3 x [rows, heads, length, head_dim]
        q, k, v = chunk.view(count, length, 3, heads, head_dim).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(q, k, v, dropout_p=dropout, scale=scale)
        outputs.append(out.transpose(1, 2).reshape(count * length, width))
    return outputs[0] if len(outputs) == 1 else torch.cat(outputs)


def packed_hidden(encoder: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """The encoder's last hidden states of every real token, in pack order."""
    positions = batch.position_ids
    if encoder.config.model_type in OFFSET_POSITIONS:
        positions = positions + (encoder.embeddings.padding_idx + 1)
    hidden = encoder.embeddings(
        input_ids=batch.input_ids[None],
        token_type_ids=batch.token_type_ids[None],
        position_ids=positions[None],
    )[0]
    project = getattr(encoder, "embeddings_project", None)
    if project is not None:
        hidden = project(hidden)
    for layer in encoder.encoder.layer:
        context = _attention(layer, hidden, batch)
        hidden = layer.attention.output(context, hidden)
        hidden = layer.output(layer.intermediate(hidden), hidden)
    return hidden


def packed_logits(model: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """Logits in pack order: through BERT's pooler and classifier, a first-token
    classification head (RoBERTa, ELECTRA, ...), or a pooled classifier's
    pooling and head."""
    encoder = encoder_of(model)
    hidden = packed_hidden(encoder, batch)
    if getattr(model, "pooling", None) in POOLING_MODES:
        pooled = pool_packed(hidden, batch, model.pooling)
        return model.head(model.dropout(pooled))
    first = hidden[batch.starts]
    if HEADS[encoder.config.model_type] == "pooler":
        pooled = encoder.pooler.activation(encoder.pooler.dense(first))
        return model.classifier(model.dropout(pooled))
    # The head takes features[:, 0]: the first tokens as length-1 rows.
    return model.classifier(first[:, None])
