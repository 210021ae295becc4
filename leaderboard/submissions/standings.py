"""Keeping the precomputed leaderboard rows (LeaderboardEntry) true.

The suite score of a submission is computed here, once, when something it depends on
changes: a result is stored, a task's data is published, a task's version moves. Pages
and the API then read one row per submission instead of aggregating results per
request (a leaderboard with 10,000 submissions answers in milliseconds).
"""

import statistics
from collections import defaultdict

from django.db import transaction

from leaderboard.catalogue.models import Suite, Task
from leaderboard.submissions.models import LeaderboardEntry, Result, Submission
from tasks import registry, scoring


def leaderboard_tasks(suite: Suite) -> list[Task]:
    """The tasks a suite's leaderboard shows: scored tasks a submission can be
    evaluated on here, i.e. whose published data holds what an evaluation needs
    (the training split, or for an evaluation-only task its model's task's)."""
    candidates = list(
        suite.tasks.filter(in_suite_score=True, dataset_versions__published=True)
        .distinct()
        .order_by("key")
    )
    return [task for task in candidates if _evaluable(task)]


def _evaluable(task: Task) -> bool:
    spec = registry.get_task(task.name)
    if spec.train_split is None:
        if not spec.predict_with:
            return True
        trainer = Task.objects.filter(name=spec.predict_with).first()
        return trainer is not None and _evaluable(trainer)
    version = task.published_version()
    return version is not None and spec.train_split in version.files


def _cells(results, current: dict[str, int]) -> dict[str, dict]:
    """Per task: mean, std and count over seeds of the current version's results
    (the caller passes the results of one numerics profile)."""
    by_task: dict[str, dict[int, float]] = defaultdict(dict)
    for result in results:
        evaluation = result.evaluation
        if result.task_score is None:
            continue
        if result.task_version != current.get(evaluation.task.name):
            continue
        by_task[evaluation.task.name][evaluation.seed] = result.task_score
    return {
        name: {
            "mean": statistics.fmean(seeds.values()),
            "std": statistics.pstdev(seeds.values()) if len(seeds) > 1 else 0.0,
            "n": len(seeds),
            "per_seed": {str(seed): value for seed, value in sorted(seeds.items())},
        }
        for name, seeds in by_task.items()
    }


def leaderboard_entry_refresh(
    *, suite: Suite, submission: Submission, tasks: list[Task] | None = None
) -> list[LeaderboardEntry]:
    """Recompute one submission's rows on one suite: one row per numerics profile
    its results were computed in (a row never mixes profiles); [] when there is
    nothing to show. Rows of profiles it no longer has are removed."""
    from leaderboard.boards import efficiency_by_submission

    tasks = leaderboard_tasks(suite) if tasks is None else tasks
    current = {task.name: task.version for task in tasks}
    results = Result.objects.filter(
        evaluation__submission=submission,
        evaluation__task__in=tasks,
        evaluation__rerun_of__isnull=True,
    ).select_related("evaluation__task")
    by_profile: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_profile[result.numerics].append(result)
    entries = []
    for profile, group in sorted(by_profile.items()):
        cells = _cells(group, current)
        if not cells:
            continue
        score = scoring.suite_score(
            registry.get_suite(suite.slug),
            {name: cell["mean"] for name, cell in cells.items()},
            tasks=list(current),
        )
        figures, devices = efficiency_by_submission(
            [submission.pk], tasks, numerics=profile
        )
        efficiency = dict(figures.get(submission.pk, {}))
        efficiency["device"] = devices.get(submission.pk)
        entry, _ = LeaderboardEntry.objects.update_or_create(
            suite=suite,
            submission=submission,
            numerics=profile,
            defaults={
                "score": score,
                "task_count": len(cells),
                "cells": cells,
                "efficiency": efficiency,
            },
        )
        entries.append(entry)
    LeaderboardEntry.objects.filter(suite=suite, submission=submission).exclude(
        numerics__in=[entry.numerics for entry in entries]
    ).delete()
    return entries


def leaderboard_refresh_for_task(*, task: Task, submission: Submission) -> None:
    """After a result of ``submission`` on ``task`` changed: refresh its suite row."""
    leaderboard_entry_refresh(suite=task.suite, submission=submission)


@transaction.atomic
def leaderboard_refresh_suite(*, suite: Suite) -> int:
    """Recompute every row of a suite (its data or a task version changed)."""
    tasks = leaderboard_tasks(suite)
    submission_ids = set(
        Result.objects.filter(evaluation__task__suite=suite).values_list(
            "evaluation__submission_id", flat=True
        )
    ) | set(suite.entries.values_list("submission_id", flat=True))
    refreshed = 0
    for submission in Submission.objects.filter(pk__in=submission_ids):
        refreshed += len(
            leaderboard_entry_refresh(suite=suite, submission=submission, tasks=tasks)
        )
    return refreshed
