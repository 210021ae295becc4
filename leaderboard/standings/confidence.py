"""Rank confidence: a rank interval and P(holding its rank) per leaderboard row.

From the rows' resampled suite scores (``bootstrap``: examples and seeds, paired,
seeded), for the public rows of a suite as the board ranks them by default (the
best row per model and numerics profile; complete and partial suite scores ranked
apart). Computed when rows are refreshed, stored in
``LeaderboardEntry.rank_confidence``; pages, the API and exports read it.

- In each resample the rows are ranked by their resampled score; rows with equal
  scores are ordered at random (seeded), so two indistinguishable rows each hold
  the better place half the time.
- **Rank interval**: the 2.5% and 97.5% quantiles of a row's ranks over the
  resamples (:data:`LEVEL`).
- **P(rank)**: the share of resamples in which the row holds its place on the
  board (its position by point score).
- **Separable from the next row**: the 2.5% quantile of the difference between
  the row's resampled score and the next row's is above zero (one-sided 97.5%);
  otherwise the two cannot be separated and are shown as such.

Private rows, and rows a model's better row hides, get no interval: an interval is
a statement about the public board, whoever looks at it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from django.db import transaction
from django.utils import timezone

from leaderboard.catalogue.models import Suite
from leaderboard.standings.bootstrap import RESAMPLES, generator
from leaderboard.standings.rows import RANK_GROUP
from leaderboard.submissions.models import LeaderboardEntry
from leaderboard.submissions.selectors import visible_submissions

LEVEL = 0.95

METHOD = (
    f"Rank intervals: {RESAMPLES} bootstrap resamples (seeded, so the same on "
    "every refresh) of the evaluation examples of each task and of each row's "
    "seeds, the same example draws for every row (paired). In each resample the "
    "public rows are ranked by their resampled suite score (equal scores ordered "
    "at random); a row's rank interval is the 2.5%-97.5% range of its ranks, "
    "P(rank) the share of resamples in which it holds its place, and two "
    "neighbouring rows cannot be separated when the lower 2.5% of their score "
    "difference is not above zero. Computed when rows are refreshed, among "
    "public rows only (complete and partial suite scores apart); results without "
    "stored predictions are resampled over seeds only."
)


@dataclass(frozen=True)
class RankConfidence:
    """What the bootstrap says of one row's rank."""

    position: int
    low: int
    high: int
    p_rank: float
    separable_from_next: bool | None  # None: the last row
    among: int
    resamples: int

    def as_data(self) -> dict:
        return {
            "position": self.position,
            "low": self.low,
            "high": self.high,
            "p_rank": self.p_rank,
            "separable_from_next": self.separable_from_next,
            "among": self.among,
            "resamples": self.resamples,
            "level": LEVEL,
        }


def rank_confidence(samples: np.ndarray, *, salt: tuple = ()) -> list[RankConfidence]:
    """For rows already in board order (best first), their resampled scores
    ``samples`` (rows x resamples): each row's rank confidence."""
    rows, resamples = samples.shape
    if rows == 0:
        return []
    tiebreak = generator("ties", *salt, rows, resamples).random((rows, resamples))
    ranks = np.empty((rows, resamples), dtype=int)
    for b in range(resamples):
        order = np.lexsort((tiebreak[:, b], -samples[:, b]))
        ranks[order, b] = np.arange(1, rows + 1)
    tail = (1 - LEVEL) / 2
    found = []
    for i in range(rows):
        separable = None
        if i + 1 < rows:
            difference = samples[i] - samples[i + 1]
            separable = bool(np.quantile(difference, tail, method="lower") > 0)
        found.append(
            RankConfidence(
                position=i + 1,
                low=int(np.quantile(ranks[i], tail, method="lower")),
                high=int(np.quantile(ranks[i], 1 - tail, method="higher")),
                p_rank=round(float(np.mean(ranks[i] == i + 1)), 3),
                separable_from_next=separable,
                among=rows,
                resamples=resamples,
            )
        )
    return found


def _ranked_public_entries(suite: Suite) -> list[LeaderboardEntry]:
    """The public scored rows in board order, best row per model and profile
    (only what ranking needs is read: not cells nor efficiency)."""
    entries = (
        LeaderboardEntry.objects.filter(
            suite=suite,
            submission__in=visible_submissions(None),
            score__isnull=False,
        )
        .select_related("submission__archive")
        .only(
            "pk",
            "score",
            "partial",
            "numerics",
            "track",
            "bootstrap",
            "submission__archive__sha256",
        )
        .order_by(
            RANK_GROUP, "-score", "-task_count", "submission__created_at", "numerics"
        )
    )
    seen, kept = set(), []
    for entry in entries:
        key = (entry.submission.archive.sha256, entry.numerics, entry.track)
        if key not in seen:
            seen.add(key)
            kept.append(entry)
    return kept


def _samples(entry: LeaderboardEntry) -> list[float]:
    """The row's resampled scores; its score in every resample when it has none."""
    if len(entry.bootstrap) == RESAMPLES:
        return entry.bootstrap
    return [entry.score] * RESAMPLES


@transaction.atomic
def suite_rank_confidence_refresh(*, suite: Suite) -> int:
    """Recompute every row's rank confidence on ``suite``; returns the rows given
    one. Rows whose confidence changed are stamped (the board cache sees them)."""
    found: dict[int, dict] = {}
    ranked = _ranked_public_entries(suite)
    # Each track (fine-tuning method) is its own board, ranked among its rows.
    for track, partial in itertools.product(
        sorted({e.track for e in ranked}), (False, True)
    ):
        group = [e for e in ranked if e.partial == partial and e.track == track]
        if not group:
            continue
        samples = np.array([_samples(e) for e in group], dtype=float)
        salt = (
            (suite.slug, partial) if track == "full" else (suite.slug, partial, track)
        )
        for entry, confidence in zip(
            group, rank_confidence(samples, salt=salt), strict=True
        ):
            found[entry.pk] = confidence.as_data()
    now = timezone.now()
    changed = []
    for entry in LeaderboardEntry.objects.filter(suite=suite).only(
        "pk", "rank_confidence"
    ):
        wanted = found.get(entry.pk, {})
        if entry.rank_confidence != wanted:
            entry.rank_confidence = wanted
            entry.updated_at = now
            changed.append(entry)
    LeaderboardEntry.objects.bulk_update(
        changed, ["rank_confidence", "updated_at"], batch_size=500
    )
    return len(found)
