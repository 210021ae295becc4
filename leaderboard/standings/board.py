"""A suite's board as pages, the API and exports show it: rows, filters, ranks, sort.

Built from the precomputed rows (``rows.leaderboard_rows``: scores, visibility).

- **One row per model and numerics profile**: rows are grouped by the model
  archive's sha256 and the numerics profile its results were computed in
  (kernels.numerics), and the best row of each group is kept (``all_rows=True``
  keeps every submission). Results of two profiles are never averaged together.
- **One track at a time**: a board shows the rows of one fine-tuning method
  (``Filters.track``, ``?track=``: full fine-tuning unless named), ranked among
  themselves; full fine-tuning is never mixed with LoRA or BitFit.
- Ranks are shared where 95% intervals overlap and the Pareto frontier is marked per
  efficiency column (``stats``).
- **Partial suite scores rank apart**: a row whose score is over fewer tasks than
  the suite has (``scope.suite_coverage``; ``rows.leaderboard_rows`` states the
  rule) is ranked among the partial rows only, after every complete one, and
  sorting by rank or score keeps complete rows first. The board carries its
  ``coverage`` so every view can say what the score is over.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from leaderboard.catalogue.models import Suite, Task
from leaderboard.standings.cells import TaskCell
from leaderboard.standings.efficiency import EFFICIENCY_COLUMNS, EFFICIENCY_KEYS
from leaderboard.standings.rows import (
    LeaderboardRow,
    SubmissionSummary,
    leaderboard_rows,
)
from leaderboard.standings.scope import Coverage, leaderboard_tasks, suite_coverage
from leaderboard.standings.stats import (
    Z95,
    assign_tied_ranks,
    pareto_frontier,
    suite_se,
    task_se,
)
from runners.contract import METHODS

BETTER = {c.key: c.better for c in EFFICIENCY_COLUMNS} | {
    "score": "higher",
    "rank": "lower",
    "name": "lower",
}


@dataclass
class BoardRow:
    rank: int | None
    submission: SubmissionSummary
    score: float | None
    score_se: float | None
    tasks: dict[str, TaskCell]
    efficiency: dict[str, float | None]
    device: str | None = None
    frontier: dict[str, bool] = field(default_factory=dict)
    numerics: str = ""
    tasks_counted: int | None = None
    tasks_in_suite: int = 0
    partial: bool = False
    track: str = "full"
    # {"position", "low", "high", "p_rank", "separable_from_next", "among",
    #  "resamples", "level"} or {} (standings.confidence).
    confidence: dict = field(default_factory=dict)
    # This row and the one shown below it cannot be separated (both public, next
    # to each other in the bootstrap's ranking): set by ``mark_inseparable``.
    inseparable_from_next: bool = False

    @property
    def rank_order(self) -> float | None:
        """The rank as the page sorts it: partial rows after every complete one."""
        if self.rank is None:
            return None
        return self.rank + (1_000_000 if self.partial else 0)

    @property
    def did_not_learn(self) -> int:
        """Seeds of the row's cells that did not learn, over all its tasks."""
        return sum(cell.did_not_learn for cell in self.tasks.values())

    @property
    def ci(self) -> tuple[float, float] | None:
        if self.score is None:
            return None
        half = Z95 * (self.score_se or 0.0)
        return (self.score - half, self.score + half)


@dataclass
class Filters:
    min_params: float | None = None
    max_params: float | None = None
    recipe: str = ""
    device: str = ""
    numerics: str = ""
    baselines: str = ""  # "", "only" or "hide"
    all_rows: bool = False
    # The track (fine-tuning method) the board shows: one at a time, never mixed.
    track: str = "full"

    @classmethod
    def from_query(cls, query) -> Filters:
        return cls(
            min_params=parse_size(query.get("min_params", "")),
            max_params=parse_size(query.get("max_params", "")),
            recipe=query.get("recipe", "").strip(),
            device=query.get("device", "").strip(),
            numerics=query.get("numerics", "").strip(),
            baselines=query.get("baselines", "").strip()
            if query.get("baselines", "") in ("only", "hide")
            else "",
            all_rows=query.get("all", "") in ("1", "true", "yes"),
            track=_track(query.get("track", "")),
        )


def _track(text: str) -> str:
    """A ``?track=`` value: one of runners.contract.METHODS, else full fine-tuning."""
    text = text.strip()
    return text if text in METHODS else "full"


@dataclass
class Board:
    suite: Suite
    tasks: list[Task]
    rows: list[BoardRow]
    sort: str
    direction: str
    filters: Filters
    recipes: list[str]
    devices: list[str]
    profiles: list[str] = field(default_factory=list)
    coverage: Coverage | None = None
    # Every track (fine-tuning method) the selector offers.
    tracks: tuple[str, ...] = METHODS


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMgGbB]?)\s*$")


def parse_size(text: str) -> float | None:
    """``"10M"`` -> 1e7; empty or unreadable -> None (no bound)."""
    match = _SIZE.match(text or "")
    if not match:
        return None
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}[match.group(2).lower()]
    return float(match.group(1)) * scale


def _keep(row: BoardRow, filters: Filters) -> bool:
    params = row.efficiency.get("params")
    if filters.min_params is not None and (
        params is None or params < filters.min_params
    ):
        return False
    if filters.max_params is not None and (
        params is None or params > filters.max_params
    ):
        return False
    if filters.recipe and row.submission.recipe != filters.recipe:
        return False
    if filters.device and filters.device not in (row.device or "").split(","):
        return False
    if filters.numerics and row.numerics != filters.numerics:
        return False
    if filters.baselines == "only" and not row.submission.is_baseline:
        return False
    return not (filters.baselines == "hide" and row.submission.is_baseline)


def sort_key_value(row: BoardRow, key: str):
    if key == "rank":
        return row.rank
    if key == "score":
        return row.score
    if key == "name":
        return row.submission.name.lower()
    if key.startswith("task:"):
        cell = row.tasks.get(key[5:])
        return cell.mean if cell else None
    return row.efficiency.get(key)


def better_of(key: str) -> str:
    return BETTER.get(key, "higher")


def sort_rows(rows: list[BoardRow], key: str, direction: str) -> list[BoardRow]:
    """Sort by a column; missing values always go last whatever the direction.

    By rank or score, complete suite scores stay before partial ones (each group
    sorted in itself): a partial score is never ranked among complete ones.
    """
    present = [r for r in rows if sort_key_value(r, key) is not None]
    missing = [r for r in rows if sort_key_value(r, key) is None]
    present.sort(key=lambda r: sort_key_value(r, key), reverse=direction == "desc")
    if key in ("rank", "score"):
        present.sort(key=lambda r: r.partial)  # stable: each group keeps its order
    return present + missing


def _best_per_model(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """The first (best) row of each (model archive, numerics profile)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for row in rows:  # already best-first
        key = (row.submission.archive.sha256, row.numerics)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _board_row(row: LeaderboardRow) -> BoardRow:
    return BoardRow(
        rank=None,
        submission=row.submission,
        score=row.score,
        score_se=suite_se(list(row.tasks.values())) if row.score is not None else None,
        tasks=row.tasks,
        efficiency={key: row.efficiency.get(key) for key in EFFICIENCY_KEYS},
        device=row.efficiency.get("device"),
        numerics=row.numerics,
        tasks_counted=row.tasks_counted,
        tasks_in_suite=row.tasks_in_suite,
        partial=row.partial,
        confidence=row.confidence,
        track=row.track,
    )


def mark_inseparable(rows: list[BoardRow]) -> None:
    """Mark each shown row that the bootstrap cannot separate from the row shown
    right below it (the two must be neighbours in the public ranking)."""
    for row, below in zip(rows, rows[1:], strict=False):
        mine, theirs = row.confidence, below.confidence
        row.inseparable_from_next = bool(
            mine
            and theirs
            and mine.get("separable_from_next") is False
            and theirs.get("position") == mine.get("position", 0) + 1
        )


def build_board(
    *, suite: Suite, user, filters: Filters, sort: str, direction: str
) -> Board:
    """The board of ``suite`` as ``user`` may see it (``cache.suite_board`` keeps
    built boards; call that)."""
    tasks = leaderboard_tasks(suite, filters.track)
    base = leaderboard_rows(suite=suite, user=user, track=filters.track)
    if not filters.all_rows:
        base = _best_per_model(base)
    rows = [_board_row(r) for r in base]
    recipes = sorted({r.submission.recipe for r in rows})
    all_devices = sorted({d for r in rows for d in (r.device or "").split(",") if d})
    profiles = sorted({r.numerics for r in rows if r.numerics})
    rows = [r for r in rows if _keep(r, filters)]
    for partial in (False, True):  # complete rows first; partial ones apart
        assign_tied_ranks(
            [r for r in rows if r.partial == partial],
            value=lambda r: r.score,
            se=lambda r: r.score_se,
        )
    mark_frontiers(rows)
    valid = {"rank", "score", "name", *EFFICIENCY_KEYS} | {
        f"task:{t.name}" for t in tasks
    }
    if sort not in valid:
        sort = "rank"
    if direction not in ("asc", "desc"):
        direction = "asc" if better_of(sort) == "lower" else "desc"
    rows = sort_rows(rows, sort, direction)
    mark_inseparable(rows)
    return Board(
        suite,
        tasks,
        rows,
        sort,
        direction,
        filters,
        recipes,
        all_devices,
        profiles,
        coverage=suite_coverage(suite, tasks, track=filters.track),
    )


def mark_frontiers(rows: list[BoardRow]) -> None:
    """Set each row's ``frontier[column]``: whether it is on the Pareto frontier of
    (that column, score)."""
    for column in EFFICIENCY_COLUMNS:
        usable = [
            r
            for r in rows
            if r.score is not None and r.efficiency.get(column.key) is not None
        ]
        flags = pareto_frontier(
            [(r.efficiency[column.key], r.score) for r in usable], column.better
        )
        for row in rows:
            row.frontier[column.key] = False
        for row, flag in zip(usable, flags, strict=True):
            row.frontier[column.key] = flag


def task_rows(board: Board, task: Task) -> list[BoardRow]:
    """The rows of one task's leaderboard: by that task's mean, ties by its interval."""
    rows = [r for r in board.rows if task.name in r.tasks]
    rows.sort(key=lambda r: -r.tasks[task.name].mean)
    ranked = [
        BoardRow(
            None,
            r.submission,
            r.tasks[task.name].mean,
            task_se(r.tasks[task.name]),
            {task.name: r.tasks[task.name]},
            r.efficiency,
            r.device,
            numerics=r.numerics,
        )
        for r in rows
    ]
    assign_tied_ranks(ranked, value=lambda r: r.score, se=lambda r: r.score_se)
    return ranked
