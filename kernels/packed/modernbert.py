"""ModernBERT, packed: rotary positions, alternating global and local attention.

ModernBERT was designed to run unpadded (its authors' code strips pads before the
first layer), but transformers' only padding-free route for it is
flash-attention's variable-length kernel, on a GPU with flash-attn installed; the
SDPA and eager paths attend over a padded batch. This is that design on SDPA,
on any device: the model's own embeddings, norms, fused ``Wqkv``, ``Wo`` and GLU
MLP run on the packed tokens; each row's rotary angles come from its own
0-based positions; attention is one SDPA call per run of equal-length rows, a
local ("sliding") layer with the band mask ``|i - j| <= sliding_window`` of that
length (the same for every row of the run, so no pad and no per-row mask).
The classifier pools the first token or the mean of each row, as
``classifier_pooling`` says, through the model's head, dropout and classifier.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from kernels.packed.batch import POOLING_MODES, PackedBatch, pool_packed
from kernels.packed.bert import encoder_of, has

MODEL_TYPES = frozenset({"modernbert"})
READS_WEIGHTS = False
"""Every projection is called through its module's forward (adapters included)."""

_BASE = ("embeddings.tok_embeddings", "embeddings.norm", "layers", "final_norm")
_LAYER = ("attn_norm", "attn.Wqkv", "attn.Wo", "mlp_norm", "mlp.Wi", "mlp.Wo")


def supports(model: torch.nn.Module) -> bool:
    """True for a ModernBERT sequence classifier (or a pooled classifier over
    a ModernBERT encoder) with the modules read here."""
    encoder = encoder_of(model)
    config = getattr(encoder, "config", None)
    if getattr(config, "model_type", None) not in MODEL_TYPES:
        return False
    if not all(has(encoder, name) for name in _BASE) or not has(encoder, "rotary_emb"):
        return False
    if getattr(model, "pooling", None) in POOLING_MODES:
        head = ("dropout", "head")
    else:
        if getattr(config, "classifier_pooling", "cls") not in ("cls", "mean"):
            return False
        head = ("head", "drop", "classifier")
    if not all(has(model, name) for name in head):
        return False
    return all(all(has(layer, name) for name in _LAYER) for layer in encoder.layers)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotary embedding of ``x`` ``[tokens, heads, head_dim]`` (cos/sin per token)."""
    half = x.shape[-1] // 2
    turned = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return (x.float() * cos + turned.float() * sin).to(x.dtype)


def _band(length: int, window: int, device: torch.device) -> torch.Tensor | None:
    """The local layers' mask for rows of ``length`` tokens (None: no token is
    farther than the window from another, so nothing is masked)."""
    if length <= window + 1:
        return None
    index = torch.arange(length, device=device)
    return (index[:, None] - index[None, :]).abs() <= window


def _attention(
    layer: torch.nn.Module,
    hidden: torch.Tensor,
    batch: PackedBatch,
    angles: tuple[torch.Tensor, torch.Tensor],
    window: int | None,
) -> torch.Tensor:
    attn = layer.attn
    heads = attn.config.num_attention_heads
    head_dim = attn.head_dim
    qkv = attn.Wqkv(hidden).view(-1, 3, heads, head_dim)
    cos, sin = (a[:, None] for a in angles)
    q = _rotate(qkv[:, 0], cos, sin)
    k = _rotate(qkv[:, 1], cos, sin)
    v = qkv[:, 2]
    dropout = attn.attention_dropout if attn.training else 0.0
    outputs = []
    for (qs, length), (ks, _), (vs, _) in zip(
        batch.run_views(q), batch.run_views(k), batch.run_views(v), strict=True
    ):
        mask = None if window is None else _band(length, window, hidden.device)
        out = F.scaled_dot_product_attention(
            qs.transpose(1, 2),
            ks.transpose(1, 2),
            vs.transpose(1, 2),
            attn_mask=mask,
            dropout_p=dropout,
            scale=head_dim**-0.5,
        )
        outputs.append(out.transpose(1, 2).reshape(-1, heads * head_dim))
    context = outputs[0] if len(outputs) == 1 else torch.cat(outputs)
    return attn.out_drop(attn.Wo(context))


def packed_hidden(encoder: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """The encoder's final-normed states of every real token, in pack order."""
    config = encoder.config
    hidden = encoder.embeddings(input_ids=batch.input_ids[None])[0]
    positions = batch.position_ids[None]
    angles = {}
    for kind in set(config.layer_types):
        cos, sin = encoder.rotary_emb(hidden, positions, kind)
        angles[kind] = (cos[0], sin[0])
    for layer in encoder.layers:
        kind = layer.attention_type
        window = config.sliding_window if kind == "sliding_attention" else None
        hidden = hidden + _attention(
            layer, layer.attn_norm(hidden), batch, angles[kind], window
        )
        hidden = hidden + layer.mlp(layer.mlp_norm(hidden))
    return encoder.final_norm(hidden)


def packed_logits(model: torch.nn.Module, batch: PackedBatch) -> torch.Tensor:
    """Logits in pack order, pooled as the classifier (or pooled model) says."""
    hidden = packed_hidden(encoder_of(model), batch)
    if getattr(model, "pooling", None) in POOLING_MODES:
        pooled = pool_packed(hidden, batch, model.pooling)
        return model.head(model.dropout(pooled))
    mode = "mean" if model.config.classifier_pooling == "mean" else "cls"
    pooled = pool_packed(hidden, batch, mode)
    return model.classifier(model.drop(model.head(pooled)))
