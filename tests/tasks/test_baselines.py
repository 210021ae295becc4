"""Majority-class and chance baselines, computed by hand for tiny tasks of each
type, and the rule that flags a run that did not learn."""

import itertools
from dataclasses import replace

import numpy as np
import pytest

from tasks.baselines import (
    CHANCE_DRAWS,
    LearningCheck,
    baselines_from_labels,
    learning_check,
)
from tasks.metrics import compute
from tasks.registry import get_task

RTE = get_task("glue/rte")  # accuracy; labels entailment, not_entailment
MRPC = get_task("glue/mrpc")  # f1 and accuracy
COLA = get_task("glue/cola")  # Matthews correlation
STSB = get_task("glue/stsb")  # regression: pearson and spearman
AR = get_task("klej/ar")  # regression: 1 - wMAE / 4
# Multi-label over 3 labels, scored per row (HoC itself is scored per abstract).
HOC3 = replace(get_task("blurb/hoc"), labels=("a", "b", "c"), group_field=None)
GROUPED3 = replace(HOC3, group_field="document")


def test_majority_predicts_the_most_frequent_training_class_everywhere():
    base = baselines_from_labels(RTE, {"train": [1, 1, 0], "validation": [0, 1, 0, 0]})
    majority = base["majority"]
    assert majority["prediction"] == 1 and majority["shown"] == "not_entailment"
    assert majority["scores"] == {"accuracy": 0.25}
    assert majority["task_score"] == 0.25
    assert "2 of 3 training rows" in majority["method"]


def test_a_tie_between_classes_takes_the_lowest_class_index():
    base = baselines_from_labels(RTE, {"train": [1, 0], "validation": [1, 1]})
    assert base["majority"]["prediction"] == 0
    assert base["majority"]["task_score"] == 0.0


def test_accuracy_chance_is_one_over_the_number_of_classes_exactly():
    base = baselines_from_labels(RTE, {"train": [1, 1, 0], "validation": [0, 1, 0, 0]})
    assert base["chance"]["task_score"] == 0.5
    assert "exact" in base["chance"]["method"]


def test_a_two_metric_task_scores_each_baseline_with_its_own_rule():
    # Predict 1 everywhere on refs [1, 0, 1, 0]: accuracy 1/2; F1 = 2*2/(2*2+2) = 2/3.
    base = baselines_from_labels(MRPC, {"train": [1, 1, 0], "validation": [1, 0, 1, 0]})
    majority = base["majority"]
    assert majority["scores"] == pytest.approx({"f1": 2 / 3, "accuracy": 0.5})
    assert majority["task_score"] == pytest.approx((2 / 3 + 0.5) / 2)
    # Chance F1 has no closed form: the mean of seeded draws, near the exact
    # expectation over all 16 equally likely prediction vectors.
    refs = [1, 0, 1, 0]
    exact_f1 = np.mean(
        [compute("f1", list(p), refs) for p in itertools.product((0, 1), repeat=4)]
    )
    chance = base["chance"]
    assert chance["scores"]["accuracy"] == 0.5
    assert chance["scores"]["f1"] == pytest.approx(exact_f1, abs=0.06)
    assert f"{CHANCE_DRAWS} seeded draws" in chance["method"]
    again = baselines_from_labels(
        MRPC, {"train": [1, 1, 0], "validation": [1, 0, 1, 0]}
    )
    assert again["chance"] == chance, "seeded: the same number every time"


def test_matthews_chance_is_exactly_zero_and_draws_agree():
    rng = np.random.default_rng(1)
    refs = rng.integers(0, 2, 400).tolist()
    base = baselines_from_labels(COLA, {"train": [1, 1, 0], "validation": refs})
    assert base["chance"]["task_score"] == 0.0
    assert base["majority"]["task_score"] == 0.0  # one class: MCC 0
    drawn = np.mean(
        [
            compute("matthews_corrcoef", rng.integers(0, 2, 400).tolist(), refs)
            for _ in range(300)
        ]
    )
    assert abs(drawn) < 0.02


def test_regression_majority_predicts_the_training_mean():
    base = baselines_from_labels(
        STSB, {"train": [1.0, 2.0, 6.0], "validation": [0.0, 2.5, 5.0]}
    )
    assert base["majority"]["prediction"] == 3.0
    assert base["majority"]["scores"] == {"pearson": 0.0, "spearman": 0.0}
    assert base["chance"]["task_score"] == 0.0
    assert "exact" in base["chance"]["method"]


def test_regression_chance_of_a_non_correlation_metric_is_drawn_in_the_train_range():
    # Mean rating 3 against refs 1, 1, 1, 5: each class's error is 2, wMAE 2,
    # 1 - 2/4 = 0.5. Uniform predictions in [1, 5] expect the same errors.
    base = baselines_from_labels(
        AR, {"train": [1.0, 5.0], "validation": [1.0, 1.0, 1.0, 5.0]}
    )
    assert base["majority"]["task_score"] == pytest.approx(0.5)
    assert base["chance"]["task_score"] == pytest.approx(0.5, abs=0.06)
    assert "seeded draws" in base["chance"]["method"]


def test_multilabel_majority_is_the_most_frequent_label_set_and_says_so():
    refs = [[0], [1, 2], [], [0]]
    empty = baselines_from_labels(HOC3, {"train": [[], [0], [], [0, 2]], "test": refs})[
        "majority"
    ]
    assert empty["prediction"] == [] and empty["shown"] == "the empty set"
    assert empty["task_score"] == 0.0  # nothing predicted: micro F1 0
    one = baselines_from_labels(HOC3, {"train": [[0], [0], []], "test": refs})
    # Predict {a} everywhere: TP 2, FP 2, FN 2 -> 2*2 / (2*2 + 2 + 2) = 0.5.
    assert one["majority"]["shown"] == "{a}"
    assert one["majority"]["task_score"] == pytest.approx(0.5)


def test_multilabel_chance_draws_uniformly_random_label_sets():
    rng = np.random.default_rng(2)
    refs = [np.flatnonzero(rng.integers(0, 2, 3)).tolist() for _ in range(200)]
    chance = baselines_from_labels(HOC3, {"train": [[0]], "test": refs})["chance"]
    positives = sum(len(r) for r in refs)
    # TP ~ T/2 and FP ~ (3N - T)/2: F1 ~ T / (3N/2 + T).
    assert chance["task_score"] == pytest.approx(
        positives / (1.5 * len(refs) + positives), abs=0.02
    )


def test_grouped_baselines_predict_per_row_and_score_per_group():
    # Two abstracts: "a" rows [0], [] and "b" rows [1], [1, 2]. Predicting {a}
    # per row gives {a} per abstract: TP 1, FP 1, FN 2 -> 2 / (2 + 1 + 2).
    refs, groups = [[0], [], [1], [1, 2]], ["a", "a", "b", "b"]
    base = baselines_from_labels(
        GROUPED3,
        {"train": [[0], [0], []], "test": refs},
        groups={"train": ["t", "t", "u"], "test": groups},
    )
    assert base["majority"]["task_score"] == pytest.approx(2 / 5)
    assert 0.0 < base["chance"]["task_score"] < 1.0


def test_grouped_baselines_without_groups_say_why():
    base = baselines_from_labels(GROUPED3, {"train": [[0]], "test": [[0]]})
    assert base["majority"]["task_score"] is None
    assert "no document" in base["chance"]["method"]


def test_a_version_without_training_labels_has_no_majority_baseline():
    base = baselines_from_labels(RTE, {"validation": [0, 1, 1]})
    assert base["majority"]["task_score"] is None
    assert "no training labels" in base["majority"]["method"]
    assert base["chance"]["task_score"] == 0.5


def test_an_unlabelled_scored_split_has_no_baselines():
    base = baselines_from_labels(get_task("glue/ax"), {})
    assert base["majority"]["task_score"] is None
    assert base["chance"]["task_score"] is None
    assert "nothing to compare" in base["chance"]["method"]


RTE_BASELINES = baselines_from_labels(
    RTE, {"train": [0, 0, 1], "validation": [0, 0, 1, 1, 0, 1, 0, 1, 0, 0]}
)  # majority: entailment everywhere, 0.6; chance 0.5


def test_a_constant_predictor_did_not_learn():
    check = learning_check(RTE, {"validation": [1] * 10}, 0.4, RTE_BASELINES)
    assert check.did_not_learn is True
    assert check.reason.startswith("predicted one class for every row (not_entailment)")


def test_a_score_equal_to_the_majority_baseline_did_not_learn():
    varied = [0, 0, 1, 1, 0, 0, 1, 0, 1, 1]  # 6 of 10 right, like the majority
    check = learning_check(RTE, {"validation": varied}, 0.6, RTE_BASELINES)
    assert check == LearningCheck(
        True, "score 0.600 is not above the majority-class baseline 0.600"
    )


def test_a_score_below_chance_names_both_baselines_it_did_not_beat():
    check = learning_check(RTE, {"validation": [0, 1] * 5}, 0.4, RTE_BASELINES)
    assert check.reason == (
        "score 0.400 is not above the majority-class baseline 0.600 "
        "or the chance baseline 0.500"
    )


def test_a_model_that_beat_both_baselines_with_varied_predictions_learned():
    check = learning_check(RTE, {"validation": [0, 1] * 5}, 0.7, RTE_BASELINES)
    assert check == LearningCheck(False, "")


def test_a_result_without_a_score_is_never_judged():
    ax = get_task("glue/ax")
    assert learning_check(ax, {"test": [0, 0, 0]}, None, None) == LearningCheck(None)


def test_a_constant_regression_and_label_set_say_what_they_predicted():
    stsb = learning_check(STSB, {"validation": [2.5, 2.5]}, 0.0, None)
    assert stsb.reason == "predicted one value for every row (2.5)"
    hoc = learning_check(HOC3, {"test": [[], []]}, 0.0, None)
    assert hoc.reason == "predicted one label set for every row (the empty set)"
