"""AdvGLUE: the dev.json layout, its GLUE counterparts, the suite rule, the gap."""

import json
from pathlib import Path

import pytest

from tasks.errors import ImportFormatError, UserError
from tasks.importers.loading import load_suite, load_task
from tasks.registry import get_suite, get_task
from tasks.scoring import robustness_gap, score_keys, suite_score, task_score

# The release's layout: one object keyed by task, GLUE's text field names and
# HF GLUE label integers (MNLI: 0 entailment, 1 neutral, 2 contradiction).
DEV_JSON = {
    "sst2": [
        {"idx": 0, "label": 0, "sentence": "it 's an uneven treat ."},
        {"idx": 1, "label": 1, "sentence": "a tender , heartfellt drama ."},
    ],
    "qqp": [
        {
            "idx": 12,
            "label": 1,
            "question1": "How do I learn Python?",
            "question2": "How can I lern Python?",
        }
    ],
    "mnli": [
        {"idx": 3, "label": 2, "premise": "A man sleeps.", "hypothesis": "He runs."}
    ],
    "mnli-mm": [
        {"idx": 4, "label": 1, "premise": "She sang.", "hypothesis": "It was loud."},
        {
            "idx": 5,
            "label": 0,
            "premise": "Dogs bark.",
            "hypothesis": "Dogs make noise.",
        },
    ],
    "qnli": [
        {
            "idx": 7,
            "label": 1,
            "question": "Who wrote it?",
            "sentence": "It was published in 1900.",
        }
    ],
    "rte": [
        {
            "idx": 9,
            "label": 0,
            "sentence1": "Paris is the capital of France.",
            "sentence2": "Paris is in France.",
        }
    ],
}
ADVGLUE_TO_GLUE = {
    "sst2": "glue/sst2",
    "qqp": "glue/qqp",
    "mnli": "glue/mnli",
    "mnli-mm": "glue/mnli",
    "qnli": "glue/qnli",
    "rte": "glue/rte",
}


def write_dev_json(folder: Path, document=DEV_JSON, text: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dev.json"
    path.write_text(
        text if text is not None else json.dumps(document, indent=2), encoding="utf-8"
    )
    return path


def test_task_loads_from_the_file_or_its_folder(tmp_path):
    path = write_dev_json(tmp_path / "AdvGLUE")
    for where in (path, path.parent, tmp_path):
        dataset = load_task("advglue/sst2", where)
        assert dataset.counts() == {"validation": 2}
    assert dataset.splits["validation"][1] == {
        "idx": 1,
        "sentence": "a tender , heartfellt drama .",
        "label": 1,
    }


def test_suite_loads_every_task_with_glue_fields(tmp_path):
    path = write_dev_json(tmp_path)
    datasets = {d.task.key: d for d in load_suite("advglue", path.parent)}
    assert {key: d.counts()["validation"] for key, d in datasets.items()} == {
        key: len(rows) for key, rows in DEV_JSON.items()
    }
    assert datasets["mnli-mm"].splits["validation"][0] == {
        "idx": 4,
        "premise": "She sang.",
        "hypothesis": "It was loud.",
        "label": 1,
    }
    assert datasets["mnli"].task.labels[2] == "contradiction"


@pytest.mark.parametrize(("key", "glue_name"), sorted(ADVGLUE_TO_GLUE.items()))
def test_each_task_matches_the_glue_task_it_is_predicted_with(key, glue_name):
    task, glue = get_task(f"advglue/{key}"), get_task(glue_name)
    assert task.predict_with == glue_name
    # The same model predicts both, so class indices and inputs must agree.
    assert task.labels == glue.labels
    assert task.text_fields == glue.text_fields
    assert task.metrics == glue.metrics
    assert task.train_split is None and task.test_splits == ()
    assert task.eval_splits == ("validation",) and task.is_labelled("validation")


def test_score_keys_follow_glue():
    assert score_keys(get_task("advglue/qqp")) == ("f1", "accuracy")
    assert score_keys(get_task("advglue/mnli-mm")) == ("accuracy",)


def test_malformed_json_names_file_and_line(tmp_path):
    path = write_dev_json(tmp_path, text='{"sst2": [\n  {"idx": 0,, "label": 0}\n]}')
    with pytest.raises(ImportFormatError) as caught:
        load_task("advglue/sst2", path)
    assert caught.value.file == str(path) and caught.value.line == 2
    assert caught.value.code == "import.bad_json"


def test_missing_task_key_is_named(tmp_path):
    document = {k: v for k, v in DEV_JSON.items() if k != "qnli"}
    path = write_dev_json(tmp_path, document)
    with pytest.raises(ImportFormatError) as caught:
        load_task("advglue/qnli", path)
    assert str(path) in str(caught.value) and "'qnli'" in str(caught.value)


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"idx": 1, "label": 3, "premise": "a", "hypothesis": "b"}, "label 3"),
        ({"idx": 1, "label": True, "premise": "a", "hypothesis": "b"}, "label True"),
        ({"idx": 1, "label": -1, "premise": "a", "hypothesis": "b"}, "label -1"),
        ({"idx": 1, "label": 0, "premise": "a"}, "'hypothesis'"),
        ({"idx": "1", "label": 0, "premise": "a", "hypothesis": "b"}, "'idx'"),
        ({"idx": 3, "label": 0, "premise": "a", "hypothesis": "b"}, "idx 3 appears"),
    ],
)
def test_bad_record_names_file_task_key_and_position(tmp_path, record, words):
    document = {**DEV_JSON, "mnli": [DEV_JSON["mnli"][0], record]}
    path = write_dev_json(tmp_path, document)
    with pytest.raises(ImportFormatError) as caught:
        load_task("advglue/mnli", path)
    message = str(caught.value)
    assert str(path) in message and "'mnli'[1]" in message and words in message


def test_an_object_that_is_not_keyed_by_task_is_refused(tmp_path):
    path = write_dev_json(tmp_path, text="[1, 2]")
    with pytest.raises(ImportFormatError, match="keyed by task"):
        load_task("advglue/rte", path)


def test_other_file_names_are_not_taken_for_the_task(tmp_path):
    other = tmp_path / "train.json"
    other.write_text("{}", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        load_task("advglue/rte", other)
    assert caught.value.code == "import.task_not_found"


def test_suite_score_averages_mnli_matched_and_mismatched_into_one():
    advglue = get_suite("advglue")
    scores = {
        "advglue/sst2": 0.5,
        "advglue/qqp": 0.4,
        "advglue/mnli": 0.2,
        "advglue/mnli-mm": 0.4,
        "advglue/qnli": 0.6,
        "advglue/rte": 0.7,
    }
    # Five tasks: MNLI counts once, as (0.2 + 0.4) / 2.
    assert suite_score(advglue, scores) == pytest.approx(
        (0.5 + 0.4 + 0.3 + 0.6 + 0.7) / 5
    )
    # A plain mean over six would differ: the rule matters.
    assert suite_score(advglue, scores) != pytest.approx(sum(scores.values()) / 6)
    del scores["advglue/mnli-mm"]
    assert suite_score(advglue, scores) is None


def test_task_score_is_the_mean_of_the_glue_metrics():
    qqp = get_task("advglue/qqp")
    assert task_score(qqp, {"f1": 0.5, "accuracy": 0.7}) == pytest.approx(0.6)


def test_robustness_gap_is_glue_minus_advglue():
    assert robustness_gap(0.9, 0.4) == pytest.approx(0.5)
    assert robustness_gap(0.5, 0.6) == pytest.approx(-0.1)
    with pytest.raises(UserError):
        robustness_gap(float("nan"), 0.4)
