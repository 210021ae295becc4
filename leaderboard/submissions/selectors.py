"""Reads of submissions and the leaderboard, with visibility rules applied.

Who may see what is decided here once: public submissions are visible to everyone,
private ones to their owner and staff. Pages and the API both read through this module.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

from leaderboard.catalogue.models import Suite, Task
from leaderboard.submissions.models import Evaluation, Result, Submission, Visibility
from tasks import registry, scoring
from tasks.errors import UserError


def visible_submissions(user) -> QuerySet[Submission]:
    """Submissions ``user`` may see (anonymous users see public ones only)."""
    qs = Submission.objects.select_related("owner", "archive")
    if user is not None and user.is_authenticated:
        if user.is_staff:
            return qs
        return qs.filter(Q(visibility=Visibility.PUBLIC) | Q(owner=user))
    return qs.filter(visibility=Visibility.PUBLIC)


def submission_get(*, submission_id: int, user) -> Submission:
    """One submission, or a not-found error that does not reveal private ones."""
    submission = visible_submissions(user).filter(pk=submission_id).first()
    if submission is None:
        raise UserError(
            "submission.not_found", f"There is no submission #{submission_id}."
        )
    return submission


def submission_evaluations(submission: Submission) -> list[Evaluation]:
    return list(
        submission.evaluations.select_related(
            "task", "dataset_version", "result"
        ).order_by("task__name", "seed", "pk")
    )


def recent_submissions(user, limit: int = 10) -> list[Submission]:
    return list(visible_submissions(user).order_by("-created_at")[:limit])


@dataclass
class TaskCell:
    """One leaderboard cell: a task's score over seeds (mean, std, seed count)."""

    mean: float
    std: float
    n: int
    per_seed: dict[int, float] = field(default_factory=dict)


@dataclass
class LeaderboardRow:
    rank: int | None
    submission: Submission
    score: float | None
    tasks: dict[str, TaskCell]


def leaderboard_tasks(suite: Suite) -> list[Task]:
    """The tasks a suite's leaderboard shows: scored tasks that have published data."""
    return [
        task
        for task in suite.tasks.filter(in_suite_score=True).order_by("key")
        if task.dataset_versions.filter(published=True).exists()
    ]


def leaderboard_rows(*, suite: Suite, user) -> list[LeaderboardRow]:
    """One row per visible submission with a finished result on the suite.

    Cells average the task score over seeds, counting only results scored with the
    task's current version, so a leaderboard never mixes versions. The suite score
    follows the suite's rule over the tasks this deployment has data for; a submission
    missing one of them has no suite score and ranks after those that have one.
    """
    suite_spec = registry.get_suite(suite.slug)
    tasks = leaderboard_tasks(suite)
    task_names = [task.name for task in tasks]
    current = {task.name: task.version for task in tasks}
    results = (
        Result.objects.filter(
            evaluation__task__in=tasks,
            evaluation__submission__in=visible_submissions(user),
            evaluation__rerun_of__isnull=True,
        )
        .select_related("evaluation__task", "evaluation__submission")
        .order_by("evaluation__seed")
    )
    per_submission: dict[int, dict[str, dict[int, float]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    submissions: dict[int, Submission] = {}
    for result in results:
        evaluation = result.evaluation
        if result.task_score is None or (
            result.task_version != current[evaluation.task.name]
        ):
            continue
        submissions[evaluation.submission_id] = evaluation.submission
        per_submission[evaluation.submission_id][evaluation.task.name][
            evaluation.seed
        ] = result.task_score
    rows = []
    for submission_id, by_task in per_submission.items():
        cells = {
            name: TaskCell(
                mean=statistics.fmean(seeds.values()),
                std=statistics.pstdev(seeds.values()) if len(seeds) > 1 else 0.0,
                n=len(seeds),
                per_seed=dict(seeds),
            )
            for name, seeds in by_task.items()
        }
        score = scoring.suite_score(
            suite_spec,
            {name: cell.mean for name, cell in cells.items()},
            tasks=task_names,
        )
        rows.append(LeaderboardRow(None, submissions[submission_id], score, cells))
    rows.sort(
        key=lambda row: (
            row.score is None,
            -(row.score or 0.0),
            -len(row.tasks),
            row.submission.created_at,
        )
    )
    rank = 0
    for position, row in enumerate(rows, start=1):
        if row.score is not None:
            rank = position
            row.rank = rank
    return rows


def evaluation_drift(evaluation: Evaluation) -> dict[str, float] | None:
    """For a re-run: its scores minus those of the run it reproduces, per metric."""
    if evaluation.rerun_of_id is None:
        return None
    mine = getattr(evaluation, "result", None)
    theirs = Result.objects.filter(evaluation_id=evaluation.rerun_of_id).first()
    if mine is None or theirs is None:
        return None
    return {
        key: mine.scores[key] - theirs.scores[key]
        for key in mine.scores
        if key in theirs.scores
    }


def robustness_gaps(submission: Submission) -> dict[str, dict[str, float]]:
    """Per evaluation-only companion with a score (AdvGLUE): the score of the task
    whose model predicted it, the companion's score, and the gap between them."""
    gaps: dict[str, dict[str, float]] = {}
    companions = (
        Result.objects.filter(
            evaluation__submission=submission,
            evaluation__predicted_by__isnull=False,
            task_score__isnull=False,
        )
        .select_related("evaluation__task", "evaluation__predicted_by__task")
        .order_by("evaluation__seed")
    )
    for result in companions:
        source = Result.objects.filter(
            evaluation=result.evaluation.predicted_by
        ).first()
        if source is None or source.task_score is None:
            continue
        key = f"{result.evaluation.task.name}@seed{result.evaluation.seed}"
        gaps[key] = {
            "clean": source.task_score,
            "adversarial": result.task_score,
            "gap": scoring.robustness_gap(source.task_score, result.task_score),
            "clean_task": result.evaluation.predicted_by.task.name,
        }
    return gaps
