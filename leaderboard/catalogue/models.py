"""Suites, tasks and dataset versions.

The truth about what a task *is* lives in ``tasks/`` (plain Python, versioned specs);
these rows mirror it so results can point at them, and store what was imported.
"""

from django.db import models


class Suite(models.Model):
    """A benchmark suite (GLUE, AdvGLUE, LRA, ...) with its score rule."""

    slug = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    score_rule = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.title


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

    class Meta:
        ordering = ["task__name", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["task", "sha256"], name="dataset_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.task.name}@{self.sha256[:12]}"
