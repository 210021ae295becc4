"""Curation on the site: suites kept in the database, drafts, previews, an audit trail.

Versions imported before this were published when imported (the command's
default), so each is given ``published_at`` = its import time: a withdrawn one
reads as withdrawn, not as a draft never published.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def published_when_imported(apps, schema_editor):
    DatasetVersion = apps.get_model("catalogue", "DatasetVersion")
    DatasetVersion.objects.update(published_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_baselines"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="datasetversion",
            name="created_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="preview",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="published_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="datasetversion",
            name="task_version",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="suite",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.AddField(
            model_name="suite",
            name="document",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="suite",
            name="origin",
            field=models.CharField(
                choices=[
                    ("file", "Catalogue file"),
                    ("curated", "Curated on the site"),
                ],
                default="file",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="suite",
            name="revision",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="suite",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="suite",
            name="version",
            field=models.PositiveIntegerField(default=1),
        ),
        migrations.AddField(
            model_name="task",
            name="position",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.CreateModel(
            name="AuditEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True,
                        primary_key=True,
                        serialize=False,
                        verbose_name="ID",
                    ),
                ),
                (
                    "at",
                    models.DateTimeField(
                        db_index=True, default=django.utils.timezone.now
                    ),
                ),
                ("actor_name", models.CharField(blank=True, max_length=150)),
                ("action", models.CharField(max_length=40)),
                ("suite_slug", models.CharField(blank=True, max_length=64)),
                ("task_name", models.CharField(blank=True, max_length=140)),
                ("dataset_sha256", models.CharField(blank=True, max_length=64)),
                ("summary", models.TextField()),
                ("details", models.JSONField(blank=True, default=dict)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "suite",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="catalogue.suite",
                    ),
                ),
                (
                    "task",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="catalogue.task",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-id"],
            },
        ),
        migrations.RunPython(published_when_imported, migrations.RunPython.noop),
    ]
