"""Token classification in the sandbox: words in, one tag per word out.

A token task's rows hold a list of words (``tasks.tagging``). The model's fast
tokenizer splits them into sub-word tokens (``is_split_into_words``, so the
tokenizer's own special tokens and post-processing apply); each word's *first*
sub-token carries its tag and the others are left out of the loss
(``IGNORE``), as in BERT's NER fine-tuning and Hugging Face's ``run_ner``. The
prediction for a word is the argmax at its first sub-token. A word cut off by the
row limit has no sub-token: it is predicted as tag 0 (``O`` in every catalogue tag
set) and its row is counted as cut.

Execution is the padded path (each batch padded to its longest row, length-
bucketed by kernels.batching): the packed kernels compute sequence classifiers'
pooled outputs only, and the manifest's ``execution_path`` says ``padded``.

Logits leave this module as one ``[words, tags]`` tensor, the rows' words one
after another in row order, so the shared measurements (latency, batch
invariance) compare them like any other logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AutoModelForTokenClassification, AutoTokenizer

from kernels import batching, packed
from runners.training.batches import collate
from runners.training.encoding import Encoding
from runners.training.loop import train as loop_train
from runners.training.models import check_model_folder, load_parts, pad_with_end_token
from runners.training.pooling import Pooling
from runners.training.tracking import Tracker, autocast
from tasks.errors import UserError

IGNORE = -100
"""The label of sub-tokens left out of the loss (cross-entropy's ignore_index)."""
STARTS = "word_starts"
"""The encoding key holding each word's first sub-token position (-1: cut off)."""


def load_token_model(
    model_dir: Path, *, num_labels: int, **_: Any
) -> tuple[Any, torch.nn.Module, bool, Pooling]:
    """The submission's fast tokenizer and a token classifier on its encoder
    (``*ForTokenClassification``, a new head of ``num_labels`` tags); the
    same checks as a sequence classifier's (runners.training.models)."""
    has_weights = check_model_folder(model_dir, tokenizer_needed=True)
    tokenizer, model, head = load_parts(
        model_dir,
        {"num_labels": num_labels},
        has_weights=has_weights,
        vocabulary=None,
        positions=None,
        auto=AutoModelForTokenClassification,
    )
    if not getattr(tokenizer, "is_fast", False):
        raise UserError(
            "execute.bad_model",
            "token tasks need a fast tokenizer (tokenizer.json) to map sub-word "
            "tokens back to words",
        )
    try:
        tokenizer([["a", "b"]], is_split_into_words=True)
    except (ValueError, AssertionError):
        # Byte-level BPE (RoBERTa) reads words only with a space before each.
        tokenizer = AutoTokenizer.from_pretrained(
            model_dir, trust_remote_code=False, add_prefix_space=True
        )
    if tokenizer.pad_token_id is None:
        pad_with_end_token(tokenizer)
    model.config.pad_token_id = tokenizer.pad_token_id
    pooling = Pooling(
        "first_subtoken",
        "the architecture's token-classification head, read at each word's "
        "first sub-token",
        head,
    )
    return tokenizer, model, not has_weights, pooling


def encode_words(
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    field: str,
    max_length: int,
    source: str,
) -> tuple[list[Encoding], int]:
    """Sub-word ids of each row's words, cut at ``max_length`` tokens, with each
    word's first sub-token position under :data:`STARTS`; returns (encodings,
    rows cut)."""
    words = []
    for row in rows:
        value = row.get(field)
        if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r} has no list of words {field!r}",
            )
        words.append(value)
    if not rows:
        return [], 0
    whole = tokenizer(words, is_split_into_words=True, truncation=False)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in whole]
    encodings, cut = [], 0
    for i, row_words in enumerate(words):
        found, word_ids = whole, whole.word_ids(i)
        index = i
        if len(whole["input_ids"][i]) > max_length:
            cut += 1
            found = tokenizer(
                [row_words],
                is_split_into_words=True,
                truncation=True,
                max_length=max_length,
            )
            word_ids, index = found.word_ids(0), 0
        starts = [-1] * len(row_words)
        for position, word in enumerate(word_ids):
            if word is not None and starts[word] < 0:
                starts[word] = position
        encoding = {k: list(found[k][index]) for k in keys}
        encoding[STARTS] = starts
        encodings.append(encoding)
    return encodings, cut


def train_tags(
    rows: list[dict[str, Any]], num_labels: int, source: str
) -> list[list[int]]:
    """Each row's word tags, checked (one tag index below ``num_labels`` a word)."""
    tags = []
    for row in rows:
        label = row.get("label")
        ok = isinstance(label, list) and all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_labels
            for i in label
        )
        if not ok:
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r} has bad tags {label!r}",
            )
        tags.append(label)
    return tags


def forward(
    model: torch.nn.Module,
    encodings: Sequence[Encoding],
    *,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> torch.Tensor:
    """Per-token logits ``[rows, width, tags]`` of a padded batch."""
    tracker.execution_path = packed.PADDED_PATH
    tracker.padding.add([len(e["input_ids"]) for e in encodings], packed=False)
    inputs = [{k: v for k, v in e.items() if k != STARTS} for e in encodings]
    batch = collate(inputs, pad_id, padding_side)
    with autocast(tracker):
        batch = {k: v.to(tracker.device) for k, v in batch.items()}
        return model(**batch).logits


def _offset(encoding: Encoding, width: int, padding_side: str) -> int:
    """Where a row's first token sits in a batch padded to ``width``."""
    return width - len(encoding["input_ids"]) if padding_side == "left" else 0


def word_logits(
    logits: torch.Tensor, encodings: Sequence[Encoding], padding_side: str
) -> torch.Tensor:
    """The first-sub-token logits of every word, rows one after another (zeros
    for a word cut off)."""
    out = []
    for row, encoding in enumerate(encodings):
        starts = encoding[STARTS]
        picked = logits.new_zeros(len(starts), logits.shape[-1])
        offset = _offset(encoding, logits.shape[1], padding_side)
        kept = [i for i, s in enumerate(starts) if s >= 0]
        if kept:
            positions = torch.tensor([starts[i] + offset for i in kept])
            picked[kept] = logits[row, positions.to(logits.device)]
        out.append(picked)
    return torch.cat(out) if out else logits.new_zeros(0, logits.shape[-1])


@torch.inference_mode()
def predict_logits(
    model: torch.nn.Module,
    encodings: list[Encoding],
    *,
    batch_size: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> tuple[torch.Tensor, int]:
    """Word logits of every row, fp32 on the CPU, ``[words, tags]`` in row order,
    and the real tokens seen; token-budget batches as sequence tasks use."""
    model.eval()
    lengths = [len(e["input_ids"]) for e in encodings]
    per_row: list[torch.Tensor | None] = [None] * len(encodings)
    tokens = tracker.batch = 0
    plan, _ = batching.inference_plan(lengths, batch_size=batch_size)
    for number, ids in enumerate(plan, start=1):
        tracker.batch, tracker.batch_size = number, len(ids)
        tokens += sum(lengths[i] for i in ids)
        rows = [encodings[i] for i in ids]
        out = forward(
            model, rows, pad_id=pad_id, padding_side=padding_side, tracker=tracker
        )
        picked = word_logits(out.float().cpu(), rows, padding_side)
        sizes = [len(e[STARTS]) for e in rows]
        for i, part in zip(ids, picked.split(sizes), strict=True):
            per_row[i] = part
    tags = int(model.config.num_labels)
    found = [p for p in per_row if p is not None]
    return (torch.cat(found) if found else torch.zeros(0, tags)), tokens


def to_tags(logits: torch.Tensor, encodings: Sequence[Encoding]) -> list[list[int]]:
    """Each row's predicted tag indices, one per word."""
    sizes = [len(e[STARTS]) for e in encodings]
    best = logits.argmax(-1) if len(logits) else torch.zeros(0, dtype=torch.long)
    return [part.tolist() for part in best.split(sizes)] if sizes else []


def sample_words(encodings: Sequence[Encoding], rows: int) -> int:
    """How many word logits the first ``rows`` rows have."""
    return sum(len(e[STARTS]) for e in encodings[:rows])


def targets(
    encodings: Sequence[Encoding], tags: Sequence[Sequence[int]], padding_side: str
) -> torch.Tensor:
    """The padded batch's labels: each word's tag at its first sub-token,
    :data:`IGNORE` everywhere else."""
    width = max(len(e["input_ids"]) for e in encodings)
    out = torch.full((len(encodings), width), IGNORE, dtype=torch.long)
    for row, (encoding, row_tags) in enumerate(zip(encodings, tags, strict=True)):
        offset = _offset(encoding, width, padding_side)
        for start, tag in zip(encoding[STARTS], row_tags, strict=True):
            if start >= 0:
                out[row, start + offset] = tag
    return out


def token_loss_of(
    model: torch.nn.Module,
    encodings: list[Encoding],
    tags: list[list[int]],
    *,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> torch.Tensor:
    """A micro-batch of tagged rows: the mean cross-entropy over its tagged
    sub-tokens (each word's first; zero, with a graph, when none is tagged)."""
    logits = forward(
        model, encodings, pad_id=pad_id, padding_side=padding_side, tracker=tracker
    )
    target = targets(encodings, tags, padding_side)
    loss = F.cross_entropy(
        logits.float().flatten(0, 1),
        target.flatten().to(logits.device),
        ignore_index=IGNORE,
    )
    if torch.isnan(loss):  # no tagged sub-token in the micro-batch
        loss = logits.sum() * 0.0
    return loss


def train(
    model: torch.nn.Module,
    encodings: list[Encoding],
    tags: list[list[int]],
    recipe: dict[str, Any],
    *,
    seed: int,
    pad_id: int,
    padding_side: str,
    tracker: Tracker,
) -> dict[str, float]:
    """Fine-tune in place with the sequence tasks' loop
    (``runners.training.loop.train``: optimizer, schedule, clipping, accumulation,
    length-bucketed steps, the multi-process layout) and :func:`token_loss_of`.

    Token tasks train their recipe's full epochs: the recipe's
    ``max_train_tokens`` is not applied to them (it was set for sequence tasks,
    and token tasks' scores under quick@5 were computed without it).
    """
    return loop_train(
        model,
        encodings,
        tags,
        recipe,
        seed=seed,
        pad_id=pad_id,
        padding_side=padding_side,
        tracker=tracker,
        loss_of=token_loss_of,
        token_budget=False,
    )
