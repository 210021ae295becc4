"""Statistics of leaderboard rows: standard errors, tied ranks, the Pareto frontier.

Definitions, stated once:

- **Standard error** of a task cell: the normal approximation ``std / sqrt(n)``; the
  suite score, a mean over T task means, has ``se = sqrt(sum se_t²) / T``.
- **Ties**: a score's 95% confidence interval is ``mean ± 1.96 · se``. Rows are
  sorted by score; a row whose interval overlaps the interval of the previous tied
  group (from the group's lowest lower bound up) shares that group's rank ("1, 1, 3"
  ranking).
- **Pareto frontier**: a point is on the frontier of (metric, score) when no other
  point is at least as good on both and strictly better on one.
"""

import math
from collections.abc import Callable

from leaderboard.standings.cells import TaskCell

Z95 = 1.96


def task_se(cell: TaskCell) -> float:
    """Standard error of a task cell's mean (normal approximation)."""
    return cell.std / math.sqrt(cell.n) if cell.n > 0 else 0.0


def suite_se(cells: list[TaskCell]) -> float:
    """Standard error of the mean of these cells' means."""
    if not cells:
        return 0.0
    return math.sqrt(sum(task_se(c) ** 2 for c in cells)) / len(cells)


def assign_tied_ranks(
    rows: list, *, value: Callable[[object], float | None], se: Callable
) -> None:
    """Rank rows already sorted best-first; overlapping 95% intervals share a rank.

    ``value(row)`` is the score (None: unranked), ``se(row)`` its standard error;
    each row's ``rank`` attribute is set.
    """
    group_low = None
    group_rank = None
    for position, row in enumerate(rows, start=1):
        score = value(row)
        if score is None:
            row.rank = None
            continue
        half = Z95 * (se(row) or 0.0)
        low, high = score - half, score + half
        if group_low is not None and high >= group_low:
            row.rank = group_rank
            group_low = min(group_low, low)
        else:
            row.rank = position
            group_rank = position
            group_low = low


def pareto_frontier(points: list[tuple[float, float]], x_better: str) -> list[bool]:
    """Which points (x, score) no other point dominates; score is higher-better,
    x is better ``"higher"`` or ``"lower"``."""
    sign = 1 if x_better == "higher" else -1
    flags = []
    for i, (x, y) in enumerate(points):
        dominated = False
        for j, (x2, y2) in enumerate(points):
            if i == j:
                continue
            if sign * x2 >= sign * x and y2 >= y and (sign * x2 > sign * x or y2 > y):
                dominated = True
                break
        flags.append(not dominated)
    return flags
