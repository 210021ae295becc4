"""Dataset versions store their majority-class and chance baselines.

Existing versions are backfilled from their stored files: the labels of the
training and scored splits, scored by ``tasks.baselines`` under the task's spec
as the catalogue declares it now (the same code new imports use; it is plain
Python that reads no model). A version whose task left the catalogue, or whose
files cannot be read, keeps ``baselines`` null (unknown) and a warning is printed;
``catalogue_sync`` after a task version bump recomputes them too.
"""

import json

from django.core.files.storage import default_storage
from django.db import migrations, models


def _labels(version, split: str) -> list:
    with default_storage.open(version.files[split], "rb") as handle:
        return [json.loads(line)["label"] for line in handle if line.strip()]


def backfill(apps, schema_editor):
    from tasks import registry
    from tasks.baselines import baseline_splits, baselines_from_labels
    from tasks.errors import GlewError

    DatasetVersion = apps.get_model("catalogue", "DatasetVersion")
    for version in DatasetVersion.objects.filter(baselines__isnull=True).select_related(
        "task"
    ):
        try:
            spec = registry.get_task(version.task.name)
            labels = {
                split: _labels(version, split)
                for split in baseline_splits(spec)
                if split in version.files
            }
            version.baselines = baselines_from_labels(spec, labels)
        except (GlewError, OSError, KeyError, ValueError) as error:
            print(f"\n  baselines of {version.task.name} left unknown: {error}")
            continue
        version.save(update_fields=["baselines"])


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="datasetversion",
            name="baselines",
            field=models.JSONField(blank=True, null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
