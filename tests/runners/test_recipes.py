"""The recipes are data: their numbers are part of every score, so pin them."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from runners.contract import REQUIRED_RECIPE_KEYS
from runners.recipes import RECIPE_NAMES, Recipe, get_recipe
from tasks.errors import UserError

SPEC_RECIPE_KEYS = {*REQUIRED_RECIPE_KEYS, "name", "gradient_accumulation_steps"}
"""What a recipe writes into a job spec: what the contract requires of it, plus its
name and accumulation (warmup_steps only when a fixed recipe sets it, and
max_train_tokens only when the recipe cuts at a token budget)."""


def _get(name: str, task_name: str = "glue/sst2") -> Recipe:
    return get_recipe(name, task_name=task_name, task_type="classification")


def test_every_named_recipe_exists_with_a_versioned_name() -> None:
    for name in RECIPE_NAMES:
        recipe = _get(name)
        assert recipe.name == name
        assert recipe.version.startswith(f"{name}@")
        assert (recipe.optimizer, recipe.scheduler) == ("adamw", "linear")
        assert recipe.gradient_accumulation_steps == 1


def test_each_recipe_pins_its_precision() -> None:
    # A recipe never runs in another precision (kernels.numerics): smoke and quick
    # compute in fp32 in the pinned CPU profile, standard in bf16 only. Pinning
    # changed what each computes somewhere, so every version moved on.
    assert (_get("smoke").precision, _get("smoke").version) == ("fp32", "smoke@4")
    assert (_get("quick").precision, _get("quick").version) == ("fp32", "quick@5")
    assert (_get("standard").precision, _get("standard").version) == (
        "bf16",
        "standard@6",
    )


def test_half_batch_keeps_the_effective_batch_for_an_out_of_memory_retry() -> None:
    quick = _get("quick")
    half = quick.with_half_batch()
    assert half is not None
    assert (half.batch_size, half.gradient_accumulation_steps) == (16, 2)
    assert half.effective_batch_size == quick.effective_batch_size == 32
    assert half.eval_batch_size == 32
    assert half.version == quick.version
    assert half.with_half_batch().effective_batch_size == 32
    one = dataclasses.replace(quick, batch_size=1)
    assert one.with_half_batch() is None


def test_smoke_recipe_is_a_few_steps_on_a_few_rows() -> None:
    smoke = _get("smoke")
    assert smoke.max_steps == 4
    assert smoke.batch_size == 8
    assert smoke.max_train_examples == 64
    assert smoke.max_length == 64
    assert smoke.seeds == (0,)


def test_quick_recipe_is_two_epochs_cut_at_a_token_budget() -> None:
    quick = _get("quick")
    assert quick.max_train_examples is None
    assert (quick.epochs, quick.max_steps) == (2, None)
    assert quick.max_train_tokens == 200_000
    assert quick.batch_size == 32
    assert quick.learning_rate == 4e-5
    assert (quick.warmup_ratio, quick.weight_decay) == (0.1, 0.01)
    assert quick.max_length == 128
    assert quick.seeds == (0,)


@pytest.mark.parametrize(
    ("rows", "mean_length", "steps"),
    [
        # GLUE's train splits as MiniLM's tokenizer cuts them at 128 tokens.
        (8551, 11.3, 536),  # CoLA: short sentences, both epochs fit the budget
        (2490, 66.6, 94),  # RTE: long pairs, cut after ~1.2 epochs
        (67349, 13.3, 481),  # SST-2: a fraction of one epoch
    ],
)
def test_the_token_budget_cuts_long_tasks_and_keeps_short_ones_whole(
    rows: int, mean_length: float, steps: int
) -> None:
    from runners.training.loop import total_steps

    recipe = _get("quick").to_dict()
    lengths = [round(mean_length)] * rows
    assert total_steps(recipe, lengths, recipe["batch_size"]) == steps


def test_max_steps_wins_over_the_token_budget_and_the_budget_is_at_least_a_step():
    from runners.training.loop import total_steps

    recipe = {"max_steps": 7, "epochs": 2, "max_train_tokens": 10}
    assert total_steps(recipe, [100] * 64, 32) == 7
    recipe = {"max_steps": None, "epochs": 2, "max_train_tokens": 10}
    assert total_steps(recipe, [100] * 64, 32) == 1
    recipe = {"max_steps": None, "epochs": 2}
    assert total_steps(recipe, [100] * 65, 32) == 6


def test_standard_recipe_is_three_epochs_on_the_full_train_split() -> None:
    standard = _get("standard")
    assert standard.max_train_examples is None
    assert (standard.epochs, standard.max_steps) == (3, None)
    assert standard.learning_rate == 2e-5
    assert standard.batch_size == 32
    assert (standard.warmup_ratio, standard.weight_decay) == (0.1, 0.01)
    assert standard.max_length == 128
    assert standard.seeds == (0, 1, 2)


@pytest.mark.parametrize(
    "task_name", ["glue/rte", "glue/mrpc", "glue/stsb", "glue/cola", "glue/wnli"]
)
def test_standard_recipe_runs_five_seeds_on_small_tasks(task_name: str) -> None:
    assert _get("standard", task_name).seeds == (0, 1, 2, 3, 4)
    assert _get("quick", task_name).seeds == (0,)


def test_to_dict_matches_the_spec_recipe_object() -> None:
    data = _get("quick").to_dict()
    assert set(data) == SPEC_RECIPE_KEYS | {"max_train_tokens"}
    assert data["version"] == "quick@5"
    assert data["max_steps"] is None


def test_recipes_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _get("quick").learning_rate = 1.0  # type: ignore[misc]


def test_unknown_recipe_is_a_user_error() -> None:
    with pytest.raises(UserError) as caught:
        _get("turbo")
    assert caught.value.code == "recipe.unknown"
    assert "quick" in caught.value.message


def test_unknown_task_type_is_a_user_error() -> None:
    with pytest.raises(UserError):
        get_recipe("quick", task_name="glue/sst2", task_type="ranking")


def test_recipes_and_the_sandbox_program_do_not_import_django() -> None:
    code = (
        "import sys, runners.recipes, runners.execute, runners.training;"
        "sys.exit('django' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
