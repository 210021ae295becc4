"""Suites, tasks, dataset versions and the curation audit trail.

The truth about what a task *is* lives in ``tasks/`` (plain Python, versioned specs):
the files in ``tasks/catalogue/``, and for suites staff curated on the site, the
spec kept in ``Suite.document`` (validated by the same code, read by the registry
through ``leaderboard.catalogue.curated``). These rows mirror the specs so results
can point at them, and store what was imported.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Origin(models.TextChoices):
    FILE = "file", "Catalogue file"
    CURATED = "curated", "Curated on the site"


class Suite(models.Model):
    """A benchmark suite (GLUE, AdvGLUE, LRA, ...) with its score rule."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    score_rule = models.TextField(blank=True)
    # Where the spec lives: a file in tasks/catalogue/ (changed by a commit and
    # sync_catalogue) or, for suites curated on the site, ``document``.
    origin = models.CharField(
        max_length=10, choices=Origin.choices, default=Origin.FILE
    )
    # A curated suite's spec as TOML-shaped tables ({"suite": {...}, "tasks":
    # {key: {...}}}, tasks in suite order); empty for a file suite.
    document = models.JSONField(default=dict, blank=True)
    # +1 on every change of ``document``: the registry's generation stamp.
    revision = models.PositiveIntegerField(default=0)
    # The suite score's version: +1 whenever a change could move suite scores
    # (which tasks count, the score rule or its parameters).
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title

    @property
    def is_curated(self) -> bool:
        return self.origin == Origin.CURATED


class Task(models.Model):
    """One task of a suite; ``spec`` is the catalogue's declaration at ``version``."""

    suite = models.ForeignKey(Suite, on_delete=models.PROTECT, related_name="tasks")
    key = models.SlugField(max_length=64)
    name = models.CharField(max_length=140, unique=True)  # "glue/sst2"
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=40)
    version = models.PositiveIntegerField(default=1)
    metrics = models.JSONField(default=list)
    primary_metric = models.CharField(max_length=64)
    in_suite_score = models.BooleanField(default=True)
    spec = models.JSONField(default=dict)
    # Place in the suite's order (a curated suite's; file suites keep 0 and show
    # their tasks by key, as they always have).
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["suite__slug", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["suite", "key"], name="task_unique_in_suite"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def published_version(self) -> "DatasetVersion | None":
        """The newest published dataset version: the one new evaluations use."""
        return (
            self.dataset_versions.filter(published=True).order_by("-created_at").first()
        )


class DatasetVersion(models.Model):
    """An imported dataset, immutable and named by the sha256 of its canonical content.

    ``files`` maps split name to the storage path of that split's canonical JSONL
    (with labels). Evaluation-split labels never leave the platform: the worker strips
    them before anything is copied into a sandbox, and downloads never include them.
    """

    task = models.ForeignKey(
        Task, on_delete=models.PROTECT, related_name="dataset_versions"
    )
    sha256 = models.CharField(max_length=64)
    counts = models.JSONField(default=dict)
    label_distribution = models.JSONField(default=dict)
    datasheet = models.JSONField(default=dict)
    files = models.JSONField(default=dict)
    # What learning nothing scores on this data (tasks.baselines): {"task_version",
    # "majority": {"task_score", "scores", "method", ...}, "chance": {...}}.
    # Computed once when the version is stored; None until then.
    baselines = models.JSONField(null=True, blank=True)
    source = models.CharField(max_length=500, blank=True)
    published = models.BooleanField(default=True)
    deprecated = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # When it was first published; None for a draft that never was.
    published_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Curated tasks: the task version results on this data are stored under
    # (leaderboard.catalogue.publishing): set when it becomes the task's current
    # data, kept when it stops being so, so a result computed on data a task has
    # moved on from never counts beside the new data's. None: the task's version.
    task_version = models.PositiveIntegerField(null=True, blank=True)
    # What a curator checks before publishing (tasks.preview): sample rows per
    # split (labels only where served) and row-length histograms.
    preview = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["task__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "sha256"], name="dataset_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task.name}@{self.sha256[:12]}"

    @property
    def state(self) -> str:
        """ "draft" (never published), "published", "withdrawn" or "deprecated"."""
        if self.deprecated:
            return "deprecated"
        if self.published:
            return "published"
        return "withdrawn" if self.published_at else "draft"


class AuditEvent(models.Model):
    """Who created, published, withdrew or changed what in the catalogue, and when.

    Written by the service that made the change, in its transaction. Names are
    copied, not only linked, so an event still reads true after its objects change.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)
    # "suite.create", "suite.update", "suite.edit", "task.create", "task.update",
    # "dataset.upload", "dataset.publish", "dataset.withdraw", "dataset.deprecate".
    action = models.CharField(max_length=40)
    suite = models.ForeignKey(
        Suite, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    suite_slug = models.CharField(max_length=64, blank=True)
    task = models.ForeignKey(
        Task, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    task_name = models.CharField(max_length=140, blank=True)
    dataset_sha256 = models.CharField(max_length=64, blank=True)
    summary = models.TextField()
    # Before and after, impact figures: whatever the service found worth keeping.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or 'system'}: {self.action}"
