"""Submission -> Evaluation (one per task, seed, recipe version) -> Result."""

from django.conf import settings
from django.db import models

from leaderboard.catalogue.models import DatasetVersion, Task
from leaderboard.submissions.status import Status


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    PRIVATE = "private", "Private"


def default_tracks() -> list[str]:
    """Full fine-tuning only, unless a submission asks for more tracks."""
    return ["full"]


class ModelArchive(models.Model):
    """An uploaded model zip, stored once per content hash however often it is sent."""

    sha256 = models.CharField(max_length=64, unique=True)
    storage_name = models.CharField(max_length=300)
    size_bytes = models.BigIntegerField()
    config = models.JSONField(default=dict)
    has_weights = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.sha256[:12]


class Submission(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="submissions"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    archive = models.ForeignKey(
        ModelArchive, on_delete=models.PROTECT, related_name="submissions"
    )
    recipe = models.CharField(max_length=40)
    # The fine-tuning methods (tracks, runners.contract.METHODS) it is evaluated
    # under, chosen at upload: every task and seed runs once per track.
    tracks = models.JSONField(default=default_tracks)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    is_baseline = models.BooleanField(default=False)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Indexed: the home page's cache stamp reads the latest change.
    updated_at = models.DateTimeField(auto_now=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"#{self.pk} {self.name}"


class Evaluation(models.Model):
    """One job: fine-tune the submission on one task with one seed, then score it."""

    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="evaluations"
    )
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="evaluations")
    dataset_version = models.ForeignKey(
        DatasetVersion, on_delete=models.PROTECT, related_name="evaluations"
    )
    recipe_name = models.CharField(max_length=40)
    recipe_version = models.CharField(max_length=40)
    # The fine-tuning method, i.e. the track its result counts on ("full", "lora",
    # "bitfit"); also in the recipe version (``+lora@1``).
    method = models.CharField(max_length=16, default="full", db_index=True)
    seed = models.IntegerField()
    queue = models.CharField(max_length=40, default="cpu")
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    progress = models.JSONField(default=dict, blank=True)
    log_tail = models.TextField(blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    # A re-run repeats another evaluation with the same manifest; it is shown with
    # its drift and never counted as an extra seed on the leaderboard.
    rerun_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="reruns"
    )
    # An evaluation-only task (AdvGLUE, AX) is predicted by the job of the evaluation
    # that fine-tunes the model it uses; it has no job of its own.
    predicted_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="companions",
    )
    # Set when an out-of-memory run is retried at half the batch size with gradient
    # accumulation (the effective batch stays the recipe's).
    gradient_accumulation_steps = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Beaten every few seconds by the worker running the job, cleared when it stops:
    # a redelivered job takes a running evaluation over only once this is stale.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When a job message was last published: queued evaluations whose message a
    # broker restart lost are published again (requeue sweep).
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["task__name", "seed", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["submission", "task", "seed", "recipe_version"],
                condition=models.Q(rerun_of__isnull=True),
                name="evaluation_unique_job",
            )
        ]

    def __str__(self) -> str:
        return f"eval {self.pk}: {self.task.name} seed {self.seed} ({self.status})"


class Result(models.Model):
    """What one finished evaluation measured: scores, efficiency and its manifest."""

    evaluation = models.OneToOneField(
        Evaluation, on_delete=models.CASCADE, related_name="result"
    )
    scores = models.JSONField(default=dict)
    # None when the evaluated split has no public labels (GLUE's AX): predictions
    # are kept for export, nothing is scored.
    task_score = models.FloatField(null=True, blank=True)
    task_version = models.PositiveIntegerField()
    # Whether the run learned (tasks.baselines.learning_check): True when its
    # predictions were one constant or its task score is not above the dataset
    # version's majority-class or chance baseline, with the reason in plain words;
    # False when it beat them; None when not judged (no task score, as GLUE's AX,
    # or a result stored before the check whose predictions could not be re-read).
    did_not_learn = models.BooleanField(null=True, blank=True)
    did_not_learn_reason = models.TextField(blank=True, default="")
    efficiency = models.JSONField(default=dict)
    manifest = models.JSONField(default=dict)
    # split -> storage path of the submitted predictions (for exports and audits).
    predictions = models.JSONField(default=dict)
    # The numerics profile the run computed in (kernels.numerics: "fp32-x86-64-v3",
    # "bf16-cuda", ...). Part of the result's identity: a leaderboard cell averages
    # results of one profile only, and a re-run's drift compares like with like.
    numerics = models.CharField(max_length=48, default="", db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        score = "not scored" if self.task_score is None else f"{self.task_score:.4f}"
        return f"result of eval {self.evaluation_id}: {score}"


class LeaderboardEntry(models.Model):
    """A submission's precomputed row on one suite's leaderboard, per numerics profile.

    Written by ``leaderboard.standings.refresh.leaderboard_entry_refresh`` whenever
    one of its results, the suite's data or a task version changes, so pages and the
    API read one indexed table instead of aggregating every result per request.
    """

    suite = models.ForeignKey(
        "catalogue.Suite", on_delete=models.CASCADE, related_name="entries"
    )
    submission = models.ForeignKey(
        Submission, on_delete=models.CASCADE, related_name="entries"
    )
    # The numerics profile of every result in the row: a submission with results in
    # two profiles has two rows, never one that mixes them.
    numerics = models.CharField(max_length=48, default="")
    # The fine-tuning method of every result in the row (Evaluation.method): tracks
    # are never mixed in a row, and a board shows one track at a time.
    track = models.CharField(max_length=16, default="full")
    score = models.FloatField(null=True, blank=True)
    task_count = models.PositiveIntegerField(default=0)
    # What the score is over: the tasks this deployment can evaluate
    # (standings.scope.leaderboard_tasks; None without a score) out of the suite's
    # scored tasks. ``partial`` when fewer: such rows rank after complete ones,
    # among themselves, and are labelled wherever the score is shown.
    tasks_counted = models.PositiveIntegerField(null=True, blank=True)
    tasks_in_suite = models.PositiveIntegerField(default=0)
    partial = models.BooleanField(default=False)
    # {task name: {"mean", "std", "n", "per_seed": {seed: score},
    #  "did_not_learn": count, "flags": {seed: true | false | null}}}
    cells = models.JSONField(default=dict)
    # Efficiency summary over the row's results (medians; the maximum of peak
    # memory; fine-tune seconds summed over tasks): leaderboard.standings.efficiency.
    efficiency = models.JSONField(default=dict)
    # The row's suite score under each of a fixed, seeded set of bootstrap
    # resamples of evaluation examples and seeds (standings.bootstrap), and what
    # they say of its rank among the public rows (standings.confidence).
    bootstrap = models.JSONField(default=list, blank=True)
    rank_confidence = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["suite", "submission", "numerics", "track"],
                name="leaderboard_entry_track_unique",
            )
        ]
        indexes = [
            models.Index(
                fields=["suite", "-score", "-task_count"], name="entry_rank_idx"
            ),
            # The board cache's stamp reads the latest change per suite.
            models.Index(fields=["suite", "updated_at"], name="entry_stamp_idx"),
        ]
