"""The standard fine-tuning recipes, as versioned data.

Every submission is fine-tuned by the platform with one of these recipes, so
scores compare models rather than training tricks. A recipe's ``version`` is
stored with every Result; change any number below and the version must be
bumped, because scores from the old and new recipe cannot share a leaderboard.

This module is plain Python (no Django) because the worker builds job specs
from it and the catalogue tests read it without a database.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from tasks.errors import UserError

RECIPE_NAMES: tuple[str, ...] = ("smoke", "quick", "standard")

SMALL_TASKS: frozenset[str] = frozenset(
    {"glue/rte", "glue/mrpc", "glue/stsb", "glue/cola", "glue/wnli"}
)
"""Tasks whose dev scores swing with the seed, so ``standard`` runs five seeds."""

TASK_TYPES: tuple[str, ...] = ("classification", "regression")


@dataclass(frozen=True)
class Recipe:
    """One fine-tuning recipe: every knob that can change a score.

    ``max_steps`` (when set) overrides ``epochs``; ``max_train_examples`` (when
    set) keeps a seeded random subsample of the training split. ``seeds`` are
    the seeds the worker runs; each seed is a separate job.

    ``precision`` is ``"fp32"`` or ``"bf16"``; ``"bf16"`` means bf16 autocast on
    a CUDA device that supports it and fp32 elsewhere (the run records the
    precision it used). ``gradient_accumulation_steps`` splits each optimizer
    step into that many micro-batches of ``batch_size`` rows; the effective
    batch is ``batch_size * gradient_accumulation_steps``. The recipes all use
    1; the worker raises it only to retry an out-of-memory run
    (``with_half_batch``), which keeps the effective batch and so the version.
    """

    name: str
    version: str
    learning_rate: float
    batch_size: int
    eval_batch_size: int
    epochs: int
    max_steps: int | None
    warmup_ratio: float
    weight_decay: float
    max_length: int
    max_train_examples: int | None
    optimizer: str = "adamw"
    scheduler: str = "linear"
    precision: str = "fp32"
    gradient_accumulation_steps: int = 1
    seeds: tuple[int, ...] = (0,)

    @property
    def effective_batch_size(self) -> int:
        """Rows per optimizer step: what the recipe's numbers were tuned for."""
        return self.batch_size * self.gradient_accumulation_steps

    def with_half_batch(self) -> Recipe | None:
        """The same recipe at half the micro-batch and twice the accumulation.

        Used to retry a run that ran out of memory: the effective batch (and the
        learning-rate schedule, which counts optimizer steps) is unchanged, so
        the version is too. The evaluation batch is halved as well. None when
        the batch cannot be halved evenly.
        """
        if self.batch_size < 2 or self.batch_size % 2:
            return None
        return dataclasses.replace(
            self,
            batch_size=self.batch_size // 2,
            eval_batch_size=max(1, self.eval_batch_size // 2),
            gradient_accumulation_steps=self.gradient_accumulation_steps * 2,
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the spec's ``recipe`` object (seeds travel as the job's ``seed``)."""
        data = dataclasses.asdict(self)
        del data["seeds"]
        return data


# Version history: @2 of smoke/quick (@3 of standard, whose @2 added bf16) trains on
# length-bucketed batches from kernels.batching and runs BERT-family encoders
# padding-free, which changes which rows share a step and so the scores.
_SMOKE = Recipe(
    name="smoke",
    version="smoke@2",
    learning_rate=5e-5,
    batch_size=8,
    eval_batch_size=64,
    epochs=1,
    max_steps=4,
    warmup_ratio=0.0,
    weight_decay=0.01,
    max_length=64,
    max_train_examples=64,
    seeds=(0,),
)

_QUICK = Recipe(
    name="quick",
    version="quick@2",
    learning_rate=5e-5,
    batch_size=32,
    eval_batch_size=64,
    epochs=1,
    max_steps=None,
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_length=128,
    max_train_examples=2000,
    seeds=(0,),
)

_STANDARD = Recipe(
    name="standard",
    version="standard@3",
    learning_rate=2e-5,
    batch_size=32,
    eval_batch_size=64,
    epochs=3,
    max_steps=None,
    warmup_ratio=0.1,
    weight_decay=0.01,
    max_length=128,
    max_train_examples=None,
    precision="bf16",
    seeds=(0, 1, 2),
)

_RECIPES: dict[str, Recipe] = {r.name: r for r in (_SMOKE, _QUICK, _STANDARD)}


def get_recipe(name: str, *, task_name: str, task_type: str) -> Recipe:
    """Return the recipe ``name`` as it applies to one task.

    The task matters because small tasks get more seeds under ``standard``
    (their scores are noisy); ``task_type`` is checked so a typo fails here,
    not inside a sandbox an hour later.
    """
    recipe = _RECIPES.get(name)
    if recipe is None:
        known = ", ".join(RECIPE_NAMES)
        raise UserError("recipe.unknown", f"Unknown recipe {name!r}; known: {known}.")
    if task_type not in TASK_TYPES:
        raise UserError(
            "recipe.bad_task_type",
            f"Unknown task type {task_type!r}; expected one of "
            f"{', '.join(TASK_TYPES)}.",
        )
    if name == "standard" and task_name in SMALL_TASKS:
        recipe = dataclasses.replace(recipe, seeds=(0, 1, 2, 3, 4))
    return recipe
