"""Classification metrics: pure functions over lists of class indices.

Each wraps scikit-learn so our numbers are the ones every paper computes; the
wrappers only fix the conventions (which class is positive, how multi-label input
looks) and return plain ``float``. All return fractions in [0, 1] (MCC in [-1, 1]).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from sklearn import metrics as skm
from sklearn.preprocessing import MultiLabelBinarizer

from tasks.metrics._checks import check_lengths


def accuracy(predictions: Sequence[int], references: Sequence[int]) -> float:
    """Fraction of predictions equal to the reference.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    check_lengths(predictions, references)
    return float(skm.accuracy_score(references, predictions))


def f1(predictions: Sequence[int], references: Sequence[int]) -> float:
    """Binary F1 of the positive class 1 (GLUE's MRPC and QQP convention).

    With no positive prediction and no positive reference the score is 0.0
    (scikit-learn's ``zero_division=0``), not an error.

    >>> f1([1, 1, 0, 0], [1, 0, 1, 0])
    0.5
    >>> f1([0, 0], [0, 0])
    0.0
    """
    check_lengths(predictions, references)
    return float(
        skm.f1_score(
            references, predictions, pos_label=1, average="binary", zero_division=0
        )
    )


def _multilabel(predictions: Sequence, references: Sequence):
    """Binarize list-of-label-lists input; return None for single-label input."""
    if not any(isinstance(x, (list, tuple, set)) for x in (*predictions, *references)):
        return None
    if not all(isinstance(x, (list, tuple, set)) for x in (*predictions, *references)):
        raise ValueError("mix of single labels and label lists")
    binarizer = MultiLabelBinarizer()
    binarizer.fit([*predictions, *references])
    return binarizer.transform(predictions), binarizer.transform(references)


def micro_f1(predictions: Sequence, references: Sequence) -> float:
    """F1 over all (example, label) decisions pooled together.

    Accepts one label per example (where it equals accuracy) or, for multi-label
    tasks, a list of labels per example.

    >>> micro_f1([0, 1, 2], [0, 1, 1])  # doctest: +ELLIPSIS
    0.666...
    >>> micro_f1([[1, 2], [0]], [[1], [0, 2]])
    0.6666666666666666
    >>> micro_f1([[], []], [[], []])
    0.0
    """
    check_lengths(predictions, references)
    binarized = _multilabel(predictions, references)
    if binarized is not None:
        pred, ref = binarized
        if pred.shape[1] == 0:  # no label anywhere: 0.0, as binary f1 does
            return 0.0
        return float(skm.f1_score(ref, pred, average="micro", zero_division=0))
    return float(
        skm.f1_score(references, predictions, average="micro", zero_division=0)
    )


def macro_f1(predictions: Sequence, references: Sequence) -> float:
    """Unweighted mean of per-class F1, so rare classes count as much as common ones.

    Classes present in either list count; a class never predicted scores 0.

    >>> macro_f1([0, 0, 1, 1], [0, 1, 1, 1])  # doctest: +ELLIPSIS
    0.733...
    """
    check_lengths(predictions, references)
    binarized = _multilabel(predictions, references)
    if binarized is not None:
        pred, ref = binarized
        if pred.shape[1] == 0:
            return 0.0
        return float(skm.f1_score(ref, pred, average="macro", zero_division=0))
    return float(
        skm.f1_score(references, predictions, average="macro", zero_division=0)
    )


def matthews_corrcoef(predictions: Sequence[int], references: Sequence[int]) -> float:
    """Matthews correlation coefficient (CoLA's metric).

    Robust to class imbalance, which is why CoLA uses it. When it is undefined
    (only one class predicted or present) the score is 0.0, as scikit-learn returns.

    >>> matthews_corrcoef([1, 1, 0, 0], [1, 1, 0, 0])
    1.0
    >>> matthews_corrcoef([1, 1, 1, 1], [1, 0, 1, 0])
    0.0
    """
    check_lengths(predictions, references)
    with warnings.catch_warnings():
        # sklearn warns about a single class; the 0.0 it returns is documented.
        warnings.simplefilter("ignore", UserWarning)
        return float(skm.matthews_corrcoef(references, predictions))


def r3(predictions: Sequence[int], references: Sequence[int]) -> float:
    """R3: the multiclass Matthews correlation of Gorodkin (2004), GLUE's AX metric.

    Computed from the K x K confusion matrix C (rows: reference, columns: predicted)
    as ``(c*s - t.p) / sqrt((s^2 - p.p) * (s^2 - t.t))`` with ``c`` correct count,
    ``s`` total, ``t`` reference class counts, ``p`` predicted class counts; the
    same number ``sklearn.metrics.matthews_corrcoef`` gives, written out so the
    AX metric does not silently change with the library. Undefined -> 0.0.

    >>> r3([0, 1, 2, 2], [0, 1, 2, 1])
    0.7
    """
    check_lengths(predictions, references)
    ref = np.asarray(references)
    pred = np.asarray(predictions)
    classes, encoded = np.unique(np.concatenate([ref, pred]), return_inverse=True)
    k = len(classes)
    ref_i, pred_i = encoded[: len(ref)], encoded[len(ref) :]
    confusion = np.zeros((k, k), dtype=np.float64)
    np.add.at(confusion, (ref_i, pred_i), 1)
    t = confusion.sum(axis=1)
    p = confusion.sum(axis=0)
    c = np.trace(confusion)
    s = confusion.sum()
    denominator = np.sqrt((s * s - p @ p) * (s * s - t @ t))
    if denominator == 0:
        return 0.0
    return float((c * s - t @ p) / denominator)


def micro_f1_excluding_negative(
    predictions: Sequence[int], references: Sequence[int]
) -> float:
    """Micro F1 over every class except 0, the negative ("no relation") class.

    The relation-extraction convention of BLURB's ChemProt (and DDI): decisions
    for the negative class ``false`` are not counted, so a model cannot score by
    predicting "no relation" everywhere. A task using it lists its negative label
    first. Equals scikit-learn's ``f1_score(..., labels=<positive classes>,
    average="micro")``: with TP = correct positive predictions, FP = positive
    predictions that are wrong, FN = positive references missed,
    ``F1 = 2 TP / (2 TP + FP + FN)`` (0.0 when nothing positive is predicted or
    present).

    >>> micro_f1_excluding_negative([1, 2, 0, 0], [1, 1, 2, 0])  # TP 1, FP 1, FN 2
    0.4
    >>> micro_f1_excluding_negative([0, 0], [0, 0])
    0.0
    """
    check_lengths(predictions, references)
    pred = np.asarray(predictions)
    ref = np.asarray(references)
    true_positive = int(np.sum((pred == ref) & (ref != 0)))
    false_positive = int(np.sum((pred != 0) & (pred != ref)))
    false_negative = int(np.sum((ref != 0) & (pred != ref)))
    denominator = 2 * true_positive + false_positive + false_negative
    return 0.0 if denominator == 0 else 2 * true_positive / denominator
