"""Rows in, encodings out: the job's JSONL rows, their labels, their token ids.

An encoding is one row's unpadded token ids (``input_ids``, ``attention_mask``,
maybe ``token_type_ids``; a two-tower row also has the second text's under
``pair_*`` keys); batches pad later, each to its own longest row. A row the
tokenizer or the task vocabulary cannot take fails here as ``execute.bad_data``
naming the file and the row, before any training.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tasks.errors import UserError

Encoding = dict[str, list[int]]

# Keys of the second tower's inputs in a two-tower encoding ("pair_input_ids", ...).
PAIR_PREFIX = "pair_"


def row_length(encoding: Encoding) -> int:
    """Tokens of one row: both towers' for a two-tower row."""
    return len(encoding["input_ids"]) + len(encoding.get("pair_input_ids", ()))


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read the worker's JSONL rows; a malformed line names the file and line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserError(
                    "execute.bad_data", f"{path}, line {number}: not JSON ({exc})"
                ) from exc
            if not isinstance(row, dict) or "idx" not in row:
                raise UserError(
                    "execute.bad_data", f"{path}, line {number}: no 'idx' in the row"
                )
            rows.append(row)
    return rows


def train_labels(
    rows: list[dict[str, Any]],
    regression: bool,
    num_labels: int,
    source: str,
    *,
    multi_label: bool = False,
) -> list[int] | list[float] | list[list[float]]:
    """Training targets, checked so a bad label fails here with a clear message.

    Multi-label rows list distinct class indices; their target is the multi-hot
    vector (one 0/1 per class) the BCE loss takes.
    """
    labels: list[Any] = []
    for row in rows:
        label = row.get("label")
        if multi_label:
            ok = isinstance(label, list) and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < num_labels
                for i in label
            )
            ok = ok and len(set(label)) == len(label)
        elif regression:
            ok = (
                isinstance(label, int | float)
                and not isinstance(label, bool)
                and math.isfinite(label)
            )
        else:
            ok = (
                isinstance(label, int)
                and not isinstance(label, bool)
                and 0 <= label < num_labels
            )
        if not ok:
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r} has a bad label {label!r}",
            )
        if multi_label:
            labels.append([1.0 if i in label else 0.0 for i in range(num_labels)])
        else:
            labels.append(float(label) if regression else label)
    return labels


def encode(
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    text_fields: Sequence[str],
    max_length: int,
    source: str,
) -> list[Encoding]:
    """Tokenize rows (one text or a pair) without padding; batches pad later."""
    limit = tokenizer.model_max_length
    if isinstance(limit, int) and 0 < limit < max_length:
        max_length = limit
    encodings, _ = encode_rows(
        rows, text_fields, max_length, source, tokenizer=tokenizer
    )
    return encodings


def encode_rows(
    rows: Sequence[dict[str, Any]],
    text_fields: Sequence[str],
    max_length: int,
    source: str,
    *,
    tokenizer: Any | None = None,
    vocabulary: Any | None = None,
    two_tower: bool = False,
    keep_second: bool = False,
) -> tuple[list[Encoding], int]:
    """Encode rows without padding (batches pad later); returns (encodings, rows cut).

    ``max_length`` is the most tokens a row (or each tower's text) keeps, the
    caller having capped it at the model's maximum. A ``vocabulary`` (task
    supplied) encodes each field with a leading ``[CLS]`` and up to
    ``max_length`` symbols; otherwise the tokenizer encodes one text or a pair.
    ``two_tower`` encodes the two fields separately (``pair_*`` keys hold the
    second). ``keep_second`` cuts a too-long pair from its first text only
    (a long context keeps its question), falling back to cutting the longer one
    when the second alone is too long. Rows longer than allowed are counted.
    """
    for name in text_fields:
        missing = next((row for row in rows if name not in row), None)
        if missing is not None:
            raise UserError(
                "execute.bad_data", f"{source}: a row has no text field {name!r}"
            )
    if not rows:
        return [], 0
    if vocabulary is not None:
        columns = [
            _vocabulary_column(vocabulary, rows, name, max_length, source)
            for name in text_fields
        ]
    elif two_tower:
        columns = [
            _tokenize(tokenizer, [[str(row[name]) for row in rows]], max_length, False)
            for name in text_fields
        ]
    else:
        texts = [[str(row[name]) for row in rows] for name in text_fields]
        columns = [_tokenize(tokenizer, texts, max_length, keep_second)]
    encodings = columns[0][0]
    truncated = list(columns[0][1])
    if len(columns) == 2:
        for i, (encoding, cut) in enumerate(zip(*columns[1], strict=True)):
            encodings[i] |= {PAIR_PREFIX + k: v for k, v in encoding.items()}
            truncated[i] = truncated[i] or cut
    return encodings, sum(truncated)


def _vocabulary_column(
    vocabulary: Any,
    rows: Sequence[dict[str, Any]],
    name: str,
    max_length: int,
    source: str,
) -> tuple[list[Encoding], list[bool]]:
    """One field of every row through a task vocabulary: ``[CLS]`` + symbols."""
    encodings, truncated = [], []
    for row in rows:
        value = row[name]
        if vocabulary.name != "pixels":
            value = str(value)
        try:
            ids = vocabulary.encode(value, max_length + 2, add_cls=True)
        except (UserError, TypeError, AttributeError) as exc:
            detail = exc.message if isinstance(exc, UserError) else str(exc)
            raise UserError(
                "execute.bad_data",
                f"{source}: row idx {row.get('idx')!r}, field {name!r}: {detail}",
            ) from exc
        truncated.append(len(ids) > max_length + 1)
        ids = ids[: max_length + 1]
        encodings.append({"input_ids": ids, "attention_mask": [1] * len(ids)})
    return encodings, truncated


def _tokenize(
    tokenizer: Any, texts: list[list[str]], max_length: int, keep_second: bool
) -> tuple[list[Encoding], list[bool]]:
    """Tokenize one text or a pair per row; rows past ``max_length`` are cut.

    Rows are first tokenized whole, so the rows that are cut can be counted
    and only they are tokenized again with truncation.
    """
    whole = tokenizer(*texts, truncation=False, verbose=False)
    keys = [k for k in ("input_ids", "token_type_ids", "attention_mask") if k in whole]
    encodings = [{k: whole[k][i] for k in keys} for i in range(len(texts[0]))]
    long = [i for i, e in enumerate(encodings) if len(e["input_ids"]) > max_length]
    for i in long:
        row = [column[i] for column in texts]
        strategy = "only_first" if keep_second and len(row) == 2 else True
        try:
            cut = tokenizer(*row, truncation=strategy, max_length=max_length)
        except Exception:
            # The second text alone is longer than max_length: cut the longer one.
            cut = tokenizer(*row, truncation=True, max_length=max_length)
        encodings[i] = {k: cut[k] for k in keys}
    truncated = [False] * len(encodings)
    for i in long:
        truncated[i] = True
    return encodings, truncated
