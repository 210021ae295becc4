"""A task bundle (or data for an existing task) uploaded by staff, and its import job.

The spec's effects on the catalogue live in the catalogue's rows (``Suite``,
``Task``, ``DatasetVersion``, ``AuditEvent``); this row records the upload itself:
who sent what, what the import job is doing, what it made or why it failed.
"""

from django.conf import settings
from django.db import models


class BundleKind(models.TextChoices):
    SUITE = "suite", "Suite bundle (spec and data)"
    DATA = "data", "Data for an existing task"


class BundleStatus(models.TextChoices):
    # An update whose spec would change existing scores waits for a curator to
    # confirm the impact shown; everything else is queued at once.
    AWAITING = "awaiting", "Awaiting confirmation"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    FINISHED = "finished", "Finished"
    FAILED = "failed", "Failed"
    DISCARDED = "discarded", "Discarded"


class Bundle(models.Model):
    kind = models.CharField(max_length=8, choices=BundleKind.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="bundles",
    )
    filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    # The zip in storage (so a worker on another machine can fetch it); emptied
    # when a failed or discarded bundle's file is deleted.
    storage_name = models.CharField(max_length=300, blank=True)
    spec_name = models.CharField(max_length=255, blank=True)
    spec_text = models.TextField(blank=True)
    suite_slug = models.CharField(max_length=64, blank=True)
    task_name = models.CharField(max_length=140, blank=True)  # a data upload's task
    # What the spec would change and its impact (curated.SuitePlan, impact.Impact).
    plan = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=BundleStatus.choices, default=BundleStatus.QUEUED
    )
    # {"stage", "step", "total", "message"}: what the import job is doing now.
    progress = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    # {"suite", "versions": [{"task", "sha256", "created", "state", "counts"}],
    #  "missing": [task names without files in the bundle]}
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        what = self.suite_slug if self.kind == BundleKind.SUITE else self.task_name
        return f"bundle #{self.pk} ({what}, {self.status})"
