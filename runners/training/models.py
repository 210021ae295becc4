"""Load the submission: its tokenizer and a sequence classifier built on it.

The model folder was checked on upload (runners.archives), but the program checks
again what it relies on, because a folder that loads "fine" can still be useless
(no tokenizer files: every word would be ``[UNK]``). Only safetensors weights are
read and ``trust_remote_code`` is always False.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

from runners.architectures import (
    check_supported,
    has_tokenizer,
    no_tokenizer_message,
)
from runners.training.encoding import PAIR_PREFIX
from runners.training.pooling import (
    PooledClassifier,
    Pooling,
    declared_pooling,
    is_sequence_classifier_checkpoint,
)
from runners.training.tracking import is_out_of_memory
from tasks.errors import UserError

_WEIGHT_SUFFIXES = (".safetensors", ".safetensors.index.json")
_UNSAFE_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack")
MULTI_LABEL = "multi_label_classification"
# Families whose position ids start after the pad id (RoBERTa's layout): they
# hold max_position_embeddings - pad_token_id - 1 tokens.
_OFFSET_POSITION_TYPES = frozenset(
    {"roberta", "xlm-roberta", "camembert", "longformer", "mpnet", "data2vec-text"}
)
# A tokenizer's model_max_length above this is transformers' "no limit" sentinel.
_NO_LIMIT = 10**8


def problem_type(task_type: str) -> str:
    """The transformers ``problem_type`` (which loss) of a task type."""
    if task_type == "regression":
        return "regression"
    if task_type == "multilabel_classification":
        return MULTI_LABEL
    return "single_label_classification"


def is_multi_label(model: torch.nn.Module) -> bool:
    """Whether the model scores each class alone (sigmoid per class, BCE loss)."""
    return getattr(model.config, "problem_type", None) == MULTI_LABEL


class TwoTowerClassifier(torch.nn.Module):
    """LRA's dual encoder: one shared encoder reads each text of a pair alone.

    Each text's vector (the encoder's pooled output, else its first token's
    hidden state, the ``[CLS]`` position) gives ``u`` and ``v``; the head
    classifies ``[u, v]`` with LRA's ``classifier_head_dual``
    (``lra_benchmarks/models/layers/common_layers.py``, called without an
    ``interaction`` by ``matching/train.py``): dense to ``mlp``, ReLU, dense to
    ``mlp // 2``, ReLU, dense to the classes, where ``mlp`` is the encoder's MLP
    width (LRA's ``mlp_dim``: ``intermediate_size``, else 4 x hidden). The head
    is created here (seeded by the caller) and trained end to end with the
    encoder. ``config`` is the encoder's, with ``num_labels`` and
    ``problem_type`` set, so the runner reads it like a classifier's.
    """

    def __init__(self, encoder: PreTrainedModel, num_labels: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.config = encoder.config
        hidden = int(self.config.hidden_size)
        mlp = int(getattr(self.config, "intermediate_size", None) or 4 * hidden)
        self.head = torch.nn.Sequential(
            torch.nn.Linear(2 * hidden, mlp),
            torch.nn.ReLU(),
            torch.nn.Linear(mlp, mlp // 2),
            torch.nn.ReLU(),
            torch.nn.Linear(mlp // 2, num_labels),
        )

    def embed(self, **inputs: torch.Tensor) -> torch.Tensor:
        out = self.encoder(**inputs)
        pooled = getattr(out, "pooler_output", None)
        return pooled if pooled is not None else out.last_hidden_state[:, 0]

    def forward(self, **batch: torch.Tensor) -> SequenceClassifierOutput:
        first = {k: v for k, v in batch.items() if not k.startswith(PAIR_PREFIX)}
        second = {
            k.removeprefix(PAIR_PREFIX): v
            for k, v in batch.items()
            if k.startswith(PAIR_PREFIX)
        }
        u, v = self.embed(**first), self.embed(**second)
        return SequenceClassifierOutput(logits=self.head(torch.cat((u, v), dim=-1)))


def load_model(
    model_dir: Path,
    *,
    task_type: str,
    num_labels: int,
    vocabulary: Any | None = None,
    positions: int | None = None,
    two_tower: bool = False,
) -> tuple[Any, torch.nn.Module, bool, Pooling]:
    """Load the submission's tokenizer and a sequence-classification model.

    A folder with ``config.json`` but no weights is an architecture
    submission and is built with fresh weights (the caller seeds first, so
    the initialisation is repeatable). Returns (tokenizer, model, from_scratch,
    pooling): which vector the classifier reads and whose head it is
    (:mod:`runners.training.pooling`).

    With a task ``vocabulary`` (LRA) the task encodes the inputs: no tokenizer
    files are needed (the tokenizer returned is None), the model is built from
    ``config.json`` alone (weights, if any, are not loaded: LRA trains
    architectures from scratch, and pretrained embeddings would not match the
    task's ids), and a config too small for the vocabulary or for ``positions``
    input tokens is refused, naming the numbers. ``two_tower`` wraps the
    submission's base encoder in :class:`TwoTowerClassifier`.
    """
    has_weights = check_model_folder(model_dir, tokenizer_needed=vocabulary is None)
    if vocabulary is not None:
        has_weights = False
    declared = None
    if vocabulary is None and not two_tower:
        declared = declared_pooling(model_dir)
        if declared is not None and _saved_as_classifier(model_dir):
            declared = None  # the checkpoint's own head wins
    base_only = two_tower or declared is not None
    extra: dict[str, Any] = {}
    if vocabulary is not None:
        extra["pad_token_id"] = vocabulary.pad_id
    if not base_only:
        extra.update(num_labels=num_labels, problem_type=problem_type(task_type))
    tokenizer, model, head = load_parts(
        model_dir,
        extra,
        has_weights=has_weights,
        vocabulary=vocabulary,
        positions=positions,
        auto=AutoModel if base_only else AutoModelForSequenceClassification,
    )
    if tokenizer is not None and tokenizer.pad_token_id is None:
        pad_with_end_token(tokenizer)
    pad_id = vocabulary.pad_id if vocabulary is not None else tokenizer.pad_token_id
    model.config.pad_token_id = pad_id
    if base_only:
        model.config.num_labels = num_labels
        model.config.problem_type = problem_type(task_type)
    if two_tower:
        model = TwoTowerClassifier(model, num_labels)
        pooling = Pooling("two_tower", "the task (LRA's dual encoder head)")
    elif declared is not None:
        model = PooledClassifier(model, declared.mode, num_labels)
        pooling = declared
    else:
        pooling = Pooling("head", "the architecture's classification head", head)
    return tokenizer, model, not has_weights, pooling


def _read_config(model_dir: Path) -> dict[str, Any] | None:
    """config.json as a dict, or None when unreadable (transformers will say why)."""
    try:
        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def _saved_as_classifier(model_dir: Path) -> bool:
    """Whether config.json says the checkpoint is a ``*ForSequenceClassification``."""
    config = _read_config(model_dir)
    return config is not None and is_sequence_classifier_checkpoint(
        SimpleNamespace(architectures=config.get("architectures"))
    )


def check_model_folder(model_dir: Path, *, tokenizer_needed: bool) -> bool:
    """Refuse a folder the program cannot use safely; return whether it has weights.

    An architecture outside ``runners.architectures`` is refused (the upload
    refuses it too; a folder from before that check says so here), pickle
    weights are refused (loading a pickle runs code), and so is a folder without
    tokenizer files when the model's tokenizer is needed.
    """
    if not (model_dir / "config.json").is_file():
        raise UserError("execute.bad_model", "the model folder has no config.json")
    config = _read_config(model_dir)
    if config is not None:
        check_supported(config, code="execute.bad_model")
    names = [p.name for p in model_dir.iterdir() if p.is_file()]
    has_weights = any(n.endswith(_WEIGHT_SUFFIXES) for n in names)
    if not has_weights and any(n.endswith(_UNSAFE_WEIGHT_SUFFIXES) for n in names):
        raise UserError(
            "execute.bad_model", "weights must be in safetensors format (no pickle)"
        )
    if tokenizer_needed and not has_tokenizer(names):
        # transformers would otherwise build an empty-vocabulary tokenizer that maps
        # every word to [UNK]: a run that "works" and scores like a coin flip.
        raise UserError("execute.bad_model", no_tokenizer_message())
    return has_weights


def load_parts(
    model_dir: Path,
    extra: dict[str, Any],
    *,
    has_weights: bool,
    vocabulary: Any | None,
    positions: int | None,
    auto: type,
) -> tuple[Any | None, PreTrainedModel, str]:
    """The tokenizer (None with a task vocabulary), the model, and whether its
    classification head came from the checkpoint ("checkpoint") or is new.

    Any failure of transformers to read the folder is the submission's fault
    (``execute.bad_model``, with transformers' reason), except running out of
    memory, which the caller reports as such.
    """
    tokenizer = None
    try:
        config = AutoConfig.from_pretrained(model_dir, trust_remote_code=False, **extra)
        if vocabulary is not None:
            check_config_fits(config, vocabulary, positions)
        else:
            tokenizer = AutoTokenizer.from_pretrained(
                model_dir, trust_remote_code=False
            )
        try:
            # SDPA is the fused attention kernel (flash / memory-efficient on GPU).
            model, head = _build(auto, model_dir, config, extra, has_weights, "sdpa")
        except (ValueError, ImportError):
            # Architectures without SDPA support keep their default attention.
            model, head = _build(auto, model_dir, config, extra, has_weights, None)
    except UserError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):
            raise
        raise UserError(
            "execute.bad_model",
            f"the model folder could not be loaded: {type(exc).__name__}: {exc}",
        ) from exc
    return tokenizer, model, head


def _build(
    auto: Any,
    model_dir: Path,
    config: Any,
    extra: dict[str, Any],
    has_weights: bool,
    attention: str | None,
) -> tuple[PreTrainedModel, str]:
    """The model in fp32 (the folder's weights, else fresh ones from the config),
    and "checkpoint" when every weight, the head's included, came from the folder."""
    implementation = {"attn_implementation": attention} if attention else {}
    if has_weights:
        model, info = auto.from_pretrained(
            model_dir,
            ignore_mismatched_sizes=True,
            use_safetensors=True,
            trust_remote_code=False,
            dtype=torch.float32,
            output_loading_info=True,
            **extra,
            **implementation,
        )
        fresh = list(info.get("missing_keys", ())) + [
            str(item[0] if isinstance(item, tuple) else item)
            for item in info.get("mismatched_keys", ())
        ]
        return model, "new" if fresh else "checkpoint"
    # A copy: a refused attention implementation stays set on the config it was
    # tried with, and would be refused again on the retry with the default.
    model = auto.from_config(
        copy.deepcopy(config),
        trust_remote_code=False,
        dtype=torch.float32,
        **implementation,
    )
    return model, "new"


def pad_with_end_token(tokenizer: Any) -> None:
    """Decoder-only tokenizers often lack a pad token; the end token is the
    usual stand-in, and the model needs it to find each row's last token."""
    if tokenizer.eos_token is None:
        raise UserError(
            "execute.bad_model", "the tokenizer has neither a pad nor an end token"
        )
    tokenizer.pad_token = tokenizer.eos_token


def check_config_fits(config: Any, vocabulary: Any, positions: int | None) -> None:
    """Refuse a config whose embeddings cannot hold the task's ids or lengths.

    The submitter sizes an architecture for a task-supplied vocabulary; growing
    their config silently would change the model they submitted.
    """
    size = getattr(config, "vocab_size", None)
    if isinstance(size, int) and size < vocabulary.vocab_size:
        raise UserError(
            "execute.bad_model",
            f"config.json has vocab_size {size}, but this task's "
            f"{vocabulary.name!r} vocabulary has {vocabulary.vocab_size} ids; "
            f"set vocab_size to at least {vocabulary.vocab_size}",
        )
    limit = position_limit(config)
    if positions is not None and limit is not None and limit < positions:
        raise UserError(
            "execute.bad_model",
            f"config.json allows {limit} positions (max_position_embeddings "
            f"{config.max_position_embeddings}), but this task feeds up to "
            f"{positions} tokens ([CLS] plus max_length "
            f"{positions - 1}); set max_position_embeddings to at least "
            f"{positions + (getattr(config, 'max_position_embeddings', 0) - limit)}",
        )


def position_limit(config: Any) -> int | None:
    """Tokens the model's position embeddings hold, or None (no fixed table:
    DeBERTa-v3's relative attention without absolute positions in its input
    takes any length, its log buckets covering far distances)."""
    table = getattr(config, "max_position_embeddings", None)
    if not isinstance(table, int) or isinstance(table, bool) or table <= 0:
        return None
    if getattr(config, "model_type", None) == "deberta-v2" and not getattr(
        config, "position_biased_input", True
    ):
        return None
    if getattr(config, "model_type", None) in _OFFSET_POSITION_TYPES:
        return table - int(getattr(config, "pad_token_id", None) or 0) - 1
    return table


def model_max_length(model: torch.nn.Module, tokenizer: Any | None) -> int | None:
    """The longest row the model takes: its tokenizer's and its positions' limit."""
    limits = [position_limit(model.config)]
    if tokenizer is not None:
        limit = tokenizer.model_max_length
        if isinstance(limit, int) and 0 < limit < _NO_LIMIT:
            limits.append(limit)
    found = [n for n in limits if n is not None]
    return min(found) if found else None
