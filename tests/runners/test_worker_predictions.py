"""What a sandboxed run writes is checked like an upload before anything is scored."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from runners.worker import read_predictions
from tasks import registry
from tasks.errors import UserError

ROWS = [{"idx": 10}, {"idx": 11}, {"idx": 12}]


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "validation.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    return path


def pred(idx, value) -> str:
    return json.dumps({"idx": idx, "prediction": value})


def test_good_predictions_are_read_in_order(tmp_path):
    spec = registry.get_task("glue/sst2")
    path = write(tmp_path, [pred(10, 1), pred(11, 0), pred(12, 1)])
    assert read_predictions(path, rows=ROWS, spec=spec) == [1, 0, 1]


@pytest.mark.parametrize(
    ("task", "lines", "words"),
    [
        ("glue/sst2", ["not json", pred(11, 0), pred(12, 1)], "Line 1"),
        ("glue/sst2", [pred(11, 0), pred(10, 1), pred(12, 1)], "idx 11"),
        ("glue/sst2", [pred(10, 1), pred(11, 0)], "have 2 rows"),
        ("glue/sst2", [pred(10, 1), pred(11, 2), pred(12, 1)], "label index"),
        ("glue/sst2", [pred(10, True), pred(11, 0), pred(12, 1)], "label index"),
        ("glue/stsb", [pred(10, 1.5), pred(11, "NaN"), pred(12, 2)], "finite"),
        ("glue/sst2", [json.dumps({"idx": 10})], "Line 1"),
    ],
)
def test_bad_predictions_are_refused_with_the_line(tmp_path, task, lines, words):
    spec = registry.get_task(task)
    with pytest.raises(UserError) as caught:
        read_predictions(write(tmp_path, lines), rows=ROWS, spec=spec)
    assert caught.value.code == "scoring.bad_predictions"
    assert words in caught.value.message


def test_missing_predictions_say_which_split(tmp_path):
    spec = registry.get_task("glue/sst2")
    with pytest.raises(UserError) as caught:
        read_predictions(tmp_path / "validation.jsonl", rows=ROWS, spec=spec)
    assert caught.value.code == "scoring.missing_predictions"
    assert "validation" in caught.value.message


class _Evaluation:
    """What ``numerics_from`` reads of an Evaluation: its recipe and task."""

    def __init__(self, recipe_name: str) -> None:
        self.recipe_name = recipe_name
        self.task = SimpleNamespace(name="glue/sst2", task_type="classification")
        self.gradient_accumulation_steps = 1


@pytest.fixture
def stand_in(monkeypatch):
    from runners import worker

    monkeypatch.setattr(worker.numerics.platform, "machine", lambda: "x86_64")
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
    from runners.worker import numerics_from

    assert numerics_from({"numerics": reported}, evaluation=stand_in(recipe)) == (
        reported
    )


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
    from runners.worker import numerics_from
    from tasks.errors import PlatformError

    with pytest.raises(PlatformError) as caught:
        numerics_from({"numerics": reported}, evaluation=stand_in(recipe))
    assert caught.value.code == code
