"""A batch's real tokens laid end to end, and the padded batch it replaces.

:func:`pack` lays the rows of a batch end to end (``cu_seqlens`` style: one
``[total_tokens]`` id tensor, position ids restarting at 0 for each row, token
types per row), sorted longest first so rows of equal length sit next to each
other: each such run is a free ``[rows, length, ...]`` view of any per-token
tensor, which is how attention and pooling see rows without a pad. :func:`pad`
is the reference path's input (each row padded to the batch's longest).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

POOLING_MODES = ("cls", "mean", "max", "mean_sqrt_len", "lasttoken")
"""Poolings of a pooled classifier (``runners.training.pooling.PooledClassifier``:
an encoder, a ``pooling`` mode, ``dropout`` and a linear ``head``) computed here."""


@dataclass
class PackedBatch:
    """Real tokens of a batch laid end to end, rows grouped by equal length.

    ``rows`` lists the batch positions in pack order (so ``logits[k]`` belongs to
    batch row ``rows[k]``); ``runs`` lists (first row, row count, length) for each
    run of equal-length rows; ``starts`` indexes each row's first token.
    """

    input_ids: torch.Tensor
    token_type_ids: torch.Tensor
    position_ids: torch.Tensor
    cu_seqlens: torch.Tensor
    starts: torch.Tensor
    rows: list[int]
    runs: list[tuple[int, int, int]]

    @property
    def total_tokens(self) -> int:
        return int(self.input_ids.shape[0])

    def to(self, device: torch.device | str) -> PackedBatch:
        move = {"non_blocking": True}
        return PackedBatch(
            self.input_ids.to(device, **move),
            self.token_type_ids.to(device, **move),
            self.position_ids.to(device, **move),
            self.cu_seqlens.to(device, **move),
            self.starts.to(device, **move),
            self.rows,
            self.runs,
        )

    def run_views(self, tokens: torch.Tensor) -> Iterator[tuple[torch.Tensor, int]]:
        """Each run of equal-length rows of a per-token tensor ``[total, ...]`` as
        a ``[rows, length, ...]`` view, with its length.

        Token offsets come from the runs (host ints), never from ``cu_seqlens``:
        on a GPU reading that tensor back would synchronise the device.
        """
        if len(self.runs) == 1:
            _, count, length = self.runs[0]
            yield tokens.view(count, length, *tokens.shape[1:]), length
            return
        offset = 0
        for _, count, length in self.runs:
            chunk = tokens[offset : offset + count * length]
            offset += count * length
            yield chunk.view(count, length, *tokens.shape[1:]), length


def pack(encodings: Sequence[dict[str, list[int]]]) -> PackedBatch:
    """Pack tokenized rows (``input_ids`` and optional ``token_type_ids``).

    Rows are stably sorted by length, longest first, so equal lengths are
    contiguous; an already sorted batch keeps its order.
    """
    rows = sorted(range(len(encodings)), key=lambda i: -len(encodings[i]["input_ids"]))
    ids: list[int] = []
    types: list[int] = []
    positions: list[int] = []
    cu = [0]
    runs: list[tuple[int, int, int]] = []
    for k, i in enumerate(rows):
        enc = encodings[i]
        length = len(enc["input_ids"])
        if length == 0:
            raise ValueError("cannot pack an empty row")
        ids.extend(enc["input_ids"])
        types.extend(enc.get("token_type_ids") or [0] * length)
        positions.extend(range(length))
        cu.append(cu[-1] + length)
        if runs and runs[-1][2] == length:
            first, count, _ = runs[-1]
            runs[-1] = (first, count + 1, length)
        else:
            runs.append((k, 1, length))
    cu_seqlens = torch.tensor(cu, dtype=torch.int32)
    return PackedBatch(
        input_ids=torch.tensor(ids, dtype=torch.long),
        token_type_ids=torch.tensor(types, dtype=torch.long),
        position_ids=torch.tensor(positions, dtype=torch.long),
        cu_seqlens=cu_seqlens,
        starts=cu_seqlens[:-1].long(),
        rows=rows,
        runs=runs,
    )


def pad(
    encodings: Sequence[dict[str, list[int]]], pad_id: int, padding_side: str = "right"
) -> dict[str, torch.Tensor]:
    """Pad a batch to its own longest row (the reference path's input)."""
    width = max(len(e["input_ids"]) for e in encodings)
    fill = {"input_ids": pad_id, "token_type_ids": 0, "attention_mask": 0}
    keys = [k for k in fill if k in encodings[0]]
    if "attention_mask" not in keys:
        keys.append("attention_mask")
    out = {}
    for key in keys:
        tensor = torch.full((len(encodings), width), fill[key], dtype=torch.long)
        for row, enc in enumerate(encodings):
            values = enc.get(key) or [1] * len(enc["input_ids"])
            if padding_side == "left":
                tensor[row, width - len(values) :] = torch.tensor(values)
            else:
                tensor[row, : len(values)] = torch.tensor(values)
        out[key] = tensor
    return out


def pool_packed(hidden: torch.Tensor, batch: PackedBatch, mode: str) -> torch.Tensor:
    """One vector per row, in pack order, from packed token states: each run of
    equal-length rows is a free ``[rows, length, hidden]`` view, so a mean or a
    max is one reduction per run with no mask (the padded reference masks pads)."""
    pooled = []
    for rows, length in batch.run_views(hidden):
        if mode == "cls":
            pooled.append(rows[:, 0])
        elif mode == "mean":
            pooled.append(rows.mean(dim=1))
        elif mode == "mean_sqrt_len":
            pooled.append(rows.sum(dim=1) / length**0.5)
        elif mode == "max":
            pooled.append(rows.amax(dim=1))
        elif mode == "lasttoken":
            pooled.append(rows[:, -1])
        else:
            raise ValueError(f"unknown pooling mode {mode!r}")
    return pooled[0] if len(pooled) == 1 else torch.cat(pooled)
