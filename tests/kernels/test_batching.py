"""Length-aware batching plans: coverage, determinism, budgets."""

from __future__ import annotations

import random

import pytest

from kernels.batching import (
    inference_batches,
    inference_plan,
    padded_cost,
    token_budget_batches,
    train_batches,
    train_token_budget_batches,
)


def _lengths(n: int = 500, seed: int = 1) -> list[int]:
    rng = random.Random(seed)
    return [rng.randint(1, 120) for _ in range(n)]


def _flat(batches):
    return [i for batch in batches for i in batch]


@pytest.mark.parametrize("epoch", [0, 3])
def test_train_batches_cover_every_row_once_per_epoch(epoch):
    lengths = _lengths()
    batches = train_batches(lengths, batch_size=32, seed=0, epoch=epoch)
    assert sorted(_flat(batches)) == list(range(len(lengths)))
    assert all(len(b) == 32 for b in batches[:-1])
    assert len(batches) == -(-len(lengths) // 32)


def test_train_batches_are_deterministic_under_a_seed():
    lengths = _lengths()
    first = train_batches(lengths, batch_size=16, seed=7)
    assert first == train_batches(lengths, batch_size=16, seed=7)


def test_train_batches_differ_between_seeds_and_epochs():
    lengths = _lengths()
    base = train_batches(lengths, batch_size=16, seed=7)
    assert base != train_batches(lengths, batch_size=16, seed=8)
    assert base != train_batches(lengths, batch_size=16, seed=7, epoch=1)


def test_train_batches_pad_much_less_than_shuffled_batches():
    lengths = _lengths(2000)
    bucketed = train_batches(lengths, batch_size=32, seed=0)
    order = list(range(len(lengths)))
    random.Random(0).shuffle(order)
    shuffled = [order[i : i + 32] for i in range(0, len(order), 32)]
    cost = sum(padded_cost(lengths, b) for b in bucketed)
    assert cost < 0.7 * sum(padded_cost(lengths, b) for b in shuffled)
    assert cost / sum(lengths) < 1.1


@pytest.mark.parametrize("budget", [64, 300, 2048])
def test_token_budget_batches_respect_the_budget_counting_padding(budget):
    lengths = _lengths()
    batches = token_budget_batches(range(len(lengths)), lengths, budget)
    assert _flat(batches) == list(range(len(lengths)))
    for batch in batches:
        assert padded_cost(lengths, batch) <= budget or len(batch) == 1


def test_a_row_longer_than_the_budget_gets_its_own_batch():
    assert token_budget_batches([0, 1, 2], [5, 50, 5], 20) == [[0], [1], [2]]


def test_train_token_budget_batches_cover_respect_and_repeat():
    lengths = _lengths()
    batches = train_token_budget_batches(lengths, max_tokens=512, seed=3)
    assert sorted(_flat(batches)) == list(range(len(lengths)))
    assert all(padded_cost(lengths, b) <= 512 for b in batches)
    assert batches == train_token_budget_batches(lengths, max_tokens=512, seed=3)
    assert batches != train_token_budget_batches(lengths, max_tokens=512, seed=4)


def test_inference_batches_sort_longest_first_and_return_the_permutation():
    lengths = _lengths()
    batches, order = inference_batches(lengths, max_tokens=1000)
    assert _flat(batches) == order
    assert sorted(order) == list(range(len(lengths)))
    assert [lengths[i] for i in order] == sorted(lengths, reverse=True)
    assert all(padded_cost(lengths, b) <= 1000 for b in batches)
    # Results computed in plan order go back to input order through ``order``.
    computed = [lengths[i] * 10 for i in order]
    restored = [0] * len(lengths)
    for k, i in enumerate(order):
        restored[i] = computed[k]
    assert restored == [n * 10 for n in lengths]


def test_inference_batches_cap_rows():
    batches, _ = inference_batches([1] * 100, max_tokens=1000, max_rows=8)
    assert max(len(b) for b in batches) == 8


def test_inference_plan_averages_the_batch_size():
    lengths = _lengths(640)
    batches, _ = inference_plan(lengths, batch_size=32)
    assert 16 <= len(lengths) / len(batches) <= 40
    assert inference_plan([], batch_size=32) == ([], [])
