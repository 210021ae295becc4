"""The data behind a suite page's charts: Pareto, utility, robustness, length curves.

Charts plot the best ``CHART_ROWS`` rows only (plus every Pareto-frontier row): a
scatter of thousands of points says no more and would make every page heavy.
"""

import re
import statistics
from collections import defaultdict

from leaderboard.standings.board import Board, BoardRow
from leaderboard.standings.cells import counted_results
from leaderboard.standings.efficiency import EFFICIENCY_COLUMNS, EFFICIENCY_KEYS
from leaderboard.standings.robustness import robustness_pairs
from leaderboard.submissions.models import Result

CHART_ROWS = 100


def board_charts(board: Board, shown: list[BoardRow]) -> dict:
    """Everything the suite page's ``charts.js`` draws; ``shown`` is the page's rows
    (the utility ranking re-ranks those)."""
    return {
        "pareto": pareto_data(board),
        "utility": utility_data(shown),
        "columns": [
            {"key": c.key, "title": c.title, "better": c.better}
            for c in EFFICIENCY_COLUMNS
        ],
        "adversarial": robustness_pairs(board, limit=CHART_ROWS),
        "lengths": length_curves(board),
    }


def pareto_data(board: Board) -> dict:
    """Per efficiency metric: the points (rows with a score and that figure).

    Every frontier row is plotted, and the best ``CHART_ROWS`` rows by score.
    """
    scored = sorted(
        (r for r in board.rows if r.score is not None), key=lambda r: -r.score
    )
    top = {r.submission.pk for r in scored[:CHART_ROWS]}
    charts = {}
    for column in EFFICIENCY_COLUMNS:
        points = [
            {
                "id": r.submission.pk,
                "name": r.submission.name,
                "x": r.efficiency[column.key],
                "y": r.score,
                "frontier": r.frontier.get(column.key, False),
            }
            for r in board.rows
            if r.score is not None
            and r.efficiency.get(column.key) is not None
            and (r.submission.pk in top or r.frontier.get(column.key, False))
        ]
        charts[column.key] = {
            "title": column.title,
            "unit": column.unit,
            "better": column.better,
            "points": points,
        }
    return charts


def utility_data(rows: list[BoardRow]) -> list[dict]:
    """Score and efficiency figures per row, keyed as the table's ``data-row``."""
    return [
        {
            "id": r.submission.pk,
            "row": f"{r.submission.pk}:{r.numerics}",
            "score": r.score,
            **{k: r.efficiency.get(k) for k in EFFICIENCY_KEYS},
        }
        for r in rows
    ]


_LENGTH_KEY = re.compile(r"(?:(?:^|[_@-])(?:len|length|ctx)[_@-]?(\d+)|_(\d+)k)$")


def _tokens(key: str) -> int | None:
    """The context length a score key names, or None."""
    match = _LENGTH_KEY.search(key)
    if not match:
        return None
    if match.group(1):
        return int(match.group(1))
    return 1000 * int(match.group(2))  # accuracy_4k: 4,000 tokens


def length_curves(board: Board) -> list[dict]:
    """Score vs context length per row, from score keys such as ``accuracy_4k``
    (the long-context suite's), ``accuracy@len512`` or ``accuracy_length_1024``;
    empty when no result has such keys. A row's curve averages the results its
    cells count (``cells.counted_results``: current versions, no re-runs, its own
    numerics profile)."""
    rows = board.rows[:CHART_ROWS]
    results = counted_results(
        Result.objects.filter(
            evaluation__task__in=board.tasks,
            evaluation__submission_id__in={r.submission.pk for r in rows},
        )
    ).values_list("evaluation__submission_id", "numerics", "scores")
    points: dict[tuple, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sub_id, profile, scores in results:
        for key, value in (scores or {}).items():
            tokens = _tokens(str(key))
            if tokens is not None and isinstance(value, int | float):
                points[(sub_id, profile)][tokens].append(float(value))
    curves = []
    for row in rows:
        by_length = points.get((row.submission.pk, row.numerics))
        if not by_length:
            continue
        lengths = sorted(by_length)
        curves.append(
            {
                "id": row.submission.pk,
                "name": row.submission.name,
                "numerics": row.numerics,
                "x": lengths,
                "y": [statistics.fmean(by_length[n]) for n in lengths],
            }
        )
    return curves
