"""A row's suite score under bootstrap resamples of evaluation examples and seeds.

Computed once per row when it is refreshed (``refresh``), never per request, and
stored in ``LeaderboardEntry.bootstrap``; ``confidence`` turns the rows' resampled
scores into rank intervals. The method, stated once:

- **Resamples**: :data:`RESAMPLES` (500), each drawing, per task, the scored
  split's examples with replacement (as many as it has) and the row's seeds with
  replacement (as many as it has); the task's value is the mean over the drawn
  seeds of the task score (its metrics' mean, ``tasks.scoring``) on the drawn
  examples, and the suite's value follows the suite's score rule.
- **Common random numbers**: the draws depend only on the suite, task, dataset
  version, split, resample number and counts, never on the model, so every row is
  resampled on the same examples (a paired bootstrap): two models with identical
  predictions get identical resampled scores.
- **Deterministic**: each draw comes from a generator seeded by a sha256 of those
  names; refreshing a row twice gives the same numbers.
- **Where examples cannot be resampled** (a result whose stored predictions are
  missing, or a task scored per group such as BLURB's HoC) the seed's own score is
  used in every resample: only its seeds are resampled.
- **Cost**: one pass per row over its examples per resample and seed,
  ``O(RESAMPLES · examples · seeds)``; classification tasks scored by accuracy,
  F1, macro F1 or MCC count a confusion matrix per resample (numpy), the others
  score the drawn rows with ``tasks.scoring``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np
from django.core.files.storage import default_storage

from leaderboard.catalogue.models import Task
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.standings.cells import counted_results
from leaderboard.submissions.models import Result, Submission
from tasks import registry, scoring
from tasks.errors import GlewError
from tasks.specs import SuiteSpec, TaskSpec

RESAMPLES = 500
"""Bootstrap resamples per row: enough for 95% rank intervals and P(rank) to two
decimals, few enough that a row of a nine-task suite refreshes in seconds."""


def generator(*names: object) -> np.random.Generator:
    """A numpy generator seeded by the names given (stable across processes)."""
    digest = hashlib.sha256("\x1f".join(map(str, names)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "big"))


def example_draws(key: tuple, n: int, resample: int) -> np.ndarray:
    """The example indices of one resample of a split of ``n`` examples."""
    return generator("examples", *key, n, resample).integers(0, n, n)


def seed_draws(key: tuple, k: int, resamples: int) -> np.ndarray:
    """(resamples, k): which of a row's ``k`` seeds (sorted) each resample draws."""
    return generator("seeds", *key, k, resamples).integers(0, k, (resamples, k))


def _stored_predictions(name: str) -> list:
    with default_storage.open(name, "rb") as handle:
        return [json.loads(line)["prediction"] for line in handle if line.strip()]


def _split_data(result: Result, spec: TaskSpec) -> dict[str, tuple[list, list]] | None:
    """Per scored split: (predictions, references); None when examples cannot be
    resampled (see the module docstring)."""
    splits = scoring.scored_splits(spec)
    if spec.group_field is not None or not splits:
        return None
    version = result.evaluation.dataset_version
    data = {}
    for split in splits:
        name = (result.predictions or {}).get(split)
        if not name or split not in version.files:
            return None
        try:
            predictions = _stored_predictions(name)
            references = [row["label"] for row in dataset_rows(version, split)]
        except (OSError, ValueError, KeyError):
            return None
        if len(predictions) != len(references) or not references:
            return None
        data[split] = (predictions, references)
    return data


COUNTED_METRICS = ("accuracy", "f1", "matthews_corrcoef", "macro_f1")
"""Metrics computed from a resample's confusion matrix (exactly as
``tasks.metrics`` computes them on the drawn rows, a parity test checks) instead
of on expanded lists: what keeps a resample of 40,000 rows cheap."""


def _counted(spec: TaskSpec) -> bool:
    return (
        spec.type == "classification"
        and bool(spec.labels)
        and all(metric in COUNTED_METRICS for metric in spec.metrics)
    )


def confusion_metric(metric: str, confusion: np.ndarray) -> float:
    """``metric`` from a confusion matrix (rows: reference, columns: prediction)."""
    total = confusion.sum()
    right = np.trace(confusion)
    truth, predicted = confusion.sum(axis=1), confusion.sum(axis=0)
    if metric == "accuracy":
        return float(right / total) if total else 0.0
    if metric == "f1":  # of the positive class 1; 0.0 when undefined
        hit = confusion[1, 1]
        denominator = truth[1] + predicted[1]
        return float(2 * hit / denominator) if denominator else 0.0
    if metric == "macro_f1":  # over the classes present in either
        present = (truth + predicted) > 0
        per_class = 2 * np.diag(confusion)[present] / (truth + predicted)[present]
        return float(per_class.mean()) if present.any() else 0.0
    if metric == "matthews_corrcoef":  # scikit-learn's multiclass formula
        cov_tp = right * total - truth @ predicted
        cov_pp = total**2 - predicted @ predicted
        cov_tt = total**2 - truth @ truth
        return float(cov_tp / np.sqrt(cov_tt * cov_pp)) if cov_tt * cov_pp else 0.0
    raise ValueError(f"{metric} is not computed from counts")


def counted_resamples(
    spec: TaskSpec, data: dict, key: tuple, version: str, resamples: int
) -> np.ndarray:
    """The task score per resample, from each resample's confusion matrices
    (``data``: split -> (predictions, references))."""
    classes = len(spec.labels)
    values = np.zeros(resamples)
    for split, (predictions, references) in data.items():
        codes = np.asarray(references) * classes + np.asarray(predictions)
        n = len(codes)
        for b in range(resamples):
            draw = example_draws((*key, version, split), n, b)
            weights = np.bincount(draw, minlength=n).astype(float)
            confusion = np.bincount(
                codes, weights=weights, minlength=classes * classes
            ).reshape(classes, classes)
            values[b] += sum(confusion_metric(m, confusion) for m in spec.metrics)
    return values / (len(data) * len(spec.metrics))


def seed_resamples(
    *, result: Result, spec: TaskSpec, key: tuple, resamples: int = RESAMPLES
) -> np.ndarray:
    """The task score of one seed's result under each resample of its examples."""
    data = _split_data(result, spec)
    if data is None:
        return np.full(resamples, float(result.task_score))
    version = result.evaluation.dataset_version.sha256
    if _counted(spec):
        return counted_resamples(spec, data, key, version, resamples)
    values = np.empty(resamples)
    for b in range(resamples):
        drawn_preds, drawn_refs = {}, {}
        for split, (predictions, references) in data.items():
            draw = example_draws((*key, version, split), len(references), b)
            drawn_preds[split] = [predictions[i] for i in draw]
            drawn_refs[split] = [references[i] for i in draw]
        try:
            scores = scoring.score_predictions(spec, drawn_preds, drawn_refs)
            values[b] = scoring.task_score(spec, scores)
        except (GlewError, ValueError, ZeroDivisionError):
            values[b] = float(result.task_score)
    return np.nan_to_num(values, nan=float(result.task_score))


def task_resamples(
    *, results: Sequence[Result], spec: TaskSpec, key: tuple, resamples: int
) -> np.ndarray:
    """A task's value per resample: the mean over drawn seeds (``results`` sorted
    by seed, one per seed) of each seed's resampled score."""
    per_seed = np.stack(
        [
            seed_resamples(result=r, spec=spec, key=key, resamples=resamples)
            for r in results
        ]
    )  # (k, resamples)
    draws = seed_draws(key, len(results), resamples)  # (resamples, k)
    return per_seed[draws, np.arange(resamples)[:, None]].mean(axis=1)


def row_bootstrap(
    *,
    suite_spec: SuiteSpec,
    submission: Submission,
    profile: str,
    tasks: list[Task],
    resamples: int = RESAMPLES,
    track: str = "full",
) -> list[float]:
    """A row's suite score under each resample ([] when it has no suite score)."""
    counted = counted_results(
        Result.objects.filter(
            evaluation__submission=submission,
            numerics=profile,
            evaluation__task__in=tasks,
        ),
        track=track,
    ).select_related("evaluation__task", "evaluation__dataset_version")
    by_task: dict[str, dict[int, Result]] = {}
    for result in counted.order_by("evaluation__seed", "evaluation_id"):
        seeds = by_task.setdefault(result.evaluation.task.name, {})
        seeds.setdefault(result.evaluation.seed, result)
    names = [task.name for task in tasks]
    if any(name not in by_task for name in names):
        return []
    values = {
        name: task_resamples(
            results=[by_task[name][seed] for seed in sorted(by_task[name])],
            spec=registry.get_task(name),
            key=(suite_spec.name, name),
            resamples=resamples,
        )
        for name in names
    }
    scores = []
    for b in range(resamples):
        score = scoring.suite_score(
            suite_spec, {name: float(values[name][b]) for name in names}, tasks=names
        )
        if score is None:
            return []
        scores.append(round(score, 6))
    return scores
