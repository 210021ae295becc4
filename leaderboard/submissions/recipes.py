"""Which recipe an evaluation runs: the one place the submissions side resolves it.

``runners.recipes.get_recipe`` knows the recipes as data; this module applies them to
the rows of this app (a Task, an Evaluation), so creating evaluations, re-running
one, retrying one at half the batch and preparing a job all agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runners.recipes import Recipe, get_recipe

if TYPE_CHECKING:
    from leaderboard.catalogue.models import Task
    from leaderboard.submissions.models import Evaluation


def task_recipe(recipe_name: str, task: Task) -> Recipe:
    """The recipe ``recipe_name`` as it applies to ``task`` (LRA's fixed numbers,
    long-context lengths, more seeds for small tasks)."""
    return get_recipe(recipe_name, task_name=task.name, task_type=task.task_type)


def job_recipe(evaluation: Evaluation) -> Recipe:
    """The recipe a job of ``evaluation`` runs: its task's, at half the batch with
    twice the gradient accumulation after an out-of-memory failure (the effective
    batch, and so the version, unchanged)."""
    recipe = task_recipe(evaluation.recipe_name, evaluation.task)
    if evaluation.gradient_accumulation_steps > 1:
        recipe = recipe.with_half_batch() or recipe
    return recipe
