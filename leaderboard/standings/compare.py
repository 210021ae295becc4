"""Submissions side by side, per task and numerics profile.

Cells are ``cells``' (one averaging rule, so an unscored evaluation-only result such
as GLUE's AX is simply absent); differences are against the first submission's cell
of the same task and profile, never across profiles. A difference is "within noise"
when the 95% interval of the difference of two means includes zero.
"""

import math

from leaderboard.catalogue.models import Task
from leaderboard.standings.cells import CellKey, TaskCell, cells_by_submission
from leaderboard.standings.efficiency import efficiency_by_submission
from leaderboard.standings.stats import Z95, task_se
from leaderboard.submissions.models import Submission


def compare_data(submissions: list[Submission]) -> dict:
    """The compare page's and API's answer for visible ``submissions``."""
    cells = cells_by_submission([s.pk for s in submissions])
    keys = sorted({key for c in cells.values() for key in c})
    tasks = Task.objects.filter(name__in={name for name, _ in keys})
    figures, _ = efficiency_by_submission([s.pk for s in submissions], list(tasks))
    first = submissions[0].pk if submissions else None
    rows = [
        {
            "task": key[0],
            "numerics": key[1],
            "entries": [
                _entry(sub.pk, cells.get(sub.pk, {}), key, cells.get(first, {}), first)
                for sub in submissions
            ],
        }
        for key in keys
    ]
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


def _entry(
    pk: int,
    mine: dict[CellKey, TaskCell],
    key: CellKey,
    firsts: dict[CellKey, TaskCell],
    first: int | None,
) -> dict:
    cell = mine.get(key)
    base = firsts.get(key)
    diff = overlap = None
    if cell and base and pk != first:
        diff = cell.mean - base.mean
        overlap = abs(diff) <= Z95 * math.hypot(task_se(cell), task_se(base))
    return {
        "submission": pk,
        "mean": cell.mean if cell else None,
        "std": cell.std if cell else None,
        "seeds": cell.n if cell else 0,
        "did_not_learn": cell.did_not_learn if cell else 0,
        "diff": diff,
        "within_noise": overlap,
    }
