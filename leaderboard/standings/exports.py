"""A board as JSON (the API answer and the page's ``?format=json``) and as CSV.

Both say what a suite score is over (``tasks_counted`` of ``tasks_in_suite``,
``partial``; the board's ``coverage`` in words) and, per cell, how many seeds did
not learn (``tasks.baselines.learning_check``).
"""

import csv
import io

from leaderboard.standings.board import Board, BoardRow
from leaderboard.standings.confidence import METHOD
from leaderboard.standings.efficiency import EFFICIENCY_COLUMNS, EFFICIENCY_KEYS


def row_data(row: BoardRow) -> dict:
    ci = row.ci
    return {
        "rank": row.rank,
        "submission": row.submission.pk,
        "name": row.submission.name,
        "owner": row.submission.owner.username,
        "is_baseline": row.submission.is_baseline,
        "recipe": row.submission.recipe,
        "model_sha256": row.submission.archive.sha256,
        "score": row.score,
        "score_ci95": list(ci) if ci else None,
        "tasks_counted": row.tasks_counted,
        "tasks_in_suite": row.tasks_in_suite,
        "partial": row.partial,
        "tasks": {name: cell.mean for name, cell in row.tasks.items()},
        "task_details": {
            name: {
                "mean": cell.mean,
                "std": cell.std,
                "seeds": cell.n,
                "per_seed": cell.per_seed,
                "did_not_learn": cell.did_not_learn,
                "not_checked": cell.unjudged,
                "did_not_learn_per_seed": cell.flags,
            }
            for name, cell in row.tasks.items()
        },
        "did_not_learn": row.did_not_learn,
        "efficiency": dict(row.efficiency),
        "device": row.device,
        "numerics": row.numerics,
        "track": row.track,
        "pareto": dict(row.frontier),
        # Bootstrap rank interval and P(rank) among public rows (None: not ranked
        # there), and whether the row shown below cannot be separated from it.
        "rank_confidence": row.confidence or None,
        "inseparable_from_next": row.inseparable_from_next,
    }


RANKING_RULE = (
    "Rows whose suite score is over every scored task of the suite rank first; "
    "rows with a partial suite score (over fewer tasks) are ranked among "
    "themselves after them; rows without a suite score come last, unranked."
)


def board_data(board: Board, *, limit: int | None = None, offset: int = 0) -> dict:
    """The JSON export (also the API answer): a superset of the original shape.

    ``limit``/``offset`` page through the rows; ``count`` is the number of rows.
    """
    rows = board.rows[offset : offset + limit] if limit is not None else board.rows
    return {
        "count": len(board.rows),
        "offset": offset,
        "limit": limit,
        "suite": board.suite.slug,
        # The fine-tuning method the rows are of (``?track=``), and every track.
        "track": board.filters.track,
        "tracks": list(board.tracks),
        "tasks": [t.name for t in board.tasks],
        # What every score on the board is over ("GLUE score over 6 of 9 tasks; ...").
        "coverage": board.coverage.as_data() if board.coverage else None,
        "ranking": RANKING_RULE,
        "rank_confidence_method": METHOD,
        "sort": board.sort,
        "direction": board.direction,
        "columns": [
            {"key": c.key, "title": c.title, "better": c.better, "unit": c.unit}
            for c in EFFICIENCY_COLUMNS
        ],
        "rows": [row_data(r) for r in rows],
    }


def board_csv(board: Board) -> str:
    """One line per row: rank, who, profile, score with its 95% interval and what
    it is over (tasks counted, tasks in the suite, partial), each task's
    mean/std/seeds and seeds that did not learn, the efficiency figures, devices."""
    out = io.StringIO()
    writer = csv.writer(out)
    task_names = [t.name for t in board.tasks]
    header = ["rank", "submission", "name", "owner", "baseline", "recipe", "numerics"]
    header += ["score", "score_ci95_low", "score_ci95_high"]
    header += ["tasks_counted", "tasks_in_suite", "partial"]
    header += ["rank_low", "rank_high", "p_rank", "inseparable_from_next"]
    for name in task_names:
        header += [f"{name} mean", f"{name} std", f"{name} seeds"]
        header += [f"{name} did_not_learn"]
    header += list(EFFICIENCY_KEYS) + ["device"]
    writer.writerow(header)
    for row in board.rows:
        writer.writerow(_csv_line(row, task_names))
    return out.getvalue()


def _csv_line(row: BoardRow, task_names: list[str]) -> list:
    ci = row.ci
    line = [
        row.rank if row.rank is not None else "",
        row.submission.pk,
        row.submission.name,
        row.submission.owner.username,
        int(row.submission.is_baseline),
        row.submission.recipe,
        row.numerics,
        _num(row.score),
        _num(ci[0]) if ci else "",
        _num(ci[1]) if ci else "",
        "" if row.tasks_counted is None else row.tasks_counted,
        row.tasks_in_suite,
        int(row.partial),
        row.confidence.get("low", ""),
        row.confidence.get("high", ""),
        _num(row.confidence.get("p_rank")),
        int(row.inseparable_from_next),
    ]
    for name in task_names:
        cell = row.tasks.get(name)
        line += (
            [_num(cell.mean), _num(cell.std), cell.n, cell.did_not_learn]
            if cell
            else ["", "", "", ""]
        )
    line += [_num(row.efficiency.get(k)) for k in EFFICIENCY_KEYS]
    line.append(row.device or "")
    return line


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:.10g}" if isinstance(value, float) else str(value)
