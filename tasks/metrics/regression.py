"""Regression metrics: pure functions over lists of floats.

Correlations come from scipy. A constant prediction (or constant reference) makes a
correlation undefined (scipy returns NaN and warns); we score it 0.0, "no
correlation", because a leaderboard needs a number and a model that predicts one
value for everything has shown no ability to rank pairs.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from tasks.errors import UserError
from tasks.metrics._checks import check_lengths


def _arrays(
    predictions: Sequence[float], references: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    check_lengths(predictions, references)
    pred = np.asarray(predictions, dtype=np.float64)
    ref = np.asarray(references, dtype=np.float64)
    if not (np.isfinite(pred).all() and np.isfinite(ref).all()):
        raise UserError("metrics.not_finite", "predictions must be finite numbers")
    return pred, ref


def _correlation(fn, pred: np.ndarray, ref: np.ndarray) -> float:
    if len(pred) < 2 or np.all(pred == pred[0]) or np.all(ref == ref[0]):
        return 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(fn(pred, ref)[0])
    return 0.0 if np.isnan(value) else value


def pearson(predictions: Sequence[float], references: Sequence[float]) -> float:
    """Pearson correlation (STS-B). Constant input scores 0.0.

    >>> pearson([1.0, 2.0, 3.0], [2.0, 4.0, 6.5])  # doctest: +ELLIPSIS
    0.99...
    >>> pearson([3.0, 3.0, 3.0], [1.0, 2.0, 3.0])
    0.0
    """
    return _correlation(stats.pearsonr, *_arrays(predictions, references))


def spearman(predictions: Sequence[float], references: Sequence[float]) -> float:
    """Spearman rank correlation (STS-B); ties get average ranks. Constant: 0.0.

    >>> spearman([1.0, 2.0, 3.0], [10.0, 20.0, 30.0])
    1.0
    >>> spearman([1.0, 1.0, 2.0], [1.0, 2.0, 3.0])  # doctest: +ELLIPSIS
    0.866...
    """
    return _correlation(stats.spearmanr, *_arrays(predictions, references))


def wmae(predictions: Sequence[float], references: Sequence[float]) -> float:
    """Class-weighted mean absolute error; lower is better.

    The mean, over each distinct reference value ``c``, of the mean absolute error
    on the examples whose reference is ``c``. Weighting classes equally (as KLEJ's
    PolEmo/AR review-rating tasks do) stops a model from scoring well by always
    predicting the most common rating. Turning it into a bounded "higher is better"
    score (e.g. ``1 - wmae / (max - min)``) is left to the suite's rule.

    >>> wmae([1.0, 1.0, 1.0, 5.0], [1.0, 1.0, 1.0, 1.0])
    1.0
    >>> wmae([1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 5.0])
    2.0
    """
    pred, ref = _arrays(predictions, references)
    errors = np.abs(pred - ref)
    return float(np.mean([errors[ref == c].mean() for c in np.unique(ref)]))


# KLEJ's Allegro Reviews ratings run from 1 to 5 stars.
AR_RATING_RANGE = 4.0


def one_minus_wmae(predictions: Sequence[float], references: Sequence[float]) -> float:
    """KLEJ's Allegro Reviews (AR) score: ``1 - wmae / 4``; higher is better.

    KLEJ reports "1 - wMAE" with the class-weighted MAE of :func:`wmae` scaled to
    [0, 1] by the width of the 1-5 star scale (4), exactly as the KLEJ baselines
    compute it (``1 - weighted_mean_absolute_error(true, pred) / 4.0``). As there,
    predictions are not clipped or rounded: a rating predicted outside 1-5 is
    scored as it is, so the value can drop below 0 for such a model.

    >>> one_minus_wmae([5.0, 5.0, 1.0, 1.0], [5.0, 5.0, 1.0, 1.0])
    1.0
    >>> one_minus_wmae([3.0, 3.0, 3.0, 3.0], [1.0, 1.0, 1.0, 5.0])  # wMAE 2
    0.5
    """
    return 1.0 - wmae(predictions, references) / AR_RATING_RANGE
