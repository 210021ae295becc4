"""Reads of submissions and the leaderboard, with visibility rules applied.

Who may see what is decided here once: public submissions are visible to everyone,
private ones to their owner and staff. Pages and the API both read through this module.
"""

from dataclasses import dataclass, field

from django.db.models import Count, F, Max, Q, QuerySet

from leaderboard.catalogue.models import Suite, Task
from leaderboard.submissions.models import (
    Evaluation,
    LeaderboardEntry,
    Result,
    Submission,
    Visibility,
)
from tasks import scoring
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


@dataclass(frozen=True)
class Named:
    """The one attribute a leaderboard row shows of an owner or archive."""

    username: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class SubmissionSummary:
    """What a leaderboard row needs of its submission, without a model instance:
    rows of thousands of submissions are built, cached and pickled cheaply."""

    pk: int
    name: str
    owner: Named
    archive: Named
    is_baseline: bool
    recipe: str
    visibility: str
    created_at: object

    @property
    def id(self) -> int:
        return self.pk


@dataclass
class LeaderboardRow:
    rank: int | None
    submission: Submission
    score: float | None
    tasks: dict[str, TaskCell]
    efficiency: dict = field(default_factory=dict)
    numerics: str = ""


def leaderboard_tasks(suite: Suite) -> list[Task]:
    """The tasks a suite's leaderboard shows: scored tasks that have published data."""
    from leaderboard.submissions.standings import leaderboard_tasks as tasks_of

    return tasks_of(suite)


def leaderboard_rows(
    *, suite: Suite, user, limit: int | None = None, offset: int = 0
) -> list[LeaderboardRow]:
    """Visible rows of a suite's leaderboard, best first, from the precomputed entries.

    A submission has one row per numerics profile its results were computed in.
    Cells average the task score over seeds of the task's current version and of
    the row's profile (a leaderboard never mixes versions or profiles); the suite
    score follows the suite's rule over
    the tasks this deployment has data for, and a submission missing one of them has
    no suite score and ranks after those that have one. Ranks count visible rows only.
    """
    entries = (
        LeaderboardEntry.objects.filter(
            suite=suite, submission__in=visible_submissions(user)
        )
        .order_by(
            F("score").desc(nulls_last=True),
            "-task_count",
            "submission__created_at",
            "numerics",
        )
        .values_list(
            "score",
            "cells",
            "efficiency",
            "submission_id",
            "submission__name",
            "submission__owner__username",
            "submission__archive__sha256",
            "submission__is_baseline",
            "submission__recipe",
            "submission__visibility",
            "submission__created_at",
            "numerics",
        )
    )
    scored_before = 0
    if offset:
        scored_before = entries[:offset].aggregate(n=Count("score"))["n"] or 0
    window = entries[offset : offset + limit] if limit is not None else entries[offset:]
    rows = []
    rank = scored_before
    for score, cells, efficiency, *fields in window:
        if score is not None:
            rank += 1
        pk, name, username, sha256, baseline, recipe, visibility, created, profile = (
            fields
        )
        rows.append(
            LeaderboardRow(
                rank if score is not None else None,
                SubmissionSummary(
                    pk,
                    name,
                    Named(username=username),
                    Named(sha256=sha256),
                    baseline,
                    recipe,
                    visibility,
                    created,
                ),
                score,
                {
                    task: TaskCell(
                        mean=cell["mean"],
                        std=cell["std"],
                        n=cell["n"],
                        per_seed={int(k): v for k, v in cell["per_seed"].items()},
                    )
                    for task, cell in cells.items()
                },
                efficiency,
                profile,
            )
        )
    return rows


def leaderboard_count(*, suite: Suite, user) -> int:
    return LeaderboardEntry.objects.filter(
        suite=suite, submission__in=visible_submissions(user)
    ).count()


def _rerun_pair(evaluation: Evaluation) -> tuple[Result, Result] | None:
    """(the re-run's result, the original's), when both exist."""
    if evaluation.rerun_of_id is None:
        return None
    mine = getattr(evaluation, "result", None)
    theirs = Result.objects.filter(evaluation_id=evaluation.rerun_of_id).first()
    if mine is None or theirs is None:
        return None
    return mine, theirs


def evaluation_drift(evaluation: Evaluation) -> dict[str, float] | None:
    """For a re-run: its scores minus those of the run it reproduces, per metric.

    Only like with like: when the two runs computed in different numerics profiles
    their difference is the profiles', not drift, so there is none
    (:func:`evaluation_drift_note` says why).
    """
    pair = _rerun_pair(evaluation)
    if pair is None:
        return None
    mine, theirs = pair
    if mine.numerics != theirs.numerics:
        return None
    return {
        key: mine.scores[key] - theirs.scores[key]
        for key in mine.scores
        if key in theirs.scores
    }


def evaluation_drift_note(evaluation: Evaluation) -> str | None:
    """Why a finished re-run shows no drift, in plain words; None when it does."""
    pair = _rerun_pair(evaluation)
    if pair is None or pair[0].numerics == pair[1].numerics:
        return None
    mine, theirs = pair
    return (
        f"Not compared: this re-run computed in {mine.numerics or 'an unknown profile'}"
        f" and the original in {theirs.numerics or 'an unknown profile'}; their "
        "difference would measure the numerics, not drift."
    )


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


def submissions_stamp() -> str:
    """Changes whenever a submission is added or changes (the home page's list)."""
    state = Submission.objects.aggregate(latest=Max("updated_at"), rows=Count("id"))
    latest = state["latest"].timestamp() if state["latest"] else 0
    return f"{latest}:{state['rows']}"
