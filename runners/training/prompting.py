"""Generative classification with the masked-LM head: the ``mlm`` track.

Each row is written into the task's prompt (tasks.prompts), e.g. "<sentence> It was
[MASK].", and the label is the verbaliser word the model's own masked-LM head scores
highest at the mask ("It's All in The [MASK]", Clavié et al. 2025; PET and LM-BFF
before it). No head is added: :class:`MaskedLMClassifier` reads the MLM logits of the
label words as the class logits, so training (cross-entropy over the label words),
prediction (their argmax) and scoring are those of any classifier, and the rest of
the runner reads it unchanged. Every parameter trains, as in full fine-tuning.

Only the mask's hidden state goes through the MLM head (a forward hook on the
base encoder keeps that one row), so the vocabulary projection costs one row per
example, not one per token. A checkpoint saved without its MLM head (a
sentence-transformers folder) gets a fresh transform layer, its decoder tied to the
input embeddings as the architecture ties it; :func:`load_mlm_classifier` reports
which (``head``: checkpoint or new).

Prompts are cut to ``max_length`` field by field, never the template: the longest
field loses tokens first, so the mask and the template's words always survive.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForMaskedLM
from transformers.modeling_outputs import SequenceClassifierOutput

from runners.training.encoding import Encoding
from runners.training.models import check_model_folder, load_parts, pad_with_end_token
from runners.training.pooling import Pooling
from tasks.errors import UserError
from tasks.prompts import Prompt

_MAX_CUTS = 8
"""Rounds of cutting a too-long row (decoding and re-tokenizing a cut field can
shift a token or two, so the cut is checked and repeated)."""


class MaskedLMClassifier(torch.nn.Module):
    """A masked LM read as a classifier: the logits of the label words at the mask.

    ``config`` is the masked LM's, with ``num_labels`` and ``problem_type`` set, so
    the loss and predictions are a single-label classifier's.
    """

    def __init__(
        self, mlm: torch.nn.Module, *, mask_id: int, label_ids: Sequence[int]
    ) -> None:
        super().__init__()
        self.mlm = mlm
        self.config = mlm.config
        self.config.num_labels = len(label_ids)
        self.config.problem_type = "single_label_classification"
        self.mask_id = int(mask_id)
        self.register_buffer(
            "label_ids",
            torch.tensor(list(label_ids), dtype=torch.long),
            persistent=False,
        )
        self._positions: torch.Tensor | None = None
        base = getattr(mlm, mlm.base_model_prefix)
        self.hook = base.register_forward_hook(self._keep_mask_row)

    def _keep_mask_row(self, _module: Any, _inputs: Any, output: Any) -> Any:
        """Cut the encoder's output to each row's mask position ([B, 1, H])."""
        hidden = output[0]
        rows = torch.arange(hidden.shape[0], device=hidden.device)
        kept = hidden[rows, self._positions.to(hidden.device)].unsqueeze(1)
        if isinstance(output, tuple):
            return (kept, *output[1:])
        output.last_hidden_state = kept
        return output

    def forward(
        self, input_ids: torch.Tensor, **inputs: torch.Tensor
    ) -> SequenceClassifierOutput:
        found = input_ids == self.mask_id
        if not bool(found.any(dim=1).all()):
            raise UserError(
                "execute.bad_data", "a prompted row lost its mask token (a bug)"
            )
        # The first mask of each row (encode_prompted leaves exactly one).
        self._positions = found.int().argmax(dim=1)
        try:
            logits = self.mlm(input_ids=input_ids, **inputs).logits[:, 0, :]
        finally:
            self._positions = None
        return SequenceClassifierOutput(logits=logits.index_select(-1, self.label_ids))


def load_mlm_classifier(
    model_dir: Path, *, prompt: Prompt, num_labels: int
) -> tuple[Any, MaskedLMClassifier, bool, Pooling, dict[str, Any]]:
    """The submission's tokenizer and masked LM read as a classifier of the prompt's
    label words; returns (tokenizer, model, from_scratch, pooling, record), the
    record saying which token each label word became and whether the MLM head
    came from the checkpoint."""
    if len(prompt.verbalizer) != num_labels:
        raise UserError(
            "execute.bad_spec",
            f"job spec: the prompt has {len(prompt.verbalizer)} label words for "
            f"{num_labels} labels",
        )
    has_weights = check_model_folder(model_dir, tokenizer_needed=True)
    tokenizer, mlm, head = load_parts(
        model_dir,
        {},
        has_weights=has_weights,
        vocabulary=None,
        positions=None,
        auto=AutoModelForMaskedLM,
    )
    if tokenizer.mask_token_id is None:
        raise UserError(
            "method.no_mask_token",
            "the mlm track needs a tokenizer with a mask token (tokenizer.mask_token); "
            "this model's has none",
        )
    if tokenizer.pad_token_id is None:
        pad_with_end_token(tokenizer)
    mlm.config.pad_token_id = tokenizer.pad_token_id
    label_ids, record = label_token_ids(tokenizer, prompt.verbalizer)
    model = MaskedLMClassifier(
        mlm, mask_id=tokenizer.mask_token_id, label_ids=label_ids
    )
    record.update(template=prompt.template, head=head)
    pooling = Pooling(
        "mask",
        "the masked-LM head at the prompt's mask, over the label words",
        head,
    )
    return tokenizer, model, not has_weights, pooling, record


def label_token_ids(
    tokenizer: Any, words: Sequence[str]
) -> tuple[list[int], dict[str, Any]]:
    """The token of each label word as it stands mid-sentence (after a space).

    A word the tokenizer splits is read at its first sub-token (as PET does) and
    named in the record; two words that start with the same token cannot be told
    apart, and are refused.
    """
    ids: list[int] = []
    split: list[str] = []
    for word in words:
        tokens = _mid_sentence_tokens(tokenizer, word)
        if not tokens:
            raise UserError(
                "method.bad_verbalizer", f"label word {word!r} has no tokens"
            )
        if len(tokens) > 1:
            split.append(word)
        ids.append(tokens[0])
    if len(set(ids)) != len(ids):
        raise UserError(
            "method.verbalizer_collision",
            f"the label words {', '.join(map(repr, words))} do not start with "
            "different tokens in this model's vocabulary, so the mlm track cannot "
            "tell them apart",
        )
    return ids, {
        "label_tokens": tokenizer.convert_ids_to_tokens(ids),
        "split_label_words": split,
    }


def _mid_sentence_tokens(tokenizer: Any, word: str) -> list[int]:
    before = tokenizer("a", add_special_tokens=False)["input_ids"]
    both = tokenizer("a " + word, add_special_tokens=False)["input_ids"]
    if both[: len(before)] == before:
        return list(both[len(before) :])
    return list(tokenizer(" " + word, add_special_tokens=False)["input_ids"])


def encode_prompted(
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    prompt: Prompt,
    max_length: int,
    source: str,
) -> tuple[list[Encoding], int]:
    """Each row written into the prompt and tokenized as one text (with the
    model's special tokens), unpadded; returns (encodings, rows cut).

    A mask token inside a row's own text is removed first (a row must not plant
    a second mask); rows too long lose tokens from their longest field.
    """
    pieces = prompt.pieces()
    mask = tokenizer.mask_token
    values = [_row_values(row, prompt, mask, source) for row in rows]
    if not rows:
        return [], 0
    texts = [_render(pieces, v, mask) for v in values]
    whole = tokenizer(texts, truncation=False, verbose=False)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in whole]
    encodings = [{k: whole[k][i] for k in keys} for i in range(len(rows))]
    cut = 0
    for i, encoding in enumerate(encodings):
        if len(encoding["input_ids"]) > max_length:
            encodings[i] = _cut_to_fit(
                tokenizer, pieces, values[i], max_length, keys, source, rows[i]
            )
            cut += 1
        if encodings[i]["input_ids"].count(tokenizer.mask_token_id) != 1:
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {rows[i].get('idx')!r} does not encode to "
                "exactly one mask token",
            )
    return encodings, cut


def _row_values(
    row: dict[str, Any], prompt: Prompt, mask: str, source: str
) -> dict[str, str]:
    values = {}
    for name in prompt.fields():
        if name not in row:
            raise UserError(
                "execute.bad_data", f"{source}: a row has no text field {name!r}"
            )
        values[name] = " ".join(str(row[name]).replace(mask, " ").split())
    return values


def _render(pieces: list[tuple[str, str]], values: dict[str, str], mask: str) -> str:
    return "".join(
        value if kind == "text" else mask if kind == "mask" else values[value]
        for kind, value in pieces
    )


def _cut_to_fit(
    tokenizer: Any,
    pieces: list[tuple[str, str]],
    values: dict[str, str],
    max_length: int,
    keys: list[str],
    source: str,
    row: dict[str, Any],
) -> Encoding:
    """Shorten the longest fields (in tokens) until the prompted row fits."""
    ids = {
        name: tokenizer(text, add_special_tokens=False)["input_ids"]
        for name, text in values.items()
    }
    values = dict(values)
    for _ in range(_MAX_CUTS):
        encoded = tokenizer(_render(pieces, values, tokenizer.mask_token))
        excess = len(encoded["input_ids"]) - max_length
        if excess <= 0:
            return {k: encoded[k] for k in keys}
        if not any(ids.values()):
            break
        for _ in range(excess):
            longest = max(ids, key=lambda name: len(ids[name]))
            ids[longest] = ids[longest][:-1]
        values = {
            name: tokenizer.decode(
                kept, skip_special_tokens=True, clean_up_tokenization_spaces=False
            )
            for name, kept in ids.items()
        }
    raise UserError(
        "execute.bad_data",
        f"{source}: row idx {row.get('idx')!r}: the prompt alone is longer than "
        f"{max_length} tokens",
    )
