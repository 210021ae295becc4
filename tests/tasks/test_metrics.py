"""Metrics agree with scikit-learn/scipy and handle the degenerate cases on purpose."""

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from tasks.errors import UserError
from tasks.metrics import METRICS, compute
from tasks.metrics.classification import r3
from tasks.metrics.regression import wmae

SEEDS = range(5)


def random_classes(seed: int, n: int = 200, k: int = 3):
    rng = np.random.default_rng(seed)
    return rng.integers(0, k, n).tolist(), rng.integers(0, k, n).tolist()


@pytest.mark.parametrize("seed", SEEDS)
def test_classification_metrics_match_scikit_learn(seed):
    preds, refs = random_classes(seed, k=2)
    assert compute("accuracy", preds, refs) == pytest.approx(
        skm.accuracy_score(refs, preds)
    )
    assert compute("f1", preds, refs) == pytest.approx(skm.f1_score(refs, preds))
    assert compute("matthews_corrcoef", preds, refs) == pytest.approx(
        skm.matthews_corrcoef(refs, preds)
    )
    preds3, refs3 = random_classes(seed, k=3)
    assert compute("macro_f1", preds3, refs3) == pytest.approx(
        skm.f1_score(refs3, preds3, average="macro")
    )
    assert compute("micro_f1", preds3, refs3) == pytest.approx(
        skm.accuracy_score(refs3, preds3)
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("k", [2, 3, 5])
def test_r3_equals_sklearn_multiclass_matthews(seed, k):
    preds, refs = random_classes(seed, k=k)
    assert r3(preds, refs) == pytest.approx(skm.matthews_corrcoef(refs, preds))


def test_r3_of_a_single_predicted_class_is_zero():
    assert r3([1, 1, 1], [0, 1, 2]) == 0.0
    assert r3([0, 1, 2], [0, 1, 2]) == 1.0


def test_f1_is_of_the_positive_class_one():
    # Class 1: one true positive, one false positive, one false negative.
    assert compute("f1", [1, 1, 0, 0], [1, 0, 1, 0]) == 0.5
    assert compute("f1", [0, 0, 0], [0, 0, 0]) == 0.0


def test_single_class_cases_do_not_raise():
    assert compute("accuracy", [1, 1], [1, 1]) == 1.0
    assert compute("matthews_corrcoef", [1, 1], [1, 1]) == 0.0
    assert compute("macro_f1", [1, 1], [1, 1]) == 1.0


def test_micro_f1_accepts_label_lists():
    preds = [[1, 2], [0], []]
    refs = [[1], [0, 2], [2]]
    # sklearn's argument order is (y_true, y_pred): build it the same way.
    expected = skm.f1_score(
        np.array([[0, 1, 0], [1, 0, 1], [0, 0, 1]]),
        np.array([[0, 1, 1], [1, 0, 0], [0, 0, 0]]),
        average="micro",
    )
    assert compute("micro_f1", preds, refs) == pytest.approx(expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_correlations_match_scipy(seed):
    rng = np.random.default_rng(seed)
    refs = rng.uniform(0, 5, 300)
    preds = refs + rng.normal(0, 1.5, 300)
    assert compute("pearson", preds.tolist(), refs.tolist()) == pytest.approx(
        stats.pearsonr(preds, refs)[0]
    )
    assert compute("spearman", preds.tolist(), refs.tolist()) == pytest.approx(
        stats.spearmanr(preds, refs)[0]
    )


def test_spearman_uses_average_ranks_for_ties():
    preds = [1.0, 1.0, 2.0, 3.0, 3.0]
    refs = [0.0, 1.0, 2.0, 3.0, 4.0]
    assert compute("spearman", preds, refs) == pytest.approx(
        stats.spearmanr(preds, refs)[0]
    )


@pytest.mark.parametrize("name", ["pearson", "spearman"])
def test_constant_predictions_score_zero_correlation(name):
    assert compute(name, [2.5, 2.5, 2.5], [1.0, 2.0, 3.0]) == 0.0
    assert compute(name, [1.0, 2.0, 3.0], [4.0, 4.0, 4.0]) == 0.0
    assert compute(name, [1.0], [2.0]) == 0.0


def test_wmae_weights_each_true_class_equally():
    # Class 1: errors 0, 0, 0 -> 0; class 5: error 4 -> 4. Mean over classes = 2.
    assert wmae([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 5.0]) == 2.0
    assert not METRICS["wmae"].higher_is_better


def test_every_metric_declares_its_direction():
    for name in METRICS:
        assert METRICS[name].name == name
        assert isinstance(METRICS[name].higher_is_better, bool)


def test_mismatched_or_empty_inputs_are_refused():
    with pytest.raises(UserError, match="2 predictions for 3"):
        compute("accuracy", [1, 0], [1, 0, 1])
    with pytest.raises(UserError):
        compute("pearson", [], [])
    with pytest.raises(UserError, match="finite"):
        compute("pearson", [float("nan"), 1.0], [1.0, 2.0])


def test_unknown_metric_suggests_a_close_name():
    with pytest.raises(UserError) as caught:
        compute("acuracy", [1], [1])
    assert caught.value.code == "metrics.unknown_metric"
    assert "Did you mean 'accuracy'" in str(caught.value)


@pytest.mark.parametrize("seed", SEEDS)
def test_micro_f1_excluding_negative_matches_scikit_learn(seed):
    preds, refs = random_classes(seed, k=6)
    expected = skm.f1_score(
        refs, preds, labels=[1, 2, 3, 4, 5], average="micro", zero_division=0
    )
    assert compute("micro_f1_excluding_negative", preds, refs) == pytest.approx(
        expected
    )


def test_micro_f1_excluding_negative_by_hand():
    # TP: rows 0, 3. FP: rows 1 (pred 2, ref 0), 4 (pred 1, ref 3).
    # FN: rows 2 (ref 1 missed), 4 (ref 3 missed). F1 = 4 / (4 + 2 + 2).
    preds, refs = [1, 2, 0, 3, 1, 0], [1, 0, 1, 3, 3, 0]
    assert compute("micro_f1_excluding_negative", preds, refs) == 0.5
    assert METRICS["micro_f1_excluding_negative"].higher_is_better


def test_one_minus_wmae_by_hand_follows_klej():
    # Rating 1: errors 0, 2 -> mean 1. Rating 4: error 0.5. wMAE 0.75.
    preds, refs = [1.0, 3.0, 4.5], [1.0, 1.0, 4.0]
    assert wmae(preds, refs) == 0.75
    assert compute("one_minus_wmae", preds, refs) == pytest.approx(1 - 0.75 / 4)
    assert METRICS["one_minus_wmae"].higher_is_better
    assert not METRICS["wmae"].higher_is_better
