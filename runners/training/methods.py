"""Fine-tuning methods: which parameters a run trains (one leaderboard track each).

The recipe's ``method`` (runners.contract.METHODS) is applied to the loaded model
before the optimizer sees it:

- ``full``: every parameter trains (the model is left as loaded);
- ``lora``: the encoder is frozen and low-rank adapters (Hu et al. 2021, through the
  ``peft`` library's ``inject_adapter_in_model``) are added to the attention's query
  and value projections, the modules :data:`LORA_TARGETS` names per architecture
  (BERT-family: ``query``/``value``; DistilBERT ``q_lin``/``v_lin``; MPNet
  ``q``/``v``; DeBERTa-v2 ``query_proj``/``value_proj``; ModernBERT fuses query, key
  and value in ``Wqkv``, so its adapter covers all three). The adapters and the
  new classification head train;
- ``bitfit``: only the bias terms (Ben Zaken et al. 2022) and the new head train
  (ModernBERT has no biases by default: there the head alone trains);
- ``mlm``: every parameter trains, with no new head: the model was loaded as a
  masked LM read at its prompt's mask (runners.training.prompting), and its record
  (label tokens, template, whether the MLM head was pretrained) is added by the
  loader.

"The head" is every parameter outside the base encoder (the classifier, and
DistilBERT's ``pre_classifier``, ModernBERT's ``head``, a pooled classifier's
``head``). The model keeps its class (no ``PeftModel`` wrapper), so the rest of
the runner reads it unchanged. With LoRA the packed path still runs where its
family calls the projections' own forward (ModernBERT); BERT's reads the projection
weights directly and would skip the adapters, so there it takes the padded path
(kernels.packed.supports_packed); :func:`apply_method`'s record says which.
"""

from __future__ import annotations

from typing import Any

import torch

from tasks.errors import UserError

_BERT_LIKE = ("query", "value")
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "bert": _BERT_LIKE,
    "roberta": _BERT_LIKE,
    "xlm-roberta": _BERT_LIKE,
    "camembert": _BERT_LIKE,
    "electra": _BERT_LIKE,
    "albert": _BERT_LIKE,
    "distilbert": ("q_lin", "v_lin"),
    "mpnet": ("q", "v"),
    "deberta-v2": ("query_proj", "value_proj"),
    "modernbert": ("Wqkv",),
}
"""model_type -> the attention projections LoRA adapts (query and value)."""


def encoder_prefix(model: torch.nn.Module) -> str:
    """The attribute holding the base encoder: a transformers classifier's
    ``base_model_prefix``, or ``encoder`` for the runner's own wrappers."""
    prefix = getattr(model, "base_model_prefix", "")
    if prefix and isinstance(getattr(model, prefix, None), torch.nn.Module):
        return prefix
    if isinstance(getattr(model, "encoder", None), torch.nn.Module):
        return "encoder"
    raise UserError(
        "method.no_encoder",
        f"{type(model).__name__}: cannot tell its encoder from its head, so a "
        "parameter-efficient method cannot be applied.",
    )


def _is_head(name: str, prefix: str) -> bool:
    return not name.startswith(prefix + ".")


def apply_method(model: torch.nn.Module, recipe: dict[str, Any]) -> dict[str, Any]:
    """Apply the recipe's method to ``model`` in place; returns its record for the
    measurements: the method, its numbers, the adapted modules, the trainable count.
    """
    method = recipe.get("method", "full")
    record: dict[str, Any] = {"name": method}
    if method == "lora":
        record.update(_lora(model, recipe))
    elif method == "bitfit":
        prefix = encoder_prefix(model)
        for name, param in model.named_parameters():
            param.requires_grad = name.endswith("bias") or _is_head(name, prefix)
    record["trainable_params"] = sum(
        p.numel() for p in model.parameters() if p.requires_grad
    )
    return record


def _lora(model: torch.nn.Module, recipe: dict[str, Any]) -> dict[str, Any]:
    """Inject LoRA adapters and leave only them and the head trainable."""
    from peft import LoraConfig, inject_adapter_in_model

    model_type = getattr(model.config, "model_type", None)
    targets = LORA_TARGETS.get(model_type)
    if targets is None:
        raise UserError(
            "method.lora_unsupported",
            f"LoRA has no target modules for model type {model_type!r}; "
            f"supported: {', '.join(sorted(LORA_TARGETS))}.",
        )
    prefix = encoder_prefix(model)
    config = LoraConfig(
        r=int(recipe["lora_r"]),
        lora_alpha=float(recipe["lora_alpha"]),
        lora_dropout=float(recipe["lora_dropout"]),
        target_modules=list(targets),
        bias="none",
    )
    # Adapters only inside the encoder: a head module that shares a name is not one.
    inject_adapter_in_model(config, getattr(model, prefix))
    for name, param in model.named_parameters():
        param.requires_grad = "lora_" in name or _is_head(name, prefix)
    from kernels import packed

    return {
        "lora_r": config.r,
        "lora_alpha": config.lora_alpha,
        "lora_dropout": config.lora_dropout,
        "target_modules": list(targets),
        # Which forward the run takes with its adapters (see the module docstring).
        "execution": (
            packed.PACKED_PATH if packed.supports_packed(model) else packed.PADDED_PATH
        ),
    }
