"""Recipe knobs that make small-data fine-tuning less seed-dependent.

Fine-tuning on a few thousand examples is unstable: some seeds learn, some do not
(Mosbach et al. 2021; the biomedical fine-tuning study of Tinn et al. 2023 found
layer-wise learning-rate decay, re-initialising the top layers and freezing lower
layers to help). Each technique is a recipe parameter, versioned like every other
number of a recipe; at their defaults (1.0, 0, 0) they change nothing:

- ``layerwise_lr_decay`` d < 1: layer ``k`` of ``L`` (counting from the top, the
  head at the top) learns at ``lr * d**k``, the embeddings at ``lr * d**(L+1)``;
- ``reinit_top_layers`` n: the top ``n`` encoder layers are re-initialised (with
  the model's own ``_init_weights``) before training;
- ``freeze_lower_layers`` n: the embeddings and the bottom ``n - 1`` encoder
  layers get no gradient (``n = 1``: the embeddings alone).

The encoder's layers are found by the conventions transformers models follow
(``encoder.layer``, ``transformer.layer``, ``layers``, ``h``); a model where they
cannot be found, asked for one of these knobs, fails with a plain reason.
"""

from __future__ import annotations

from typing import Any

import torch

from tasks.errors import UserError

_LAYER_LISTS = ("encoder.layer", "transformer.layer", "layers", "h", "layer")
_EMBEDDINGS = ("embeddings", "embed_tokens", "wte", "word_embeddings")


def _find(module: torch.nn.Module, dotted: str) -> Any:
    for name in dotted.split("."):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def _encoder(model: torch.nn.Module) -> torch.nn.Module:
    """The base encoder inside a classifier (``model.bert``, ``model.encoder``...)."""
    prefix = getattr(model, "base_model_prefix", None)
    for name in (prefix, "encoder", "bert", "roberta", "deberta", "model"):
        found = getattr(model, name, None) if name else None
        if isinstance(found, torch.nn.Module) and _layers_of(found) is not None:
            return found
    return model


def _layers_of(module: torch.nn.Module) -> torch.nn.ModuleList | None:
    for dotted in _LAYER_LISTS:
        found = _find(module, dotted)
        if isinstance(found, torch.nn.ModuleList) and len(found) > 0:
            return found
    return None


def encoder_parts(model: torch.nn.Module) -> tuple[torch.nn.Module | None, list]:
    """(embeddings, encoder layers bottom to top) of a classifier's encoder."""
    encoder = _encoder(model)
    layers = _layers_of(encoder)
    embeddings = next(
        (e for e in (getattr(encoder, n, None) for n in _EMBEDDINGS) if e is not None),
        None,
    )
    return embeddings, list(layers) if layers is not None else []


def _require_layers(model: torch.nn.Module, knob: str) -> list:
    _, layers = encoder_parts(model)
    if not layers:
        raise UserError(
            "execute.bad_model",
            f"the recipe's {knob} needs the encoder's layers, which this "
            f"{type(model).__name__} does not expose in a known place",
        )
    return layers


def apply_stability(model: torch.nn.Module, recipe: dict[str, Any]) -> None:
    """Re-initialise and freeze as the recipe says (call once, before training,
    after seeding: re-initialisation draws from torch's generator)."""
    reinit = int(recipe.get("reinit_top_layers") or 0)
    if reinit > 0:
        layers = _require_layers(model, "reinit_top_layers")
        init = getattr(model, "_init_weights", None)
        base = _encoder(model)
        init = init or getattr(base, "_init_weights", None)
        for layer in layers[-reinit:]:
            for module in layer.modules():
                if init is not None:
                    init(module)
                elif hasattr(module, "reset_parameters"):
                    module.reset_parameters()
    freeze = int(recipe.get("freeze_lower_layers") or 0)
    if freeze > 0:
        layers = _require_layers(model, "freeze_lower_layers")
        embeddings, _ = encoder_parts(model)
        frozen = ([embeddings] if embeddings is not None else []) + layers[: freeze - 1]
        for module in frozen:
            for param in module.parameters():
                param.requires_grad_(False)


def layer_depths(model: torch.nn.Module) -> dict[str, int]:
    """Per parameter name: how far below the top it sits (0: the head and
    anything above the layers; k: the k-th layer from the top; L + 1: the
    embeddings), for layer-wise learning-rate decay."""
    embeddings, layers = encoder_parts(model)
    depth: dict[int, int] = {}
    count = len(layers)
    for index, layer in enumerate(layers):
        for param in layer.parameters():
            depth[id(param)] = count - index
    if embeddings is not None:
        for param in embeddings.parameters():
            depth[id(param)] = count + 1
    return {name: depth.get(id(p), 0) for name, p in model.named_parameters()}
