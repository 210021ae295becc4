"""Reading the precomputed leaderboard rows, with visibility applied.

Who may see a submission is decided once, in ``submissions.selectors``
(``visible_submissions``); rows are read through it and nothing else.
"""

from dataclasses import dataclass, field

from django.db.models import Count, F

from leaderboard.catalogue.models import Suite
from leaderboard.standings.cells import TaskCell, cell_from_json
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
)


def leaderboard_rows(
    *, suite: Suite, user, limit: int | None = None, offset: int = 0
) -> list[LeaderboardRow]:
    """Visible rows of a suite's leaderboard, best first, from the precomputed entries.

    A submission has one row per numerics profile its results were computed in
    (cells follow ``cells``' averaging rule); the suite score follows the suite's
    rule over the tasks this deployment has data for, and a submission missing one
    of them has no suite score and ranks after those that have one. Ranks count
    visible rows only.
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
        .values_list(*_FIELDS)
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
        rows.append(
            LeaderboardRow(
                rank if score is not None else None,
                summary,
                score,
                {task: cell_from_json(cell) for task, cell in cells.items()},
                efficiency,
                profile,
            )
        )
    return rows
