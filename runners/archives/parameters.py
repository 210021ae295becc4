"""How many parameters the model a config describes has, before building it.

A parameter cap per suite keeps an upload from asking a worker for a model it
cannot hold; the count comes from the config's numbers (refusing absurd ones
first), then exactly from a model built on PyTorch's ``meta`` device.
"""

from __future__ import annotations

from typing import Any

from runners.archives.rules import ArchiveError

MAX_CONFIG_DIMENSION = 1 << 24
"""No real model has a single size in its config above this (16.7 M): a vocabulary,
a hidden size, a position count. A larger one is refused before anything is built."""

MAX_CONFIG_LAYERS = 1024
"""Even building a model on the ``meta`` device costs Python objects per layer, so
an absurd layer count is refused from the arithmetic alone."""

_HIDDEN_KEYS = ("hidden_size", "d_model", "n_embd", "dim", "embed_dim")
_VOCAB_KEYS = ("vocab_size",)
_POSITION_KEYS = ("max_position_embeddings", "n_positions", "n_ctx")
_LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers", "n_layers")
_DECODER_LAYER_KEYS = ("num_decoder_layers", "decoder_layers")
_FFN_KEYS = ("intermediate_size", "d_ff", "n_inner", "ffn_dim", "hidden_dim")
_EXPERT_KEYS = ("num_local_experts", "num_experts", "n_routed_experts")
_DIMENSION_KEYS = (
    *_HIDDEN_KEYS,
    *_VOCAB_KEYS,
    *_POSITION_KEYS,
    *_FFN_KEYS,
    "num_attention_heads",
    "num_heads",
    "n_head",
    "d_kv",
    "head_dim",
)


def _config_int(config: dict[str, Any], keys: tuple[str, ...], default: int = 0) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and value >= 0:
            return value
        if isinstance(value, float) and value.is_integer() and value >= 0:
            return int(value)
    return default


def estimate_parameters(config: dict[str, Any]) -> int:
    """A rough parameter count from a config's numbers alone, building nothing.

    Embeddings plus, per layer, attention (4 h^2) and feed-forward (2 h f, times the
    experts of a mixture): right within a few percent for BERT-, GPT- and T5-like
    configs (a T5 decoder layer's cross-attention adds 4 h^2 more), and an upper
    bound's order of magnitude for the rest. Absurd sizes and layer counts are
    refused here, before :func:`count_parameters` would build anything.
    """
    for key in (*_DIMENSION_KEYS, *_LAYER_KEYS, *_DECODER_LAYER_KEYS):
        value = _config_int(config, (key,))
        limit = (
            MAX_CONFIG_LAYERS
            if key in _LAYER_KEYS + _DECODER_LAYER_KEYS
            else (MAX_CONFIG_DIMENSION)
        )
        if value > limit:
            raise ArchiveError(
                "upload.model_too_large",
                f"config.json sets {key} to {value:,}; Glew accepts at most "
                f"{limit:,}. This is not a model that can be fine-tuned here.",
            )
    hidden = _config_int(config, _HIDDEN_KEYS)
    vocab = _config_int(config, _VOCAB_KEYS)
    positions = _config_int(config, _POSITION_KEYS)
    encoder_layers = _config_int(config, _LAYER_KEYS)
    decoder_layers = _config_int(config, _DECODER_LAYER_KEYS)
    ffn = _config_int(config, _FFN_KEYS, default=4 * hidden)
    experts = max(1, _config_int(config, _EXPERT_KEYS, default=1))
    heads = _config_int(config, ("num_heads", "num_attention_heads", "n_head"))
    head_dim = _config_int(config, ("d_kv", "head_dim"))
    inner = heads * head_dim if heads and head_dim else hidden
    attention = 4 * hidden * inner
    feed_forward = 2 * hidden * ffn * experts
    return (
        (vocab + positions) * hidden
        + encoder_layers * (attention + feed_forward)
        + decoder_layers * (2 * attention + feed_forward)
    )


def count_parameters(config: dict[str, Any]) -> int | None:
    """The exact parameter count of the model a config describes, or None.

    Builds the model on PyTorch's ``meta`` device, where tensors have shapes but no
    storage, so even a 100-billion-parameter config allocates nothing. transformers
    is imported here, lazily, because only this check needs it in the web process.
    None when transformers cannot build the config (an unknown ``model_type``, say):
    the arithmetic estimate stands and the worker reports the load error.
    """
    model_type = config.get("model_type")
    if not isinstance(model_type, str):
        return None
    try:
        import torch
        from transformers import AutoConfig, AutoModel

        values = {k: v for k, v in config.items() if k != "model_type"}
        model_config = AutoConfig.for_model(model_type, **values)
        with torch.device("meta"):
            model = AutoModel.from_config(model_config)
        return sum(p.numel() for p in model.parameters())
    except Exception:  # noqa: BLE001 - any failure to build means "unknown"
        return None


def check_parameter_cap(config: dict[str, Any], max_params: int) -> int:
    """Refuse a model with more than ``max_params`` parameters; return its count.

    The arithmetic estimate runs first (it refuses absurd configs without building
    anything); a config that passes it is counted exactly on the ``meta`` device.
    """
    estimate = estimate_parameters(config)
    if estimate > max_params:
        count = estimate
    else:
        exact = count_parameters(config)
        count = estimate if exact is None else exact
    if count > max_params:
        raise ArchiveError(
            "upload.model_too_large",
            f"The model described by config.json has about {count:,} parameters; "
            f"the limit here is {max_params:,}. Submit a smaller model.",
        )
    return count
