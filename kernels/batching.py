"""Length-aware batching: put rows of similar length together so little is padded.

Two plans, both plain lists of row indices so any collate function can use them:

* training (:func:`train_batches`): shuffle under a seed, cut the shuffled order
  into large buckets, sort each bucket by length, cut it into batches and shuffle
  the batches. Every row is seen exactly once per epoch and the batches are still
  random, but each holds rows of near-equal length.
* inference (:func:`inference_batches`): sort every row by length (longest first,
  so an out-of-memory failure shows on the first batch) and cut into token-budget
  batches; the permutation is returned so predictions go back in input order.

A token budget counts padding: a batch of ``n`` rows whose longest row has ``L``
tokens costs ``n * L`` tokens, which is what a padded model computes and what a
packed one holds in memory for attention in the worst case.

Plain reference: :func:`padded_cost` recomputes a plan's cost from scratch, and the
tests check every plan against it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

__all__ = [
    "BUCKET_BATCHES",
    "inference_batches",
    "inference_plan",
    "padded_cost",
    "token_budget_batches",
    "train_batches",
    "train_token_budget_batches",
]

BUCKET_BATCHES = 50
"""Batches per sorting bucket in training: large enough that rows in a batch are of
near-equal length, small enough that batch order stays well mixed across lengths."""


def padded_cost(lengths: Sequence[int], batch: Sequence[int]) -> int:
    """Tokens a padded model computes for ``batch``: rows x longest row."""
    return len(batch) * max((lengths[i] for i in batch), default=0)


def token_budget_batches(
    order: Sequence[int], lengths: Sequence[int], max_tokens: int
) -> list[list[int]]:
    """Cut ``order`` (row indices, in the order wanted) into consecutive batches of at
    most ``max_tokens`` tokens counting padding to each batch's longest row.

    A single row longer than the budget still gets a batch of its own (a row is
    never split or dropped).
    """
    if max_tokens <= 0:
        raise ValueError("max_tokens must be positive")
    batches: list[list[int]] = []
    current: list[int] = []
    longest = 0
    for index in order:
        length = lengths[index]
        widest = max(longest, length)
        if current and widest * (len(current) + 1) > max_tokens:
            batches.append(current)
            current, widest = [], length
        current.append(index)
        longest = widest
    if current:
        batches.append(current)
    return batches


def train_batches(
    lengths: Sequence[int],
    *,
    batch_size: int,
    seed: int,
    epoch: int = 0,
    bucket_batches: int = BUCKET_BATCHES,
) -> list[list[int]]:
    """One epoch of training batches of ``batch_size`` rows, length-bucketed.

    The batch size stays the recipe's (every batch but possibly the last holds
    exactly ``batch_size`` rows), so the number of optimiser steps, the loss
    averaging and the learning-rate schedule are those of plain shuffled batches;
    only which rows share a batch changes. Deterministic for a (seed, epoch) pair.
    """
    if batch_size <= 0:
        raise ValueError("batch_size must be positive")
    rng = random.Random(f"glew-batches:{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    bucket = max(1, bucket_batches) * batch_size
    batches: list[list[int]] = []
    for first in range(0, len(order), bucket):
        # Stable sort on the shuffled order: ties keep their random order.
        chunk = sorted(order[first : first + bucket], key=lambda i: lengths[i])
        batches.extend(
            chunk[at : at + batch_size] for at in range(0, len(chunk), batch_size)
        )
    # Keep a short last batch last, as plain shuffled batching would have it.
    tail = [batches.pop()] if batches and len(batches[-1]) < batch_size else []
    rng.shuffle(batches)
    return batches + tail


def train_token_budget_batches(
    lengths: Sequence[int],
    *,
    max_tokens: int,
    seed: int,
    epoch: int = 0,
    bucket_tokens: int | None = None,
) -> list[list[int]]:
    """One epoch of token-budget training batches (a variable number of rows each).

    Buckets of about ``bucket_tokens`` real tokens (default 50 budgets) are sorted
    by length and cut by budget; the batches are then shuffled. Use when memory,
    not the optimiser, fixes the batch (the number of steps then depends on the
    length distribution).
    """
    rng = random.Random(f"glew-token-batches:{seed}:{epoch}")
    order = list(range(len(lengths)))
    rng.shuffle(order)
    bucket_tokens = bucket_tokens or BUCKET_BATCHES * max_tokens
    batches: list[list[int]] = []
    chunk: list[int] = []
    tokens = 0
    for index in order + [None]:  # type: ignore[list-item]
        if index is not None:
            chunk.append(index)
            tokens += lengths[index]
        if chunk and (index is None or tokens >= bucket_tokens):
            chunk.sort(key=lambda i: lengths[i])
            batches.extend(token_budget_batches(chunk, lengths, max_tokens))
            chunk, tokens = [], 0
    rng.shuffle(batches)
    return batches


def inference_batches(
    lengths: Sequence[int], *, max_tokens: int, max_rows: int | None = None
) -> tuple[list[list[int]], list[int]]:
    """Token-budget batches over rows sorted longest first.

    Returns ``(batches, order)``: ``order`` is the permutation the batches walk
    (``order[k]`` is the input position of the k-th row computed), so results
    concatenated batch by batch go back to input order with
    ``out[order[k]] = result[k]``. Ties keep input order, so the plan is
    deterministic. ``max_rows`` caps rows per batch (e.g. the recipe's eval batch
    size times a factor) so very short rows do not make huge batches.
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    batches = token_budget_batches(order, lengths, max_tokens)
    if max_rows:
        batches = [
            batch[at : at + max_rows]
            for batch in batches
            for at in range(0, len(batch), max_rows)
        ]
    return batches, order


def inference_plan(
    lengths: Sequence[int], *, batch_size: int
) -> tuple[list[list[int]], list[int]]:
    """The runner's prediction plan: a token budget of ``batch_size`` times the
    mean row length, so batches hold ``batch_size`` rows on average (more short
    rows, fewer long ones) and never more tokens than ``batch_size`` padded rows
    of the mean length."""
    if not lengths:
        return [], []
    mean = -(-sum(lengths) // len(lengths))
    return inference_batches(lengths, max_tokens=max(1, batch_size) * mean)
