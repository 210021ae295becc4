"""What a sandboxed run writes is checked like an upload before anything is scored
(tasks.predictions, the one rule for what a valid prediction is)."""

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from tasks import registry
from tasks.errors import UserError
from tasks.predictions import check_prediction, read_predictions

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
    assert read_predictions(path, rows=ROWS, task=spec) == [1, 0, 1]


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
        read_predictions(write(tmp_path, lines), rows=ROWS, task=spec)
    assert caught.value.code == "scoring.bad_predictions"
    assert words in caught.value.message


def test_missing_predictions_say_which_split(tmp_path):
    spec = registry.get_task("glue/sst2")
    with pytest.raises(UserError) as caught:
        read_predictions(tmp_path / "validation.jsonl", rows=ROWS, task=spec)
    assert caught.value.code == "scoring.missing_predictions"
    assert "validation" in caught.value.message


def test_multi_label_predictions_are_lists_of_unique_indices_stored_sorted():
    task = SimpleNamespace(type="multilabel_classification", num_labels=3)
    assert check_prediction(task, [2, 0], where="test line 1") == [0, 2]
    assert check_prediction(task, [], where="test line 1") == []
    for bad in (1, [3], [1, 1], [True], ["0"], None):
        with pytest.raises(UserError) as caught:
            check_prediction(task, bad, where="test line 1")
        assert caught.value.code == "scoring.bad_predictions"
        assert "test line 1" in caught.value.message


def test_regression_values_are_stored_as_floats():
    task = SimpleNamespace(type="regression", num_labels=1)
    assert type(check_prediction(task, 3, where="x")) is float
