"""Results say whether the run learned (``tasks.baselines.learning_check``).

Existing scored Results are judged where the data allow it, with the check new
results get:

- the stored predictions of every scored split can be read (``Result.predictions``)
  and the dataset version has baselines: judged fully (constant predictions, score
  against both baselines): True or False;
- the predictions cannot be read, but the task score is not above a baseline:
  True, with that reason (the score alone proves it);
- otherwise null (unknown): without the predictions a constant predictor cannot
  be ruled out. Also null: results without a task score (GLUE's AX, never judged),
  results of an older task version than the catalogue's (their baselines would be
  another rule's) and results of tasks no longer in the catalogue.

Leaderboard rows carry the counts from the next migration on.
"""

import json

from django.core.files.storage import default_storage
from django.db import migrations, models


def _stored_predictions(result, splits) -> dict | None:
    """Split -> the stored predictions, or None when one split cannot be read."""
    out = {}
    for split in splits:
        name = (result.predictions or {}).get(split)
        if not name:
            return None
        try:
            with default_storage.open(name, "rb") as handle:
                out[split] = [
                    json.loads(line)["prediction"] for line in handle if line.strip()
                ]
        except (OSError, ValueError, KeyError):
            return None
    return out


def _judge(result, spec):
    from tasks.baselines import learning_check
    from tasks.scoring import scored_splits

    baselines = result.evaluation.dataset_version.baselines
    if baselines is None or baselines.get("task_version") != result.task_version:
        return None
    predictions = _stored_predictions(result, scored_splits(spec))
    if predictions is not None:
        return learning_check(spec, predictions, result.task_score, baselines)
    by_score = learning_check(spec, {}, result.task_score, baselines)
    return by_score if by_score.did_not_learn else None


def backfill(apps, schema_editor):
    from tasks import registry
    from tasks.errors import GlewError

    Result = apps.get_model("submissions", "Result")
    judged = unknown = 0
    results = Result.objects.filter(
        task_score__isnull=False, did_not_learn__isnull=True
    ).select_related("evaluation__task", "evaluation__dataset_version")
    for result in results.iterator():
        try:
            spec = registry.get_task(result.evaluation.task.name)
        except GlewError:
            unknown += 1
            continue
        if spec.version != result.task_version:
            unknown += 1
            continue
        check = _judge(result, spec)
        if check is None or check.did_not_learn is None:
            unknown += 1
            continue
        result.did_not_learn = check.did_not_learn
        result.did_not_learn_reason = check.reason
        result.save(update_fields=["did_not_learn", "did_not_learn_reason"])
        judged += 1
    if judged or unknown:
        print(f"\n  did-not-learn: {judged} results judged, {unknown} left unknown")


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_baselines"),
        ("submissions", "0007_numerics"),
    ]

    operations = [
        migrations.AddField(
            model_name="result",
            name="did_not_learn",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="result",
            name="did_not_learn_reason",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
