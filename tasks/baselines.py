"""What a model must beat: a task's majority-class and chance baselines, and whether
a run did.

A dataset version's baselines are task scores (the task's own metrics and score
rule: :func:`tasks.scoring.score_predictions` and :func:`~tasks.scoring.task_score`)
of two predictors that learned nothing:

- **majority**: predict the most frequent training label for every row (ties: the
  lowest class index). Regression predicts the mean training label; multi-label
  predicts the most frequent training label *set* (often the empty set; ``shown``
  says which). A version without a training split (an evaluation-only task such as
  AdvGLUE's) has no majority baseline: ``task_score`` is None and ``method`` says why.
- **chance**: the expected score of uniformly random predictions (each class with
  probability 1/k; multi-label: each label in or out with probability 1/2, i.e. a
  uniformly random label set; regression: uniform between the smallest and largest
  training label). Exact where the expectation has a closed form: accuracy (and
  single-label micro F1) is 1/k; Matthews correlation (binary, and R3 over k
  classes), Pearson and Spearman are 0, because given the multiset of predicted
  values the predictions are a uniformly random permutation, under which the
  numerator's expectation is 0 and the denominator does not change. Every other
  metric (F1, macro F1, ...) is the mean over :data:`CHANCE_DRAWS` draws from a
  generator seeded with :data:`CHANCE_SEED`, so the number is the same every time.

:func:`learning_check` judges a scored run: it "did not learn" when its
predictions on the scored splits are one constant value, or its task score is not
above a baseline (the majority-class one or chance, whichever it does not beat).
A result without a task score (GLUE's AX: its split has no public labels) is never
judged: there is nothing to compare.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tasks.metrics import METRICS, compute
from tasks.scoring import (
    group_label_sets,
    score_key,
    score_predictions,
    scored_splits,
    task_score,
)
from tasks.specs import TaskSpec
from tasks.tagging import tag_names

CHANCE_DRAWS = 100
"""Random draws averaged for a metric whose chance expectation has no closed form."""
CHANCE_SEED = 0
"""Seed of those draws (numpy's default generator): the same baseline every time."""

_EXACT_ZERO = {"matthews_corrcoef", "r3", "pearson", "spearman"}
"""Metrics whose expected value under random predictions is exactly 0 (see the
module docstring)."""


def baseline_splits(task: TaskSpec) -> tuple[str, ...]:
    """The splits whose labels the baselines read: training, then the scored ones
    (only those that carry labels)."""
    train = (task.train_split,) if task.train_split else ()
    return tuple(s for s in train + scored_splits(task) if task.is_labelled(s))


def baselines_from_labels(
    task: TaskSpec,
    labels: Mapping[str, Sequence[Any]],
    *,
    groups: Mapping[str, Sequence[str] | None] | None = None,
) -> dict[str, Any]:
    """Both baselines of a dataset version, as JSON-safe data.

    ``labels`` maps split -> the labels of that split in row order (the training
    split and the scored splits are read; others are ignored). A task scored per
    group (``group_field``: HoC's abstracts) needs ``groups`` too, split -> each
    row's group (:func:`tasks.scoring.row_groups`): the baselines predict per row
    and are scored per group, as a run is. Returns
    ``{"task_version", "majority", "chance"}``; each baseline is ``{"task_score",
    "scores", "method"}`` (plus ``"prediction"`` and ``"shown"`` for majority),
    with ``task_score`` None and ``method`` saying why when it cannot be computed.
    """
    references = {
        split: list(labels[split]) for split in scored_splits(task) if split in labels
    }
    missing = [split for split in scored_splits(task) if split not in references]
    why = ""
    if missing or not task.eval_splits:
        why = "nothing to compare: the scored split has no labels in this version"
    elif task.group_field is not None and any(
        (groups or {}).get(split) is None for split in references
    ):
        why = (
            f"nothing to compare: this version's rows have no {task.group_field} "
            "to score per group (imported before the task was scored so)"
        )
    if why:
        return {
            "task_version": task.version,
            "majority": _none(why),
            "chance": _none(why),
        }
    train = list(labels.get(task.train_split or "", []))
    scored_groups = dict(groups or {}) if task.group_field is not None else None
    return {
        "task_version": task.version,
        "majority": _majority(task, references, train, scored_groups),
        "chance": _chance(task, references, train, scored_groups),
    }


def _none(method: str) -> dict[str, Any]:
    return {"task_score": None, "scores": {}, "method": method}


def _majority(
    task: TaskSpec, references: dict[str, list], train: list, groups: dict | None
) -> dict[str, Any]:
    """Score the most frequent training label (mean, label set) predicted everywhere."""
    if not train:
        return _none(
            "none: this version has no training labels to take the most frequent "
            "label from"
        )
    if task.type == "token_classification":
        counts = Counter(tag for tags in train for tag in tags)
        best = min(counts, key=lambda key: (-counts[key], key))
        shown = _class_name(task, best)
        support = f" ({counts[best]} of {counts.total()} training words)"
        scores = score_predictions(
            task,
            {s: [[best] * len(r) for r in refs] for s, refs in references.items()},
            references,
        )
        return {
            "task_score": task_score(task, scores),
            "scores": scores,
            "prediction": best,
            "shown": shown,
            "method": f"predict the most frequent training tag, {shown}{support}, "
            "for every word",
        }
    if task.type == "regression":
        prediction: Any = math.fsum(train) / len(train)
        shown = f"{prediction:.4g}"
        rule, support = "the mean training label", ""
    else:
        if task.type == "multilabel_classification":
            counts = Counter(tuple(label_set) for label_set in train)
            best = min(counts, key=lambda key: (-counts[key], len(key), key))
            prediction, shown = list(best), _label_set(task, best)
            rule = "the most frequent training label set"
        else:
            counts = Counter(train)
            best = min(counts, key=lambda key: (-counts[key], key))
            prediction, shown = best, _class_name(task, best)
            rule = "the most frequent training label"
        support = f" ({counts[best]} of {len(train)} training rows)"
    scores = score_predictions(
        task,
        {split: [prediction] * len(refs) for split, refs in references.items()},
        references,
        groups=groups,
    )
    return {
        "task_score": task_score(task, scores),
        "scores": scores,
        "prediction": prediction,
        "shown": shown,
        "method": f"predict {rule}, {shown}{support}, for every row",
    }


def _class_name(task: TaskSpec, index: int) -> str:
    return task.labels[index] if task.labels else str(index)


def _label_set(task: TaskSpec, indices: Sequence[int]) -> str:
    if not indices:
        return "the empty set"
    names = task.labels or ()
    return "{" + ", ".join(names[i] for i in indices) + "}"


def _chance(
    task: TaskSpec, references: dict[str, list], train: list, groups: dict | None
) -> dict:
    """The expected task score of uniformly random predictions (exact or drawn);
    per group, random per row, when the task is scored so."""
    scores: dict[str, float] = {}
    drawn: list[str] = []
    rng = np.random.default_rng(CHANCE_SEED)
    draws = None
    for split, refs in references.items():
        for metric in task.metrics:
            key = score_key(task, metric, split)
            exact = _exact_chance(task, metric)
            if exact is not None:
                scores[key] = exact
                continue
            if draws is None:
                draws = _draws(task, references, train, rng)
                if draws is None:
                    return _none(
                        "none: random predictions of a number need training labels "
                        "to take a range from"
                    )
            scores[key] = float(
                np.mean(
                    [
                        compute(
                            metric, *_scored(task, draw[split], refs, split, groups)
                        )
                        for draw in draws
                    ]
                )
            )
            drawn.append(metric)
    if drawn:
        method = (
            f"uniformly random predictions: {', '.join(sorted(set(drawn)))} is the "
            f"mean of {CHANCE_DRAWS} seeded draws (seed {CHANCE_SEED}); the other "
            "metrics are exact"
            if len(set(drawn)) < len(task.metrics)
            else f"uniformly random predictions: the mean of {CHANCE_DRAWS} seeded "
            f"draws (seed {CHANCE_SEED})"
        )
    else:
        method = "uniformly random predictions: exact expectation"
    return {"task_score": task_score(task, scores), "scores": scores, "method": method}


def _scored(
    task: TaskSpec, preds: list, refs: list, split: str, groups: dict | None
) -> tuple:
    """Predictions and references as the metric sees them: merged per group when
    the task is scored per group, tag names for a token task."""
    if task.type == "token_classification":
        return tag_names(task, preds), tag_names(task, refs)
    if groups is None:
        return preds, refs
    return group_label_sets(preds, groups[split]), group_label_sets(refs, groups[split])


def _exact_chance(task: TaskSpec, metric: str) -> float | None:
    """The closed-form chance value of ``metric`` on ``task``, if it has one."""
    if metric in _EXACT_ZERO:
        return 0.0
    if task.type == "classification" and metric in ("accuracy", "micro_f1"):
        return 1.0 / task.num_labels
    return None


def _draws(
    task: TaskSpec, references: dict[str, list], train: list, rng
) -> list[dict[str, list]] | None:
    """:data:`CHANCE_DRAWS` random prediction sets (split -> values), or None when
    a regression task has no training labels to draw a range from."""
    if task.type == "regression":
        if not train:
            return None
        low, high = min(train), max(train)
        return [
            {s: rng.uniform(low, high, len(r)).tolist() for s, r in references.items()}
            for _ in range(CHANCE_DRAWS)
        ]
    if task.type == "token_classification":
        return [
            {
                s: [rng.integers(0, task.num_labels, len(row)).tolist() for row in r]
                for s, r in references.items()
            }
            for _ in range(CHANCE_DRAWS)
        ]
    if task.type == "multilabel_classification":
        return [
            {
                s: [
                    np.flatnonzero(row).tolist()
                    for row in rng.integers(0, 2, (len(r), task.num_labels))
                ]
                for s, r in references.items()
            }
            for _ in range(CHANCE_DRAWS)
        ]
    return [
        {
            s: rng.integers(0, task.num_labels, len(r)).tolist()
            for s, r in references.items()
        }
        for _ in range(CHANCE_DRAWS)
    ]


@dataclass(frozen=True)
class LearningCheck:
    """Whether a scored run learned: ``did_not_learn`` is True (flagged, ``reason``
    in plain words), False (it beat both baselines with varied predictions) or
    None (not judged: no task score, so nothing to compare)."""

    did_not_learn: bool | None
    reason: str = ""


def learning_check(
    task: TaskSpec,
    predictions: Mapping[str, Sequence[Any]],
    score: float | None,
    baselines: Mapping[str, Any] | None,
) -> LearningCheck:
    """Judge one run from its predictions on the scored splits and its task score.

    ``baselines`` is what :func:`baselines_from_labels` returned for the dataset
    version the run was scored on (None or missing baselines: only the constant
    check applies). Comparing to a baseline needs a task score where higher is
    better; a task with a lower-is-better metric is only checked for constancy.
    """
    if score is None:
        return LearningCheck(None)
    reasons = []
    constant = _constant_prediction(task, predictions)
    if constant is not None:
        reasons.append(constant)
    beaten = _not_beaten(task, score, baselines or {})
    if beaten:
        reasons.append(
            f"score {score:.3f} is not above the "
            + " or the ".join(f"{name} baseline {value:.3f}" for name, value in beaten)
        )
    return LearningCheck(bool(reasons), "; ".join(reasons))


def _constant_prediction(
    task: TaskSpec, predictions: Mapping[str, Sequence[Any]]
) -> str | None:
    if task.type == "token_classification":
        tags = {
            tag
            for split in scored_splits(task)
            for value in predictions.get(split, ())
            for tag in value
        }
        if len(tags) == 1:
            return f"predicted one tag for every word ({_class_name(task, *tags)})"
        return None
    values = [
        tuple(value) if isinstance(value, list) else value
        for split in scored_splits(task)
        for value in predictions.get(split, ())
    ]
    if len(values) < 2 or any(value != values[0] for value in values[1:]):
        return None
    if task.type == "regression":
        return f"predicted one value for every row ({values[0]:.4g})"
    if task.type == "multilabel_classification":
        return f"predicted one label set for every row ({_label_set(task, values[0])})"
    return f"predicted one class for every row ({_class_name(task, values[0])})"


def _not_beaten(
    task: TaskSpec, score: float, baselines: Mapping[str, Any]
) -> list[tuple[str, float]]:
    """The baselines ``score`` is not above, as (name, value)."""
    if not all(METRICS[metric].higher_is_better for metric in task.metrics):
        return []
    found = []
    for kind, name in (("majority", "majority-class"), ("chance", "chance")):
        value = (baselines.get(kind) or {}).get("task_score")
        if value is not None and score <= value + 1e-12:
            found.append((name, float(value)))
    return found
