"""Leaderboard computations for pages and the API: efficiency, filters, ties, Pareto.

Reads only: built on ``submissions.selectors.leaderboard_rows`` (scores, visibility)
and ``Result.efficiency`` (what the worker measured). Definitions, stated once:

- **One row per model and numerics profile**: rows are grouped by the model
  archive's sha256 and the numerics profile its results were computed in
  (kernels.numerics), and the best row of each group is kept (``all_rows=True``
  keeps every submission). Results of two profiles are never averaged together.
- **Efficiency of a row**: the median over its results (suite tasks, all seeds) of
  parameters, inference throughput (examples/s) and latency p50; the maximum of peak
  memory; fine-tune cost is the seconds of fine-tuning to run the suite once: the sum
  over tasks of the mean ``train_seconds`` over seeds.
- **Ties**: a score's 95% confidence interval is ``mean ± 1.96 · se`` with the normal
  approximation ``se = std / sqrt(n)`` per task; the suite score, a mean over T task
  means, has ``se = sqrt(sum se_t²) / T``. Rows are sorted by score; a row whose
  interval overlaps the interval of the previous tied group (from the group's lowest
  lower bound up) shares that group's rank ("1, 1, 3" ranking).
- **Pareto frontier**: a row is on the frontier of (score, metric) when no other row is
  at least as good on both and strictly better on one.
"""

from __future__ import annotations

import csv
import io
import math
import re
import statistics
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, Sum

from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from leaderboard.submissions import selectors
from leaderboard.submissions.models import LeaderboardEntry, Result, Submission
from leaderboard.submissions.selectors import LeaderboardRow, TaskCell

Z95 = 1.96


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    better: str  # "higher" or "lower"
    unit: str = ""


EFFICIENCY_COLUMNS: tuple[Column, ...] = (
    Column("params", "Parameters", "lower"),
    Column("throughput", "Inference throughput", "higher", "ex/s"),
    Column("latency_p50_ms", "Latency p50", "lower", "ms"),
    Column("peak_memory_bytes", "Peak memory", "lower", "B"),
    Column("train_seconds", "Fine-tune cost", "lower", "s"),
)
EFFICIENCY_KEYS = tuple(c.key for c in EFFICIENCY_COLUMNS)
BETTER = {c.key: c.better for c in EFFICIENCY_COLUMNS} | {
    "score": "higher",
    "rank": "lower",
    "name": "lower",
}


@dataclass
class BoardRow:
    rank: int | None
    submission: Submission
    score: float | None
    score_se: float | None
    tasks: dict[str, TaskCell]
    efficiency: dict[str, float | None]
    device: str | None = None
    frontier: dict[str, bool] = field(default_factory=dict)
    numerics: str = ""

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
        )


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


_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kKmMgGbB]?)\s*$")


def parse_size(text: str) -> float | None:
    """``"10M"`` -> 1e7; empty or unreadable -> None (no bound)."""
    match = _SIZE.match(text or "")
    if not match:
        return None
    scale = {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "b": 1e9}[match.group(2).lower()]
    return float(match.group(1)) * scale


def task_se(cell: TaskCell) -> float:
    """Standard error of a task cell's mean (normal approximation)."""
    return cell.std / math.sqrt(cell.n) if cell.n > 0 else 0.0


def suite_se(cells: list[TaskCell]) -> float:
    if not cells:
        return 0.0
    return math.sqrt(sum(task_se(c) ** 2 for c in cells)) / len(cells)


def assign_tied_ranks(rows: list, *, value, se) -> None:
    """Rank rows already sorted best-first; overlapping 95% intervals share a rank.

    ``value(row)`` is the score (None: unranked), ``se(row)`` its standard error.
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


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def efficiency_by_submission(
    submission_ids: list[int], tasks: list[Task], *, numerics: str | None = None
) -> tuple[dict[int, dict[str, float | None]], dict[int, str | None]]:
    """Per submission: the efficiency figures (module docstring) and its device,
    over its results in the numerics profile ``numerics`` (None: all of them)."""
    results = Result.objects.filter(
        evaluation__submission_id__in=submission_ids, evaluation__task__in=tasks
    )
    if numerics is not None:
        results = results.filter(numerics=numerics)
    results = results.values_list(
        "evaluation__submission_id", "evaluation__task_id", "efficiency", "task_version"
    )
    versions = {t.pk: t.version for t in tasks}
    collected: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    train: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sub_id, task_id, eff, task_version in results:
        if task_version != versions.get(task_id):
            continue
        eff = eff or {}
        for key in ("params", "infer_examples_per_s", "latency_p50_ms"):
            if isinstance(eff.get(key), int | float):
                collected[sub_id][key].append(float(eff[key]))
        if isinstance(eff.get("peak_memory_bytes"), int | float):
            collected[sub_id]["peak_memory_bytes"].append(
                float(eff["peak_memory_bytes"])
            )
        if isinstance(eff.get("train_seconds"), int | float):
            train[sub_id][task_id].append(float(eff["train_seconds"]))
        if eff.get("device"):
            collected[sub_id]["device"].append(str(eff["device"]))
    figures: dict[int, dict[str, float | None]] = {}
    devices: dict[int, str | None] = {}
    for sub_id in submission_ids:
        got = collected.get(sub_id, {})
        per_task = train.get(sub_id, {})
        memory = got.get("peak_memory_bytes") or []
        figures[sub_id] = {
            "params": _median(got.get("params", [])),
            "throughput": _median(got.get("infer_examples_per_s", [])),
            "latency_p50_ms": _median(got.get("latency_p50_ms", [])),
            "peak_memory_bytes": max(memory) if memory else None,
            "train_seconds": (
                sum(statistics.fmean(v) for v in per_task.values())
                if per_task
                else None
            ),
        }
        names = sorted(set(got.get("device", [])))
        devices[sub_id] = ",".join(names) if names else None
    return figures, devices


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
    """Sort by a column; missing values always go last whatever the direction."""
    present = [r for r in rows if sort_key_value(r, key) is not None]
    missing = [r for r in rows if sort_key_value(r, key) is None]
    present.sort(key=lambda r: sort_key_value(r, key), reverse=direction == "desc")
    return present + missing


# Built boards, kept in this process (no pickling: a board of 10,000 rows takes far
# longer to unpickle than to look up) and keyed by the suite's stamp, so any change
# to its rows makes a fresh key; old keys fall out of the LRU.
BOARD_CACHE_SIZE = 32
_BOARDS: OrderedDict[tuple, Board] = OrderedDict()
# Charts plot the best rows only: a scatter of thousands of points says no more and
# would make every page heavy.
CHART_ROWS = 100


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
    """Changes whenever the suite's board could: a row, its data or a task version."""
    rows = LeaderboardEntry.objects.filter(suite=suite).aggregate(
        latest=Max("updated_at"), rows=Count("id")
    )
    data = DatasetVersion.objects.filter(task__suite=suite, published=True).aggregate(
        latest=Max("id"), versions=Count("id")
    )
    tasks = suite.tasks.aggregate(versions=Sum("version"), latest=Max("id"))
    latest = rows["latest"].timestamp() if rows["latest"] else 0
    return (
        f"{latest}:{rows['rows']}:{data['latest']}:{data['versions']}:"
        f"{tasks['versions']}:{tasks['latest']}"
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
        return _build_board(
            suite=suite, user=user, filters=filters, sort=sort, direction=direction
        )
    key = (suite.pk, suite_stamp(suite), audience, repr(filters), sort, direction)
    board = _BOARDS.get(key)
    if board is None:
        board = _build_board(
            suite=suite, user=user, filters=filters, sort=sort, direction=direction
        )
        _BOARDS[key] = board
        while len(_BOARDS) > BOARD_CACHE_SIZE:
            _BOARDS.popitem(last=False)
    else:
        _BOARDS.move_to_end(key)
    return board


def _build_board(
    *, suite: Suite, user, filters: Filters, sort: str, direction: str
) -> Board:
    tasks = selectors.leaderboard_tasks(suite)
    base: list[LeaderboardRow] = selectors.leaderboard_rows(suite=suite, user=user)
    if not filters.all_rows:
        seen: set[tuple[str, str]] = set()
        kept = []
        for row in base:  # already best-first
            key = (row.submission.archive.sha256, row.numerics)
            if key not in seen:
                seen.add(key)
                kept.append(row)
        base = kept
    rows = [
        BoardRow(
            rank=None,
            submission=r.submission,
            score=r.score,
            score_se=suite_se(list(r.tasks.values())) if r.score is not None else None,
            tasks=r.tasks,
            efficiency={key: r.efficiency.get(key) for key in EFFICIENCY_KEYS},
            device=r.efficiency.get("device"),
            numerics=r.numerics,
        )
        for r in base
    ]
    recipes = sorted({r.submission.recipe for r in rows})
    all_devices = sorted({d for r in rows for d in (r.device or "").split(",") if d})
    profiles = sorted({r.numerics for r in rows if r.numerics})
    rows = [r for r in rows if _keep(r, filters)]
    assign_tied_ranks(rows, value=lambda r: r.score, se=lambda r: r.score_se)
    mark_frontiers(rows)
    valid = {"rank", "score", "name", *EFFICIENCY_KEYS} | {
        f"task:{t.name}" for t in tasks
    }
    if sort not in valid:
        sort = "rank"
    if direction not in ("asc", "desc"):
        direction = "asc" if better_of(sort) == "lower" else "desc"
    rows = sort_rows(rows, sort, direction)
    return Board(
        suite, tasks, rows, sort, direction, filters, recipes, all_devices, profiles
    )


def pareto_frontier(points: list[tuple[float, float]], x_better: str) -> list[bool]:
    """Which points (x, score) no other point dominates; score is higher-better."""
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


def mark_frontiers(rows: list[BoardRow]) -> None:
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
        "tasks": {name: cell.mean for name, cell in row.tasks.items()},
        "task_details": {
            name: {
                "mean": cell.mean,
                "std": cell.std,
                "seeds": cell.n,
                "per_seed": cell.per_seed,
            }
            for name, cell in row.tasks.items()
        },
        "efficiency": dict(row.efficiency),
        "device": row.device,
        "numerics": row.numerics,
        "pareto": dict(row.frontier),
    }


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
        "tasks": [t.name for t in board.tasks],
        "sort": board.sort,
        "direction": board.direction,
        "columns": [
            {"key": c.key, "title": c.title, "better": c.better, "unit": c.unit}
            for c in EFFICIENCY_COLUMNS
        ],
        "rows": [row_data(r) for r in rows],
    }


def board_csv(board: Board) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    task_names = [t.name for t in board.tasks]
    header = ["rank", "submission", "name", "owner", "baseline", "recipe", "numerics"]
    header += ["score"]
    header += ["score_ci95_low", "score_ci95_high"]
    for name in task_names:
        header += [f"{name} mean", f"{name} std", f"{name} seeds"]
    header += list(EFFICIENCY_KEYS) + ["device"]
    writer.writerow(header)
    for row in board.rows:
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
        ]
        for name in task_names:
            cell = row.tasks.get(name)
            line += [_num(cell.mean), _num(cell.std), cell.n] if cell else ["", "", ""]
        line += [_num(row.efficiency.get(k)) for k in EFFICIENCY_KEYS]
        line.append(row.device or "")
        writer.writerow(line)
    return out.getvalue()


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:.10g}" if isinstance(value, float) else str(value)


# --- per-task boards, comparisons, robustness and length charts ---------------------


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


def submission_cells(submission: Submission) -> dict[tuple[str, str], TaskCell]:
    """A submission's task scores over seeds, per (task, numerics profile): current
    task versions, no re-runs, and evaluation-only results without a score (GLUE
    AX) left out. Results of two profiles are never averaged together."""
    per_key: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    results = Result.objects.filter(
        evaluation__submission=submission, task_score__isnull=False
    ).select_related("evaluation__task")
    for result in results.order_by("evaluation__seed", "evaluation_id"):
        evaluation = result.evaluation
        if getattr(evaluation, "rerun_of_id", None):
            continue
        if result.task_version != evaluation.task.version:
            continue
        key = (evaluation.task.name, result.numerics)
        per_key[key].setdefault(evaluation.seed, result.task_score)
    return {
        key: TaskCell(
            mean=statistics.fmean(seeds.values()),
            std=statistics.pstdev(seeds.values()) if len(seeds) > 1 else 0.0,
            n=len(seeds),
            per_seed=dict(seeds),
        )
        for key, seeds in sorted(per_key.items())
    }


def compare_data(submissions: list[Submission]) -> dict:
    """Side by side per task and numerics profile; differences are against the
    first submission's cell of the same task and profile (never across profiles)."""
    cells = {s.pk: submission_cells(s) for s in submissions}
    keys = sorted({key for c in cells.values() for key in c})
    tasks = Task.objects.filter(name__in={name for name, _ in keys})
    figures, _ = efficiency_by_submission([s.pk for s in submissions], list(tasks))
    first = submissions[0].pk if submissions else None
    rows = []
    for key in keys:
        base = cells[first].get(key) if first else None
        entries = []
        for sub in submissions:
            cell = cells[sub.pk].get(key)
            diff = cell.mean - base.mean if cell and base and sub.pk != first else None
            overlap = None
            if cell and base and sub.pk != first:
                half = Z95 * math.hypot(task_se(cell), task_se(base))
                overlap = abs(diff) <= half
            entries.append(
                {
                    "submission": sub.pk,
                    "mean": cell.mean if cell else None,
                    "std": cell.std if cell else None,
                    "seeds": cell.n if cell else 0,
                    "diff": diff,
                    "within_noise": overlap,
                }
            )
        rows.append({"task": key[0], "numerics": key[1], "entries": entries})
    return {
        "submissions": [
            {
                "id": s.pk,
                "name": s.name,
                "owner": s.owner.username,
                "recipe": s.recipe,
                "model_sha256": s.archive.sha256,
                "efficiency": figures.get(s.pk, {}),
            }
            for s in submissions
        ],
        "tasks": rows,
    }


_LENGTH_KEY = re.compile(r"(?:(?:^|[_@-])(?:len|length|ctx)[_@-]?(\d+)|_(\d+)k)$")


def length_curves(board: Board) -> list[dict]:
    """Score vs context length per row, from score keys such as ``accuracy_4k``
    (the long-context suite's), ``accuracy@len512`` or ``accuracy_length_1024``;
    empty when no result has such keys."""
    task_ids = [t.pk for t in board.tasks]
    sub_ids = [r.submission.pk for r in board.rows[:CHART_ROWS]]
    results = Result.objects.filter(
        evaluation__task_id__in=task_ids, evaluation__submission_id__in=sub_ids
    ).values_list("evaluation__submission_id", "scores")
    points: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for sub_id, scores in results:
        for key, value in (scores or {}).items():
            match = _LENGTH_KEY.search(str(key))
            if match and isinstance(value, int | float):
                tokens = (
                    int(match.group(1))
                    if match.group(1)
                    else 1000 * int(match.group(2))  # accuracy_4k: 4,000 tokens
                )
                points[sub_id][tokens].append(float(value))
    names = {r.submission.pk: r.submission.name for r in board.rows}
    curves = []
    for sub_id, by_length in points.items():
        lengths = sorted(by_length)
        curves.append(
            {
                "id": sub_id,
                "name": names.get(sub_id, str(sub_id)),
                "x": lengths,
                "y": [statistics.fmean(by_length[n]) for n in lengths],
            }
        )
    return curves


def adversarial_pairs(board: Board, user) -> list[dict]:
    """Clean vs adversarial score per task and row, for robustness suites.

    The adversarial score is the row's score on the suite task; the clean one is a
    score key containing ``clean`` in the same results, else the same submission's
    score on the GLUE task of the same key. Empty when nothing pairs up.
    """
    clean_suite = Suite.objects.filter(slug="glue").first()
    clean_cells: dict[int, dict[str, TaskCell]] = {}
    if clean_suite is not None and clean_suite.pk != board.suite.pk:
        for row in selectors.leaderboard_rows(suite=clean_suite, user=user):
            clean_cells[row.submission.pk] = row.tasks
    clean_keys: dict[tuple[int, str], list[float]] = defaultdict(list)
    results = Result.objects.filter(
        evaluation__task__in=board.tasks,
        evaluation__submission_id__in=[
            r.submission.pk for r in board.rows[:CHART_ROWS]
        ],
    ).values_list("evaluation__submission_id", "evaluation__task__name", "scores")
    for sub_id, task_name, scores in results:
        for key, value in (scores or {}).items():
            if "clean" in str(key) and isinstance(value, int | float):
                clean_keys[(sub_id, task_name)].append(float(value))
    pairs = []
    for row in board.rows[:CHART_ROWS]:
        for task in board.tasks:
            cell = row.tasks.get(task.name)
            if cell is None:
                continue
            clean = None
            if clean_keys.get((row.submission.pk, task.name)):
                clean = statistics.fmean(clean_keys[(row.submission.pk, task.name)])
            else:
                other = clean_cells.get(row.submission.pk, {}).get(f"glue/{task.key}")
                clean = other.mean if other else None
            if clean is None:
                continue
            pairs.append(
                {
                    "id": row.submission.pk,
                    "name": row.submission.name,
                    "task": task.name,
                    "clean": clean,
                    "adversarial": cell.mean,
                }
            )
    return pairs
