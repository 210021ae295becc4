"""Reading the precomputed leaderboard rows, with visibility applied.

Who may see a submission is decided once, in ``submissions.selectors``
(``visible_submissions``); rows are read through it and nothing else.
"""

from dataclasses import dataclass, field

from django.db.models import Case, Count, F, Q, Value, When

from leaderboard.catalogue.models import Suite
from leaderboard.standings.cells import TaskCell, cell_from_json
from leaderboard.standings.scope import suite_coverage
from leaderboard.submissions.models import LeaderboardEntry
from leaderboard.submissions.selectors import visible_submissions


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
    """One precomputed row: a submission's cells on a suite in one numerics profile."""

    rank: int | None
    submission: SubmissionSummary
    score: float | None
    tasks: dict[str, TaskCell]
    efficiency: dict = field(default_factory=dict)
    numerics: str = ""
    # What the score is over (LeaderboardEntry): partial rows rank among themselves.
    tasks_counted: int | None = None
    tasks_in_suite: int = 0
    partial: bool = False
    # Rank interval and P(rank) among the public rows (standings.confidence).
    confidence: dict = field(default_factory=dict)
    # The fine-tuning method of the row's results (LeaderboardEntry.track).
    track: str = "full"


_FIELDS = (
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
    "tasks_counted",
    "tasks_in_suite",
    "partial",
    "rank_confidence",
    "track",
)

RANK_GROUP = Case(
    When(score__isnull=True, then=Value(2)),
    When(partial=True, then=Value(1)),
    default=Value(0),
)
"""Rows with a complete suite score first, then partial ones, then unscored ones."""


def leaderboard_rows(
    *,
    suite: Suite,
    user,
    limit: int | None = None,
    offset: int = 0,
    track: str = "full",
) -> list[LeaderboardRow]:
    """Visible rows of a suite's leaderboard, best first, from the precomputed entries.

    A submission has one row per numerics profile its results were computed in
    (cells follow ``cells``' averaging rule); the suite score follows the suite's
    rule over the tasks this deployment has data for. The ranking rule: rows whose
    score is over every scored task of the suite rank first; rows whose score is
    *partial* (over fewer tasks, see ``scope.suite_coverage``) are ranked among
    themselves after them, from 1 again, and labelled wherever they are shown; a
    submission missing a task the deployment can evaluate has no suite score and
    comes last, unranked. Ranks count visible rows only. A board shows one track
    (fine-tuning method) at a time, ranked among its own rows: full fine-tuning
    unless ``track`` names another.
    """
    entries = (
        LeaderboardEntry.objects.filter(
            suite=suite, submission__in=visible_submissions(user), track=track
        )
        .order_by(
            RANK_GROUP,
            F("score").desc(nulls_last=True),
            "-task_count",
            "submission__created_at",
            "numerics",
        )
        .values_list(*_FIELDS)
    )
    ranked_before = {False: 0, True: 0}
    if offset:
        head = entries[:offset].aggregate(
            complete=Count("score", filter=Q(partial=False)),
            partial=Count("score", filter=Q(partial=True)),
        )
        ranked_before = {False: head["complete"] or 0, True: head["partial"] or 0}
    window = entries[offset : offset + limit] if limit is not None else entries[offset:]
    return [_row(values, ranked_before) for values in window]


def _row(values: tuple, ranked_before: dict[bool, int]) -> LeaderboardRow:
    """One row from ``_FIELDS``; ``ranked_before`` counts scored rows per group
    (complete, partial) so far and is advanced here."""
    score, cells, efficiency, *fields = values
    pk, name, username, sha256, baseline, recipe, visibility, created, profile = fields[
        :9
    ]
    counted, in_suite, partial, confidence, track = fields[9:]
    rank = None
    if score is not None:
        ranked_before[partial] += 1
        rank = ranked_before[partial]
    summary = SubmissionSummary(
        pk,
        name,
        Named(username=username),
        Named(sha256=sha256),
        baseline,
        recipe,
        visibility,
        created,
    )
    return LeaderboardRow(
        rank,
        summary,
        score,
        {task: cell_from_json(cell) for task, cell in cells.items()},
        efficiency,
        profile,
        tasks_counted=counted,
        tasks_in_suite=in_suite,
        partial=partial,
        confidence=confidence,
        track=track,
    )


@dataclass(frozen=True)
class SuiteStanding:
    """A submission's suite score on one suite, profile and track, what it is over,
    and what it cost (trainable parameters, fine-tune seconds, peak memory): the
    submission page's table of how its fine-tuning methods compare."""

    suite: Suite
    numerics: str
    score: float | None
    tasks_counted: int | None
    tasks_in_suite: int
    partial: bool
    coverage_text: str
    track: str = "full"
    efficiency: dict = field(default_factory=dict)

    def as_data(self) -> dict:
        return {
            "suite": self.suite.slug,
            "numerics": self.numerics,
            "track": self.track,
            "trainable_params": self.efficiency.get("trainable_params"),
            "train_seconds": self.efficiency.get("train_seconds"),
            "peak_memory_bytes": self.efficiency.get("peak_memory_bytes"),
            "score": self.score,
            "tasks_counted": self.tasks_counted,
            "tasks_in_suite": self.tasks_in_suite,
            "partial": self.partial,
            "coverage": self.coverage_text,
        }


def submission_standings(submission) -> list[SuiteStanding]:
    """The suite scores of one (visible) submission, per suite, profile and track,
    each with the sentence saying what it is over."""
    entries = LeaderboardEntry.objects.filter(submission=submission).select_related(
        "suite"
    )
    coverage = {}
    standings = []
    for entry in entries.order_by("suite__slug", "numerics", "track"):
        key = (entry.suite_id, entry.track)
        if key not in coverage:
            coverage[key] = suite_coverage(entry.suite, track=entry.track).text
        standings.append(
            SuiteStanding(
                entry.suite,
                entry.numerics,
                entry.score,
                entry.tasks_counted,
                entry.tasks_in_suite,
                entry.partial,
                coverage[key],
                entry.track,
                entry.efficiency,
            )
        )
    return standings
