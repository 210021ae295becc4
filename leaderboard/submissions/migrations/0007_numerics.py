"""Results and leaderboard rows carry the numerics profile they were computed in.

Results stored before profiles existed get the profile their measurements imply:
``<precision_used>-<device>`` ("fp32-cpu", "bf16-cpu", "bf16-cuda"), i.e. unpinned
kernels, so they never share a cell with pinned ``fp32-x86-64-v3`` results.
Leaderboard rows are recomputed by ``sync_catalogue``/the next result; existing ones
are given their results' profile here so the new unique key holds.
"""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Result = apps.get_model("submissions", "Result")
    LeaderboardEntry = apps.get_model("submissions", "LeaderboardEntry")
    for result in Result.objects.filter(numerics="").iterator():
        efficiency = result.efficiency or {}
        precision = efficiency.get("precision_used") or "fp32"
        device = efficiency.get("device") or "cpu"
        result.numerics = f"{precision}-{device}"
        result.save(update_fields=["numerics"])
    for entry in LeaderboardEntry.objects.filter(numerics="").iterator():
        found = (
            Result.objects.filter(
                evaluation__submission_id=entry.submission_id,
                evaluation__task__suite_id=entry.suite_id,
            )
            .values_list("numerics", flat=True)
            .first()
        )
        entry.numerics = found or "fp32-cpu"
        entry.save(update_fields=["numerics"])


class Migration(migrations.Migration):
    dependencies = [("submissions", "0006_stamp_indexes")]

    operations = [
        migrations.AddField(
            model_name="result",
            name="numerics",
            field=models.CharField(db_index=True, default="", max_length=48),
        ),
        migrations.AddField(
            model_name="leaderboardentry",
            name="numerics",
            field=models.CharField(default="", max_length=48),
        ),
        migrations.RemoveConstraint(
            model_name="leaderboardentry", name="leaderboard_entry_unique"
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="leaderboardentry",
            constraint=models.UniqueConstraint(
                fields=("suite", "submission", "numerics"),
                name="leaderboard_entry_unique",
            ),
        ),
    ]
