import pytest

from tasks.errors import UserError
from tasks.registry import get_suite, get_task
from tasks.scoring import score_keys, score_predictions, suite_score, task_score


def test_single_split_task_reports_metric_names():
    mrpc = get_task("glue/mrpc")
    scores = score_predictions(
        mrpc, {"validation": [1, 1, 0, 0]}, {"validation": [1, 0, 1, 0]}
    )
    assert scores == {"f1": 0.5, "accuracy": 0.5}
    assert task_score(mrpc, scores) == 0.5


def test_mnli_suffixes_matched_and_mismatched():
    mnli = get_task("glue/mnli")
    scores = score_predictions(
        mnli,
        {"validation_matched": [0, 1, 2, 2], "validation_mismatched": [0, 0]},
        {"validation_matched": [0, 1, 2, 1], "validation_mismatched": [0, 1]},
    )
    assert scores == {"accuracy_matched": 0.75, "accuracy_mismatched": 0.5}
    assert task_score(mnli, scores) == 0.625


def test_score_keys_for_every_glue_task():
    keys = {t.key: score_keys(t) for t in get_suite("glue").tasks}
    assert keys == {
        "cola": ("matthews_corrcoef",),
        "sst2": ("accuracy",),
        "mrpc": ("f1", "accuracy"),
        "qqp": ("f1", "accuracy"),
        "stsb": ("pearson", "spearman"),
        "mnli": ("accuracy_matched", "accuracy_mismatched"),
        "qnli": ("accuracy",),
        "rte": ("accuracy",),
        "wnli": ("accuracy",),
        "ax": ("r3",),
    }


def test_regression_scores_mean_of_pearson_and_spearman():
    stsb = get_task("glue/stsb")
    scores = score_predictions(
        stsb, {"validation": [0.0, 1.0, 4.0]}, {"validation": [0.0, 2.0, 3.0]}
    )
    assert scores["spearman"] == pytest.approx(1.0)
    assert task_score(stsb, scores) == pytest.approx(
        (scores["pearson"] + scores["spearman"]) / 2
    )


def test_ax_is_scored_on_its_test_split_with_held_labels():
    ax = get_task("glue/ax")
    scores = score_predictions(ax, {"test": [0, 1, 2]}, {"test": [0, 1, 2]})
    assert scores == {"r3": 1.0}


@pytest.mark.parametrize("bad", [3, -1, 1.0, True, None])
def test_out_of_range_class_prediction_is_refused(bad):
    with pytest.raises(UserError) as caught:
        score_predictions(
            get_task("glue/rte"), {"validation": [0, bad]}, {"validation": [0, 1]}
        )
    assert caught.value.code == "scoring.bad_predictions"


def test_missing_split_or_length_mismatch_is_refused():
    rte = get_task("glue/rte")
    with pytest.raises(UserError, match="validation"):
        score_predictions(rte, {}, {"validation": [0]})
    with pytest.raises(UserError, match="1 predictions for 2 rows"):
        score_predictions(rte, {"validation": [0]}, {"validation": [0, 1]})
    with pytest.raises(UserError, match="accuracy"):
        task_score(rte, {"f1": 0.5})


GLUE_SCORED = ["cola", "sst2", "mrpc", "qqp", "stsb", "mnli", "qnli", "rte", "wnli"]


def test_glue_score_is_the_mean_over_the_nine_tasks_ignoring_ax():
    glue = get_suite("glue")
    task_scores = {f"glue/{key}": i / 10 for i, key in enumerate(GLUE_SCORED)}
    task_scores["glue/ax"] = -1.0  # diagnostic: never part of the score
    assert suite_score(glue, task_scores) == pytest.approx(sum(range(9)) / 90)


def test_glue_score_is_none_until_every_scored_task_has_a_value():
    glue = get_suite("glue")
    partial = {f"glue/{key}": 0.8 for key in GLUE_SCORED[:-1]}
    assert suite_score(glue, partial) is None
    assert suite_score(glue, {**partial, "glue/wnli": float("nan")}) is None
    assert suite_score(glue, {**partial, "glue/wnli": 0.5}) == pytest.approx(
        (0.8 * 8 + 0.5) / 9
    )


def test_suite_score_can_be_narrowed_to_the_tasks_a_deployment_has():
    from tasks.registry import get_suite
    from tasks.scoring import suite_score

    glue = get_suite("glue")
    scores = {"glue/sst2": 0.9, "glue/rte": 0.6}
    assert suite_score(glue, scores) is None
    assert suite_score(glue, scores, tasks=["glue/sst2", "glue/rte"]) == 0.75
    assert suite_score(glue, scores, tasks=["glue/sst2", "glue/cola"]) is None


@pytest.mark.parametrize("bad", [[0, 0], [10], 1, [True], None])
def test_multilabel_prediction_must_be_a_set_of_class_indices(bad):
    hoc = get_task("blurb/hoc")
    with pytest.raises(UserError) as caught:
        score_predictions(hoc, {"test": [[0], bad]}, {"test": [[0], [1]]})
    assert caught.value.code == "scoring.bad_predictions"
