"""The one averaging rule: seeds -> a cell (mean, std, n) per task and numerics profile.

Every number the leaderboard shows for a task (board rows, the submission page,
compare, robustness) is a cell made here, from the results that count:

- of the task's current version (``Result.task_version == Task.version``): a
  leaderboard never mixes versions;
- not re-runs: a re-run is shown with its drift, never counted as an extra seed;
- scored: an evaluation-only result without a score (GLUE's AX: ``task_score`` is
  None, ``scores`` empty) is predictions kept for export, not a number to average;
- of one numerics profile (kernels.numerics): results computed in two profiles make
  two cells, never one that mixes them;
- of one track (``Evaluation.method``: full fine-tuning, LoRA, BitFit): cells are
  asked for per track, full fine-tuning unless another is named.

Seeds weigh equally: the cell is their mean, population standard deviation (0 for
one seed) and count. Should one seed have two counted results, the first stored
counts. A cell also says how many of its seeds did not learn
(``Result.did_not_learn``: constant predictions, or a score not above the
majority-class or chance baseline) and how many were never judged (results stored
before the check whose predictions could not be re-read): "1/5 did not learn".
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import F, QuerySet

from leaderboard.catalogue.models import Task
from leaderboard.submissions.models import Result, Submission

# (task name, numerics profile): what one cell averages over.
CellKey = tuple[str, str]


@dataclass
class TaskCell:
    """One leaderboard cell: a task's score over seeds (mean, std, seed count)."""

    mean: float
    std: float
    n: int
    per_seed: dict[int, float] = field(default_factory=dict)
    # seed -> did that seed's run not learn (True), learn (False), or unknown (None).
    flags: dict[int, bool | None] = field(default_factory=dict)

    @property
    def did_not_learn(self) -> int:
        """How many of the cell's seeds did not learn."""
        return sum(1 for flag in self.flags.values() if flag)

    @property
    def unjudged(self) -> int:
        """How many seeds were never judged (stored before the check)."""
        return sum(1 for seed in self.per_seed if self.flags.get(seed) is None)

    @property
    def learning_text(self) -> str:
        """Plain words for the cell: "1/5 did not learn", "" when all learned."""
        parts = []
        if self.did_not_learn:
            parts.append(f"{self.did_not_learn}/{self.n} did not learn")
        if self.unjudged:
            parts.append(f"{self.unjudged}/{self.n} not checked")
        return ", ".join(parts)


def counted_results(
    results: QuerySet[Result], *, track: str | None = "full"
) -> QuerySet[Result]:
    """Narrow ``results`` to those a cell of ``track`` counts (module docstring);
    ``track=None``: those of every track (what a curation action touches)."""
    if track is not None:
        results = results.filter(evaluation__method=track)
    return results.filter(
        task_score__isnull=False,
        evaluation__rerun_of__isnull=True,
        task_version=F("evaluation__task__version"),
    )


def average_seeds(
    scores: Iterable[tuple[CellKey, int, float, bool | None]],
) -> dict[CellKey, TaskCell]:
    """``(key, seed, score, did_not_learn)`` -> one cell per key, keys sorted.

    The first score given for a (key, seed) counts; pass them in a stable order.
    """
    by_key: dict[CellKey, dict[int, tuple[float, bool | None]]] = defaultdict(dict)
    for key, seed, score, flag in scores:
        by_key[key].setdefault(seed, (score, flag))
    cells = {}
    for key, seeds in sorted(by_key.items()):
        values = [score for score, _ in seeds.values()]
        cells[key] = TaskCell(
            mean=statistics.fmean(values),
            std=statistics.pstdev(values) if len(values) > 1 else 0.0,
            n=len(values),
            per_seed={seed: seeds[seed][0] for seed in sorted(seeds)},
            flags={seed: seeds[seed][1] for seed in sorted(seeds)},
        )
    return cells


def cells_by_submission(
    submission_ids: Iterable[int],
    *,
    tasks: Iterable[Task] | None = None,
    track: str = "full",
) -> dict[int, dict[CellKey, TaskCell]]:
    """Per submission: its cells on ``track``, on ``tasks`` only when given (one
    query)."""
    results = counted_results(
        Result.objects.filter(evaluation__submission_id__in=list(submission_ids)),
        track=track,
    )
    if tasks is not None:
        results = results.filter(evaluation__task__in=list(tasks))
    rows = results.order_by("evaluation__seed", "evaluation_id").values_list(
        "evaluation__submission_id",
        "evaluation__task__name",
        "numerics",
        "evaluation__seed",
        "task_score",
        "did_not_learn",
    )
    by_submission: dict[int, list] = defaultdict(list)
    for submission_id, task_name, profile, seed, score, flag in rows:
        by_submission[submission_id].append(((task_name, profile), seed, score, flag))
    return {pk: average_seeds(scores) for pk, scores in by_submission.items()}


def submission_cells(
    submission: Submission, *, track: str = "full"
) -> dict[CellKey, TaskCell]:
    """A submission's cells on every task it has counted results on, on ``track``."""
    return cells_by_submission([submission.pk], track=track).get(submission.pk, {})


def cell_to_json(cell: TaskCell) -> dict:
    """A cell as ``LeaderboardEntry.cells`` stores it (seeds as string keys)."""
    return {
        "mean": cell.mean,
        "std": cell.std,
        "n": cell.n,
        "per_seed": {str(seed): value for seed, value in cell.per_seed.items()},
        "did_not_learn": cell.did_not_learn,
        "flags": {str(seed): flag for seed, flag in cell.flags.items()},
    }


def cell_from_json(data: dict) -> TaskCell:
    """The inverse of :func:`cell_to_json` (a row stored before the flags existed
    reads as every seed unjudged)."""
    return TaskCell(
        mean=data["mean"],
        std=data["std"],
        n=data["n"],
        per_seed={int(seed): value for seed, value in data["per_seed"].items()},
        flags={int(seed): flag for seed, flag in data.get("flags", {}).items()},
    )
