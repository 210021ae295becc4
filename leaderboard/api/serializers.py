"""Shapes of API input and output.

Serializers check shape only; rules live in services.
"""

from django.urls import reverse
from rest_framework import serializers

from leaderboard.catalogue.models import DatasetVersion, Suite
from leaderboard.standings.robustness import robustness_gaps
from leaderboard.standings.rows import submission_standings
from leaderboard.standings.scope import suite_coverage
from leaderboard.submissions.models import Evaluation, Submission
from leaderboard.submissions.selectors import evaluation_drift, evaluation_drift_note


class SubmissionCreateInput(serializers.Serializer):
    archive = serializers.FileField(allow_empty_file=True)
    name = serializers.CharField(max_length=200)
    tasks = serializers.CharField(required=False, allow_blank=True, default="")
    suites = serializers.CharField(required=False, allow_blank=True, default="")
    recipe = serializers.CharField(required=False, default="quick")
    # Fine-tuning methods, comma-separated ("full,lora"); full only by default.
    tracks = serializers.CharField(required=False, allow_blank=True, default="full")
    visibility = serializers.CharField(required=False, default="public")
    description = serializers.CharField(required=False, allow_blank=True, default="")


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def evaluation_data(evaluation: Evaluation) -> dict:
    result = getattr(evaluation, "result", None)
    return {
        "id": evaluation.pk,
        "task": evaluation.task.name,
        "seed": evaluation.seed,
        "recipe": {
            "name": evaluation.recipe_name,
            "version": evaluation.recipe_version,
        },
        "track": evaluation.method,
        "status": evaluation.status,
        "attempts": evaluation.attempts,
        "progress": evaluation.progress or None,
        "scores": result.scores if result else None,
        "task_score": result.task_score if result else None,
        # True: the run did not learn (constant predictions, or a score not above
        # the majority-class or chance baseline), with the reason; False: it did;
        # None: not judged (no task score, as GLUE's AX; or stored before the check).
        "did_not_learn": result.did_not_learn if result else None,
        "did_not_learn_reason": (result.did_not_learn_reason or None)
        if result
        else None,
        "efficiency": result.efficiency if result else None,
        "manifest": result.manifest if result else None,
        "error": (
            {"code": evaluation.error_code, "message": evaluation.error_message}
            if evaluation.error_code
            else None
        ),
        "rerun_of": evaluation.rerun_of_id,
        "numerics": result.numerics if result else None,
        "drift": evaluation_drift(evaluation),
        "drift_note": evaluation_drift_note(evaluation),
        "started_at": evaluation.started_at,
        "finished_at": evaluation.finished_at,
    }


def submission_data(
    submission: Submission, evaluations: list[Evaluation], request
) -> dict:
    return {
        "id": submission.pk,
        "name": submission.name,
        "owner": submission.owner.username,
        "status": submission.status,
        "recipe": submission.recipe,
        "tracks": submission.tracks,
        "visibility": submission.visibility,
        "is_baseline": submission.is_baseline,
        "model_sha256": submission.archive.sha256,
        "created_at": submission.created_at,
        "url": request.build_absolute_uri(
            reverse("submission-detail", args=[submission.pk])
        ),
        "evaluations": [evaluation_data(e) for e in evaluations],
        # Per suite and numerics profile: its suite score and what that is over
        # (``partial`` when fewer tasks than the suite has, with the sentence).
        "suite_scores": [s.as_data() for s in submission_standings(submission)],
        # Per evaluation-only task and seed (AdvGLUE): its clean counterpart's score
        # (the task its model was fine-tuned on), its own score and their gap.
        "robustness": robustness_gaps(submission),
    }


def version_data(version: DatasetVersion) -> dict:
    return {
        "sha256": version.sha256,
        "counts": version.counts,
        "published": version.published,
        "deprecated": version.deprecated,
        # "draft" | "published" | "withdrawn" | "deprecated"
        "state": version.state,
        "created_at": version.created_at,
        # What learning nothing scores on this data (tasks.baselines): majority
        # class and chance task scores, each with how it was computed.
        "baselines": version.baselines,
    }


def _public(task) -> list[DatasetVersion]:
    """A task's dataset versions but drafts (staff preview those: curation API)."""
    return [v for v in task.dataset_versions.all() if v.state != "draft"]


def _published_baselines(versions: list[DatasetVersion]) -> dict | None:
    """The baselines of the newest published version among ``versions``."""
    published = [v for v in versions if v.published]
    if not published:
        return None
    return max(published, key=lambda v: v.created_at).baselines


def suite_data(suite: Suite, *, detail: bool) -> dict:
    tasks = list(suite.tasks.all())
    data = {
        "suite": suite.slug,
        "title": suite.title,
        "description": suite.description,
        "score_rule": suite.score_rule,
        "task_count": len(tasks),
        # "file" (tasks/catalogue/) or "curated" (on this site); the suite score's
        # version rises whenever what counts or the rule changes.
        "origin": suite.origin,
        "version": suite.version,
    }
    if detail:
        # What a suite score here is over: "GLUE score over 6 of 9 tasks; ...".
        data["coverage"] = suite_coverage(suite).as_data()
        data["tasks"] = [
            {
                "task": task.name,
                "title": task.title,
                "type": task.task_type,
                "version": task.version,
                "metrics": task.metrics,
                "primary_metric": task.primary_metric,
                "in_suite_score": task.in_suite_score,
                "baselines": _published_baselines(list(task.dataset_versions.all())),
                "versions": [version_data(v) for v in _public(task)],
            }
            for task in tasks
        ]
    return data


class VisibilityInput(serializers.Serializer):
    visibility = serializers.CharField(max_length=10)


def submission_manifest_data(
    submission: Submission, evaluations: list[Evaluation]
) -> dict:
    """A submission's reproducibility manifest: one entry per finished evaluation."""
    return {
        "submission": submission.pk,
        "name": submission.name,
        "model_sha256": submission.archive.sha256,
        "recipe": submission.recipe,
        "evaluations": [
            {
                "evaluation": e.pk,
                "task": e.task.name,
                "seed": e.seed,
                "rerun_of": getattr(e, "rerun_of_id", None),
                "manifest": e.result.manifest,
            }
            for e in evaluations
            if getattr(e, "result", None) is not None
        ],
    }


def task_data(task, rows) -> dict:
    """A task's spec, dataset versions (counts, labels, datasheet) and leaderboard."""
    spec = task.spec or {}
    return {
        "task": task.name,
        "suite": task.suite.slug,
        "title": task.title,
        "description": task.description,
        "type": task.task_type,
        "version": task.version,
        "fields": spec.get("text_fields", []),
        "labels": spec.get("labels"),
        "metrics": task.metrics,
        "primary_metric": task.primary_metric,
        "in_suite_score": task.in_suite_score,
        # The published version's baselines: what a score must beat to count as
        # learned (a run that does not is flagged "did not learn").
        "baselines": _published_baselines(list(task.dataset_versions.all())),
        "versions": [
            {
                **version_data(v),
                "label_distribution": v.label_distribution,
                "datasheet": v.datasheet,
            }
            for v in _public(task)
        ],
        "leaderboard": [
            {
                "rank": row.rank,
                "submission": row.submission.pk,
                "name": row.submission.name,
                "owner": row.submission.owner.username,
                "mean": row.tasks[task.name].mean,
                "std": row.tasks[task.name].std,
                "seeds": row.tasks[task.name].n,
                "did_not_learn": row.tasks[task.name].did_not_learn,
                "efficiency": row.efficiency,
            }
            for row in rows
        ],
    }
