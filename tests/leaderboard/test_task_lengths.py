"""The quick and standard recipes cut inputs where a task's benchmark does."""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from leaderboard.submissions.recipes import task_recipe
from runners.recipes import get_recipe


def _task(name: str, task_type: str = "classification") -> SimpleNamespace:
    return SimpleNamespace(name=name, task_type=task_type)


@pytest.mark.parametrize(("name", "length"), [("klej/cbd", 256), ("klej/psc", 510)])
@pytest.mark.parametrize("recipe", ["quick", "standard"])
def test_klej_jobs_run_at_the_baselines_length(name, length, recipe):
    named = get_recipe(recipe, task_name=name, task_type="classification")
    applied = task_recipe(recipe, _task(name))
    assert applied.max_length == length
    assert applied.version == f"{named.version}+len{length}"
    # Nothing else of the named recipe changes.
    assert replace(applied, max_length=named.max_length, version=named.version) == (
        named
    )


def test_smoke_and_tasks_without_a_length_keep_the_recipe_s():
    assert task_recipe("smoke", _task("klej/psc")) == get_recipe(
        "smoke", task_name="klej/psc", task_type="classification"
    )
    assert (
        task_recipe("quick", _task("glue/sst2")).version
        == get_recipe(
            "quick", task_name="glue/sst2", task_type="classification"
        ).version
    )
    assert task_recipe("quick", _task("nowhere/task")).max_length == 128
