"""Robustness: how much of a model's score survives on an evaluation-only task.

One definition, driven by the catalogue: an evaluation-only task (no training split
of its own: AdvGLUE's tasks, GLUE's AX) is predicted with the model fine-tuned on
the task its TaskSpec names in ``predict_with``, which is its **clean counterpart**.
Its robustness pair is the submission's cell on the evaluation-only task beside its
cell on the counterpart, both in one numerics profile and both by ``cells``' one
averaging rule; the gap is ``tasks.scoring.robustness_gap`` (clean minus
evaluation-only). An evaluation-only task without a score (AX) has no pair.
"""

from leaderboard.catalogue.models import Task
from leaderboard.standings.board import Board
from leaderboard.standings.cells import CellKey, TaskCell, cells_by_submission
from leaderboard.submissions.models import Submission
from tasks import registry, scoring


def clean_counterparts() -> dict[str, str]:
    """Evaluation-only task name -> the name of its clean counterpart."""
    return {
        spec.name: spec.predict_with
        for spec in registry.all_tasks()
        if not spec.train_split and spec.predict_with
    }


def _pairs(cells: dict[CellKey, TaskCell]):
    """``(task, clean task, profile, evaluation-only cell, clean cell)`` for every
    cell of an evaluation-only task whose counterpart has a cell in its profile."""
    counterparts = clean_counterparts()
    for (task_name, profile), cell in cells.items():
        clean_name = counterparts.get(task_name)
        clean = cells.get((clean_name, profile)) if clean_name else None
        if clean is not None:
            yield task_name, clean_name, profile, cell, clean


def robustness_gaps(submission: Submission) -> dict[str, dict]:
    """Per evaluation-only task and seed (``"advglue/sst2@seed0"``): the clean
    counterpart's score at that seed, the task's, their gap, the counterpart's name
    and the numerics profile both were computed in."""
    cells = cells_by_submission([submission.pk]).get(submission.pk, {})
    found = []
    for task_name, clean_name, profile, cell, clean in _pairs(cells):
        for seed, adversarial in cell.per_seed.items():
            if seed not in clean.per_seed:
                continue
            clean_score = clean.per_seed[seed]
            pair = {
                "clean": clean_score,
                "adversarial": adversarial,
                "gap": scoring.robustness_gap(clean_score, adversarial),
                "clean_task": clean_name,
                "numerics": profile,
            }
            found.append(((seed, task_name, profile), pair))
    found.sort(key=lambda item: item[0])
    return {f"{task}@seed{seed}": pair for (seed, task, _), pair in found}


def robustness_pairs(board: Board, *, limit: int) -> list[dict]:
    """Clean vs evaluation-only means for the first ``limit`` rows of a board: one
    point per row and task of the board that has a clean counterpart with a cell
    in the row's profile. Empty for a board without evaluation-only tasks."""
    rows = board.rows[:limit]
    known = clean_counterparts()
    counterparts = {t.name: known[t.name] for t in board.tasks if t.name in known}
    if not rows or not counterparts:
        return []
    clean_cells = cells_by_submission(
        {r.submission.pk for r in rows},
        tasks=Task.objects.filter(name__in=set(counterparts.values())),
    )
    points = []
    for row in rows:
        mine = clean_cells.get(row.submission.pk, {})
        for task_name, clean_name in counterparts.items():
            cell = row.tasks.get(task_name)
            clean = mine.get((clean_name, row.numerics))
            if cell is None or clean is None:
                continue
            points.append(
                {
                    "id": row.submission.pk,
                    "name": row.submission.name,
                    "numerics": row.numerics,
                    "task": task_name,
                    "clean_task": clean_name,
                    "clean": clean.mean,
                    "adversarial": cell.mean,
                    "gap": scoring.robustness_gap(clean.mean, cell.mean),
                }
            )
    return points
