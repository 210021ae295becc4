"""The architectures Glew fine-tunes and the tokenizer files it reads: one list.

Upload validation (``runners.archives.architecture``, called by the intake) and
the in-sandbox loader (``runners.training.models``) both read this module, so a
model type is either accepted at upload and run, or refused at upload with the
list below: never accepted and then crashed inside the sandbox.

Each entry is an architecture the test matrix (``tests/fixtures/architectures.py``)
builds, uploads in both tokenizer forms (as ``save_pretrained`` writes it, and
as its hub repositories ship it) and runs through the real sandbox on every
task type; ``execution`` says which forward it takes (``kernels.packed``):
``"packed"`` (padding-free) or ``"padded"`` (each length-bucketed batch padded to
its longest row).

Plain Python, no torch: the web process imports it to check an upload.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tasks.errors import UserError


@dataclass(frozen=True)
class Architecture:
    """One supported ``model_type``: its family name and which forward it takes."""

    model_type: str
    name: str
    execution: str
    note: str = ""


ARCHITECTURES: dict[str, Architecture] = {
    a.model_type: a
    for a in (
        Architecture("bert", "BERT (also HerBERT, MiniLM)", "packed"),
        Architecture("roberta", "RoBERTa", "packed"),
        Architecture("xlm-roberta", "XLM-RoBERTa", "packed"),
        Architecture("camembert", "CamemBERT", "packed"),
        Architecture("electra", "ELECTRA", "packed"),
        Architecture("modernbert", "ModernBERT", "packed"),
        Architecture("distilbert", "DistilBERT", "padded"),
        Architecture("albert", "ALBERT", "padded", "shared layers"),
        Architecture("mpnet", "MPNet", "padded", "relative position bias"),
        Architecture(
            "deberta-v2",
            "DeBERTa-v2/v3",
            "padded",
            "disentangled relative attention",
        ),
    )
}
"""Supported model types (``config.json``'s ``model_type``)."""

TOKENIZER_FILES: frozenset[str] = frozenset(
    {
        "tokenizer.json",  # tokenizers' own file (what save_pretrained writes)
        "vocab.txt",  # WordPiece: BERT, DistilBERT, ELECTRA, MPNet
        "vocab.json",  # byte-level BPE with merges.txt: RoBERTa, HerBERT
        "spm.model",  # SentencePiece: DeBERTa-v2/v3
        "spiece.model",  # SentencePiece: ALBERT, T5
        "sentencepiece.bpe.model",  # SentencePiece: XLM-R, CamemBERT
        "tokenizer.model",  # SentencePiece under its generic name
    }
)
"""Files from which transformers builds a real tokenizer, offline (SentencePiece
models are converted with ``sentencepiece`` and ``protobuf``)."""


def supported_list() -> str:
    """The supported model types in one line, for messages."""
    return ", ".join(sorted(ARCHITECTURES))


def unsupported_reason(config: Mapping[str, Any]) -> str | None:
    """Why a ``config.json`` names no supported architecture, or None when it does."""
    model_type = config.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        return (
            "config.json has no model_type, so the architecture is unknown. "
            f"Glew fine-tunes these model types: {supported_list()}."
        )
    if model_type not in ARCHITECTURES:
        return (
            f"config.json has model_type {model_type!r}, which Glew does not "
            f"fine-tune. Supported model types: {supported_list()}."
        )
    return None


def check_supported(config: Mapping[str, Any], *, code: str) -> str:
    """The config's model type, or ``UserError(code)`` naming the supported list."""
    reason = unsupported_reason(config)
    if reason is not None:
        raise UserError(code, reason)
    return str(config["model_type"])


def has_tokenizer(names: Iterable[str]) -> bool:
    """Whether file names (a folder's, base names) include a tokenizer file."""
    return any(name in TOKENIZER_FILES for name in names)


def no_tokenizer_message() -> str:
    """What to do about a model folder without tokenizer files."""
    return (
        "the model folder has no tokenizer files (one of "
        f"{', '.join(sorted(TOKENIZER_FILES))}); save the tokenizer with "
        "tokenizer.save_pretrained() next to the model, or keep the vocabulary "
        "files the model was released with"
    )
