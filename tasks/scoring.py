"""Turning predictions into scores: per metric, per task, per suite.

Score keys: a task with one scored split reports each metric under its own name
(``"accuracy"``, ``"f1"``, ``"pearson"``); a task with several scored splits
suffixes the split, dropping a leading ``"validation_"`` (MNLI:
``"accuracy_matched"``, ``"accuracy_mismatched"``). The scored splits are the
task's ``eval_splits``; a task without any (GLUE's AX) is scored on its
``test_splits`` when the caller holds their labels.

All values are fractions as the metric functions return them (not percentages).

A task with a ``group_field`` (BLURB's HoC: one row per sentence, scored per
abstract) is scored per group: the callers pass each scored row's group
(:func:`row_groups`), and the label sets of a group's rows, and separately its
predictions, are OR-ed into one label set per group before the metric, as BLUE's
``blue/hoc/eval_hoc.py`` does. Baselines go through the same function, so they
are per group too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from tasks.errors import UserError
from tasks.metrics import compute
from tasks.predictions import check_prediction
from tasks.specs import SCORE_RULES, SuiteSpec, TaskSpec
from tasks.tagging import TOKEN_CLASSIFICATION, tag_names


def scored_splits(task: TaskSpec) -> tuple[str, ...]:
    """The splits whose predictions are scored for ``task``."""
    return task.eval_splits or task.test_splits


def score_key(task: TaskSpec, metric: str, split: str) -> str:
    """The result key of ``metric`` on ``split`` (see the module docstring)."""
    if len(scored_splits(task)) == 1:
        return metric
    return f"{metric}_{split.removeprefix('validation_')}"


def score_keys(task: TaskSpec) -> tuple[str, ...]:
    """Every key :func:`score_predictions` returns for ``task``, in order.

    >>> from tasks.registry import get_task
    >>> score_keys(get_task("glue/mnli"))
    ('accuracy_matched', 'accuracy_mismatched')
    >>> score_keys(get_task("glue/mrpc"))
    ('f1', 'accuracy')
    """
    return tuple(
        score_key(task, metric, split)
        for split in scored_splits(task)
        for metric in task.metrics
    )


def _check_predictions(task: TaskSpec, split: str, predictions: Sequence) -> None:
    """Refuse predictions that are not valid outputs, instead of scoring nonsense
    (the rule is ``tasks.predictions.check_prediction``, as for the worker)."""
    for i, value in enumerate(predictions):
        check_prediction(task, value, where=f"{task.name} {split} row {i}")


def row_groups(task: TaskSpec, rows: Sequence[Mapping]) -> list[str] | None:
    """Each row's group (its ``task.group_field``), or None for a task scored per
    row: what :func:`score_predictions` takes as ``groups`` for one split."""
    if task.group_field is None:
        return None
    return [row[task.group_field] for row in rows]


def group_label_sets(
    values: Sequence[Sequence[int]], groups: Sequence[str]
) -> list[list[int]]:
    """One label set per group, in order of first appearance: the union (OR) of
    its rows' label sets.

    >>> group_label_sets([[1], [], [0, 1], [3]], ["a", "a", "b", "a"])
    [[1, 3], [0, 1]]
    """
    merged: dict[str, set[int]] = {}
    for value, group in zip(values, groups, strict=True):
        merged.setdefault(group, set()).update(value)
    return [sorted(labels) for labels in merged.values()]


def score_predictions(
    task: TaskSpec,
    predictions: Mapping[str, Sequence],
    references: Mapping[str, Sequence],
    *,
    groups: Mapping[str, Sequence[str] | None] | None = None,
) -> dict[str, float]:
    """Score predictions against references for every scored split of ``task``.

    ``predictions`` and ``references`` map split -> values in the same row order.
    A scored split missing from either is an error: a partial score would look
    like a complete one on the leaderboard. ``groups`` maps split -> each row's
    group (:func:`row_groups`); a task with a ``group_field`` is scored per group
    and cannot be scored without them (per row it would be another number).
    """
    scores: dict[str, float] = {}
    for split in scored_splits(task):
        if split not in predictions or split not in references:
            raise UserError(
                "scoring.missing_split",
                f"{task.name}: predictions and references are needed for {split!r}",
            )
        preds, refs = predictions[split], references[split]
        if len(preds) != len(refs):
            raise UserError(
                "scoring.length_mismatch",
                f"{task.name} {split}: {len(preds)} predictions for {len(refs)} rows",
            )
        _check_predictions(task, split, preds)
        if task.type == TOKEN_CLASSIFICATION:
            preds, refs = _as_tags(task, split, preds, refs)
        if task.group_field is not None:
            preds, refs = _per_group(task, split, preds, refs, groups)
        for metric in task.metrics:
            scores[score_key(task, metric, split)] = compute(metric, preds, refs)
    return scores


def _as_tags(
    task: TaskSpec, split: str, preds: Sequence, refs: Sequence
) -> tuple[list[list[str]], list[list[str]]]:
    """Token tasks' tag indices as tag names (what seqeval reads), each
    sentence's predictions as many as its words."""
    for i, (pred, ref) in enumerate(zip(preds, refs, strict=True)):
        if len(pred) != len(ref):
            raise UserError(
                "scoring.length_mismatch",
                f"{task.name} {split} row {i}: {len(pred)} tags for {len(ref)} words",
            )
    return tag_names(task, preds), tag_names(task, refs)


def _per_group(
    task: TaskSpec,
    split: str,
    preds: Sequence,
    refs: Sequence,
    groups: Mapping[str, Sequence[str] | None] | None,
) -> tuple[list[list[int]], list[list[int]]]:
    """Predictions and references of ``split`` merged per group."""
    found = (groups or {}).get(split)
    if found is None:
        raise UserError(
            "scoring.missing_groups",
            f"{task.name} is scored per {task.group_field}: the {split!r} rows' "
            f"{task.group_field} values are needed",
        )
    if len(found) != len(refs):
        raise UserError(
            "scoring.length_mismatch",
            f"{task.name} {split}: {len(found)} groups for {len(refs)} rows",
        )
    return group_label_sets(preds, found), group_label_sets(refs, found)


def task_score(task: TaskSpec, scores: Mapping[str, float]) -> float:
    """One number for the task: the unweighted mean of its metric values.

    MRPC counts as mean(f1, accuracy); MNLI as mean(matched, mismatched) accuracy.
    """
    missing = [key for key in score_keys(task) if key not in scores]
    if missing:
        raise UserError(
            "scoring.missing_metric", f"{task.name}: no value for {', '.join(missing)}"
        )
    values = [float(scores[key]) for key in score_keys(task)]
    return sum(values) / len(values)


def suite_score(
    suite: SuiteSpec,
    task_scores: Mapping[str, float],
    *,
    tasks: Iterable[str] | None = None,
) -> float | None:
    """The suite's score from task scores keyed by task name (``"glue/cola"``).

    Only tasks with ``in_suite_score`` count (GLUE's AX does not); until every one
    of them has a finite value the suite has no score (None), because a mean over
    the tasks done so far would rank a half-evaluated model. ``tasks`` narrows the
    rule to the scored tasks a deployment has data for (a platform without MNLI's
    files still ranks models on the rest, and says so next to the score).

    Rules: ``mean_of_task_means`` (GLUE, KLEJ, BLURB) is the plain mean, or the
    weighted mean when the suite's ``score_rule_options`` give ``weights`` (task
    key -> weight; a task not named weighs 1); ``advglue_mean`` first averages
    tasks sharing a ``predict_with`` model (AdvGLUE's MNLI-m and -mm), see
    :func:`_mean_per_model`.
    """
    if suite.score_rule not in SCORE_RULES:
        raise ValueError(f"unknown score rule {suite.score_rule!r}")
    counted = suite.scored_tasks
    if tasks is not None:
        wanted = set(tasks)
        counted = tuple(task for task in counted if task.name in wanted)
    values = []
    for task in counted:
        value = task_scores.get(task.name)
        if value is None or not math.isfinite(value):
            return None
        values.append(float(value))
    if not values:
        return None
    if suite.score_rule == "advglue_mean":
        return _mean_per_model(counted, values)
    if suite.score_rule == "mean_of_group_means":
        return _mean_per_group(suite, counted, values)
    given = suite.score_rule_options.get("weights", {})
    weights = [float(given.get(task.key, 1.0)) for task in counted]
    return sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights)


def _mean_per_model(tasks: Sequence[TaskSpec], values: Sequence[float]) -> float:
    """AdvGLUE's rule: average the tasks predicted with the same fine-tuned model
    (``predict_with``) first, then average those means.

    AdvGLUE's MNLI-m and MNLI-mm are both predicted with the GLUE MNLI model and
    count as one task, so the suite score is a mean over 5 GLUE tasks, not 6.
    """
    groups: dict[str, list[float]] = {}
    for task, value in zip(tasks, values, strict=True):
        groups.setdefault(task.predict_with or task.name, []).append(value)
    means = [sum(group) / len(group) for group in groups.values()]
    return sum(means) / len(means)


def _mean_per_group(
    suite: SuiteSpec, tasks: Sequence[TaskSpec], values: Sequence[float]
) -> float:
    """BLURB's rule: the mean within each group of tasks (its task types: NER,
    PICO, relation extraction, sentence similarity, document classification,
    question answering), then the mean of the groups' means.

    A group none of whose tasks is counted (``tasks`` narrowed) is left out.
    """
    group_of = {
        key: group
        for group, keys in suite.score_rule_options["groups"].items()
        for key in keys
    }
    groups: dict[str, list[float]] = {}
    for task, value in zip(tasks, values, strict=True):
        groups.setdefault(group_of[task.key], []).append(value)
    means = [sum(group) / len(group) for group in groups.values()]
    return sum(means) / len(means)


def robustness_gap(glue_task_score: float, advglue_task_score: float) -> float:
    """How much a task's score drops under attack: GLUE dev minus AdvGLUE.

    Both are task scores (:func:`task_score`) of the same fine-tuned model; a
    positive gap is the accuracy lost to the adversarial rewrites.

    >>> round(robustness_gap(0.92, 0.35), 2)
    0.57
    """
    for value in (glue_task_score, advglue_task_score):
        if isinstance(value, bool) or not math.isfinite(value):
            raise UserError(
                "scoring.invalid_score", f"a task score must be finite, got {value!r}"
            )
    return float(glue_task_score) - float(advglue_task_score)
