"""Which recipe an evaluation runs: the one place the submissions side resolves it.

``runners.recipes.get_recipe`` knows the recipes as data; this module applies them to
the rows of this app (a Task, an Evaluation), so creating evaluations, re-running
one, retrying one at half the batch and preparing a job all agree.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from runners.recipes import Recipe, get_recipe, with_method
from tasks.errors import UserError
from tasks.registry import get_task

if TYPE_CHECKING:
    from leaderboard.catalogue.models import Task
    from leaderboard.submissions.models import Evaluation


TASK_LENGTH_RECIPES = ("quick", "standard")
"""The named recipes that cut inputs where a task's benchmark does (the task's
``max_length``); ``smoke`` stays a smoke test at its own length."""


def task_recipe(recipe_name: str, task: Task, method: str = "full") -> Recipe:
    """The recipe ``recipe_name`` as it applies to ``task`` (LRA's fixed numbers,
    long-context lengths, more seeds for small tasks, the input length a task's
    benchmark fine-tunes at), fine-tuning with ``method`` (a track)."""
    recipe = get_recipe(recipe_name, task_name=task.name, task_type=task.task_type)
    return with_method(with_task_length(recipe, task.name), method)


def with_task_length(recipe: Recipe, task_name: str) -> Recipe:
    """``recipe`` cutting inputs at the task's ``max_length`` (KLEJ's baselines: 256
    tokens, 510 for PSC), where the task declares one; the version says so
    (``+len<N>``), so runs at other lengths never share a recipe version."""
    if recipe.name not in TASK_LENGTH_RECIPES:
        return recipe
    try:
        length = get_task(task_name).max_length
    except UserError as error:
        if error.code != "catalogue.unknown_task":
            raise
        return recipe
    if length is None or length == recipe.max_length:
        return recipe
    return dataclasses.replace(
        recipe, max_length=length, version=f"{recipe.version}+len{length}"
    )


def job_recipe(evaluation: Evaluation) -> Recipe:
    """The recipe a job of ``evaluation`` runs: its task's, at half the batch with
    twice the gradient accumulation after an out-of-memory failure (the effective
    batch, and so the version, unchanged)."""
    recipe = task_recipe(evaluation.recipe_name, evaluation.task, evaluation.method)
    if evaluation.gradient_accumulation_steps > 1:
        recipe = recipe.with_half_batch() or recipe
    return recipe
