"""Built boards kept in this process, keyed by one generation stamp per suite.

No pickling: a board of 10,000 rows takes far longer to unpickle than to look up.
The key holds the suite's stamp, so any change to its rows, its data or a task
version makes a fresh key and old keys fall out of the LRU; nothing is served stale.
The same stamp keys the whole-response cache of pages (``response_cache``).
"""

from collections import OrderedDict

from django.db.models import Count, Max, Sum

from leaderboard.catalogue.models import DatasetVersion, Suite
from leaderboard.standings.board import Board, Filters, build_board
from leaderboard.submissions.models import LeaderboardEntry, Submission

BOARD_CACHE_SIZE = 32
_BOARDS: OrderedDict[tuple, Board] = OrderedDict()


def _audience(user) -> str | None:
    """Who shares a cached board: everyone sees the same public rows, staff see all;
    a user with private submissions sees their own too, so is not cached."""
    if user is None or not user.is_authenticated:
        return "public"
    if user.is_staff:
        return "staff"
    if Submission.objects.filter(owner=user, visibility="private").exists():
        return None
    return "public"


def suite_stamp(suite: Suite) -> str:
    """Changes whenever the suite's board could: a row, its data, a task version,
    or a curated suite's spec."""
    rows = LeaderboardEntry.objects.filter(suite=suite).aggregate(
        latest=Max("updated_at"), rows=Count("id")
    )
    data = DatasetVersion.objects.filter(task__suite=suite, published=True).aggregate(
        latest=Max("id"), versions=Count("id")
    )
    tasks = suite.tasks.aggregate(versions=Sum("version"), latest=Max("id"))
    latest = rows["latest"].timestamp() if rows["latest"] else 0
    # A curated suite's edits (title, counted tasks, weights) show in its revision.
    return (
        f"{latest}:{rows['rows']}:{data['latest']}:{data['versions']}:"
        f"{tasks['versions']}:{tasks['latest']}:{suite.revision}:{suite.version}"
    )


def suite_board(
    *,
    suite: Suite,
    user,
    filters: Filters | None = None,
    sort: str = "rank",
    direction: str = "",
) -> Board:
    """The leaderboard of a suite as pages, the API and exports show it.

    Built from the precomputed rows (``LeaderboardEntry``) and kept per audience,
    filters and sort until any row of the suite changes, so a busy leaderboard of
    thousands of submissions is served from memory.
    """
    filters = filters or Filters()
    audience = _audience(user)
    if audience is None:
        return build_board(
            suite=suite, user=user, filters=filters, sort=sort, direction=direction
        )
    key = (suite.pk, suite_stamp(suite), audience, repr(filters), sort, direction)
    board = _BOARDS.get(key)
    if board is None:
        board = build_board(
            suite=suite, user=user, filters=filters, sort=sort, direction=direction
        )
        _BOARDS[key] = board
        while len(_BOARDS) > BOARD_CACHE_SIZE:
            _BOARDS.popitem(last=False)
    else:
        _BOARDS.move_to_end(key)
    return board
