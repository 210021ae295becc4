"""Keeping the precomputed leaderboard rows (``LeaderboardEntry``) true.

A submission's row on a suite is computed here, once, when something it depends on
changes: one of its results is stored (``submissions.lifecycle.evaluation_finish``
calls :func:`leaderboard_refresh_for_task`), or the suite's published data or a task
version changes (the catalogue sends ``suite_changed``; :func:`on_suite_changed`
recomputes the suite). Pages and the API then read one row per submission and
profile instead of aggregating results per request (a leaderboard of 10,000
submissions answers in milliseconds).
"""

from collections import defaultdict

from django.db import transaction

from leaderboard.catalogue.models import Suite, Task
from leaderboard.standings.bootstrap import row_bootstrap
from leaderboard.standings.cells import TaskCell, cell_to_json, cells_by_submission
from leaderboard.standings.confidence import suite_rank_confidence_refresh
from leaderboard.standings.efficiency import efficiency_by_submission
from leaderboard.standings.scope import leaderboard_tasks
from leaderboard.submissions.models import LeaderboardEntry, Result, Submission
from leaderboard.submissions.tracks import track_runs
from tasks import registry, scoring


def leaderboard_entry_refresh(
    *, suite: Suite, submission: Submission, tasks: list[Task] | None = None
) -> list[LeaderboardEntry]:
    """Recompute one submission's rows on one suite: one row per track (fine-tuning
    method) and numerics profile its results were computed in (a row never mixes
    tracks or profiles); [] when there is nothing to show. Rows it no longer has
    are removed.

    ``tasks`` is the suite's :func:`leaderboard_tasks`, when the caller has them.
    """
    tasks = leaderboard_tasks(suite) if tasks is None else tasks
    tracks = sorted(
        set(
            Result.objects.filter(
                evaluation__submission=submission, evaluation__task__in=tasks
            ).values_list("evaluation__method", flat=True)
        )
    )
    entries = []
    for track in tracks:
        # A track's row is over the tasks it runs (mlm: those with a prompt).
        on_track = [task for task in tasks if track_runs(track, task)]
        cells = cells_by_submission([submission.pk], tasks=on_track, track=track).get(
            submission.pk, {}
        )
        by_profile: dict[str, dict[str, TaskCell]] = defaultdict(dict)
        for (task_name, profile), cell in cells.items():
            by_profile[profile][task_name] = cell
        entries += [
            _entry_write(
                suite=suite,
                submission=submission,
                key=(profile, track),
                cells=row_cells,
                tasks=on_track,
            )
            for profile, row_cells in sorted(by_profile.items())
        ]
    kept = {(entry.numerics, entry.track) for entry in entries}
    for stale in LeaderboardEntry.objects.filter(suite=suite, submission=submission):
        if (stale.numerics, stale.track) not in kept:
            stale.delete()
    return entries


def _entry_write(
    *,
    suite: Suite,
    submission: Submission,
    key: tuple[str, str],
    cells: dict[str, TaskCell],
    tasks: list[Task],
) -> LeaderboardEntry:
    """Store one row (``key``: its numerics profile and track): its cells, the suite
    score over them (and over how many of the suite's scored tasks: ``partial``
    when fewer), its efficiency and its bootstrap resamples (``bootstrap``)."""
    profile, track = key
    suite_spec = registry.get_suite(suite.slug)
    score = scoring.suite_score(
        suite_spec,
        {name: cell.mean for name, cell in cells.items()},
        tasks=[task.name for task in tasks],
    )
    counted = len(tasks) if score is not None else None
    in_suite = len(suite_spec.scored_tasks)
    figures, devices = efficiency_by_submission(
        [submission.pk], tasks, numerics=profile, track=track
    )
    efficiency = dict(figures.get(submission.pk, {}))
    efficiency["device"] = devices.get(submission.pk)
    entry, _ = LeaderboardEntry.objects.update_or_create(
        suite=suite,
        submission=submission,
        numerics=profile,
        track=track,
        defaults={
            "score": score,
            "task_count": len(cells),
            "tasks_counted": counted,
            "tasks_in_suite": in_suite,
            "partial": counted is not None and counted < in_suite,
            "cells": {name: cell_to_json(cell) for name, cell in cells.items()},
            "efficiency": efficiency,
            "bootstrap": row_bootstrap(
                suite_spec=suite_spec,
                submission=submission,
                profile=profile,
                tasks=tasks,
                track=track,
            )
            if score is not None
            else [],
        },
    )
    return entry


def leaderboard_refresh_for_task(*, task: Task, submission: Submission) -> None:
    """After a result of ``submission`` on ``task`` changed: refresh its suite rows
    and the suite's rank confidence (``confidence``)."""
    leaderboard_entry_refresh(suite=task.suite, submission=submission)
    suite_rank_confidence_refresh(suite=task.suite)


@transaction.atomic
def leaderboard_refresh_suite(*, suite: Suite) -> int:
    """Recompute every row of a suite (its data or a task version changed); returns
    the number of rows kept."""
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
    suite_rank_confidence_refresh(suite=suite)
    return refreshed


def on_suite_changed(sender, *, suite: Suite, **kwargs) -> None:
    """Receiver of ``catalogue.signals.suite_changed`` (see ``apps.py``)."""
    leaderboard_refresh_suite(suite=suite)
