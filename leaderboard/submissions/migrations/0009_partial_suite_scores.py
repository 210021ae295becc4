"""Leaderboard rows say what their suite score is over, and how many seeds of each
cell did not learn.

Existing rows are filled in here, from what they and their results hold:
``tasks_in_suite`` is the suite's scored tasks in the catalogue; a row with a
score covers the tasks it has cells on (a score exists only when every task the
deployment can evaluate has one), so ``tasks_counted`` is its ``task_count`` and
``partial`` says whether that is fewer. Each cell's per-seed flags are copied from
its counted results (``Result.did_not_learn``, backfilled by 0008: null where
unknown). The next result or catalogue change recomputes rows as usual.
"""

from django.db import migrations, models
from django.db.models import F


def _flags(Result, entry) -> dict[str, dict[str, bool | None]]:
    """Task name -> seed -> did_not_learn of the row's counted results (first per
    seed, current task version, no re-runs, scored, the row's profile)."""
    results = (
        Result.objects.filter(
            evaluation__submission_id=entry.submission_id,
            evaluation__task__suite_id=entry.suite_id,
            numerics=entry.numerics,
            task_score__isnull=False,
            evaluation__rerun_of__isnull=True,
            task_version=F("evaluation__task__version"),
        )
        .order_by("evaluation__seed", "evaluation_id")
        .values_list("evaluation__task__name", "evaluation__seed", "did_not_learn")
    )
    flags: dict[str, dict[str, bool | None]] = {}
    for task_name, seed, flag in results:
        flags.setdefault(task_name, {}).setdefault(str(seed), flag)
    return flags


def backfill(apps, schema_editor):
    from tasks import registry
    from tasks.errors import GlewError

    Result = apps.get_model("submissions", "Result")
    LeaderboardEntry = apps.get_model("submissions", "LeaderboardEntry")
    for entry in LeaderboardEntry.objects.select_related("suite").iterator():
        try:
            in_suite = len(registry.get_suite(entry.suite.slug).scored_tasks)
        except GlewError:
            in_suite = entry.task_count
        entry.tasks_in_suite = in_suite
        entry.tasks_counted = entry.task_count if entry.score is not None else None
        entry.partial = entry.score is not None and entry.task_count < in_suite
        flags = _flags(Result, entry)
        for task_name, cell in entry.cells.items():
            seeds = {
                seed: flags.get(task_name, {}).get(seed) for seed in cell["per_seed"]
            }
            cell["flags"] = seeds
            cell["did_not_learn"] = sum(1 for flag in seeds.values() if flag)
        entry.save(
            update_fields=[
                "tasks_in_suite",
                "tasks_counted",
                "partial",
                "cells",
                "updated_at",
            ]
        )


class Migration(migrations.Migration):
    dependencies = [("submissions", "0008_did_not_learn")]

    operations = [
        migrations.AddField(
            model_name="leaderboardentry",
            name="partial",
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="leaderboardentry",
            name="tasks_counted",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="leaderboardentry",
            name="tasks_in_suite",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
