"""The pipeline publishes a run's numerics profile only when it is the one asked for."""

from types import SimpleNamespace

import pytest

from leaderboard.submissions.pipeline import publish
from tasks.errors import PlatformError


class _Evaluation:
    """What ``numerics_from`` reads of an Evaluation: its recipe, method and task."""

    def __init__(self, recipe_name: str) -> None:
        self.recipe_name = recipe_name
        self.method = "full"
        self.task = SimpleNamespace(name="glue/sst2", task_type="classification")
        self.gradient_accumulation_steps = 1


@pytest.fixture
def stand_in(monkeypatch):
    monkeypatch.setattr(publish.numerics.platform, "machine", lambda: "x86_64")
    return _Evaluation


@pytest.mark.parametrize(
    ("recipe", "reported"),
    [
        ("quick", "fp32-x86-64-v3"),
        ("quick", "fp32-x86-64-v3+1a2b3c4d"),  # another canary: kept apart
        ("standard", "bf16-cuda"),
        ("standard", "bf16-cpu"),
    ],
)
def test_the_numerics_a_run_reports_is_published_when_it_was_asked(
    stand_in, recipe, reported
):
    assert publish.numerics_from(
        {"numerics": reported}, evaluation=stand_in(recipe)
    ) == (reported)


@pytest.mark.parametrize(
    ("recipe", "reported", "code"),
    [
        ("quick", "bf16-cpu", "scoring.wrong_numerics"),
        ("quick", "fp32-cpu", "scoring.wrong_numerics"),
        ("standard", "fp32-x86-64-v3", "scoring.wrong_numerics"),
        ("quick", None, "scoring.bad_measurements"),
        ("quick", "FP32 x86; rm -rf /", "scoring.bad_measurements"),
    ],
)
def test_a_run_that_computed_otherwise_is_not_published(
    stand_in, recipe, reported, code
):
    with pytest.raises(PlatformError) as caught:
        publish.numerics_from({"numerics": reported}, evaluation=stand_in(recipe))
    assert caught.value.code == code
