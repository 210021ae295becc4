"""Factories for leaderboard rows, made through the services as the platform makes
them: a submission via ``submission_create``, a result via ``evaluation_finish``."""

import io
import json
import zipfile
from collections import deque
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kernels import numerics
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.submissions import intake, lifecycle
from leaderboard.submissions.models import Evaluation, Result, Submission
from leaderboard.submissions.pipeline.folder import predicted_splits
from leaderboard.submissions.pipeline.publish import job_publish
from leaderboard.submissions.recipes import job_recipe
from leaderboard.submissions.status import Status
from runners.contract import OUT_DIR, measurements_file, predictions_file
from tasks import registry


def model_variant(tiny_model_zip: Path, tag: str) -> bytes:
    """The tiny model zip plus a README naming ``tag``: another model (other sha256)."""
    buffer = io.BytesIO(tiny_model_zip.read_bytes())
    with zipfile.ZipFile(buffer, "a") as archive:
        # A fixed date: the same tag must give the same bytes, whatever the clock.
        info = zipfile.ZipInfo("README.md", date_time=(2020, 1, 1, 0, 0, 0))
        archive.writestr(info, f"variant {tag}\n")
    return buffer.getvalue()


def make_submission(
    owner,
    archive: bytes,
    *,
    name: str = "model",
    tasks: tuple[str, ...] = ("glue/sst2",),
    visibility: str = "public",
    recipe: str = "smoke",
    is_baseline: bool = False,
    tracks: tuple[str, ...] = ("full",),
) -> Submission:
    stream = io.BytesIO(archive)
    stream.name = "model.zip"
    return intake.submission_create(
        owner=owner,
        name=name,
        archive_stream=stream,
        recipe=recipe,
        tasks=list(tasks),
        visibility=visibility,
        is_baseline=is_baseline,
        tracks=tracks,
    )


def finish_evaluation(
    evaluation,
    score: float,
    *,
    params: int = 4_000_000,
    throughput: float = 100.0,
    memory: int = 200_000_000,
    train_seconds: float = 10.0,
    device: str = "cpu",
    numerics: str = "fp32-x86-64-v3",
    trainable: int | None = None,
):
    """Finish one evaluation with ``score`` and these figures, computed in the
    numerics profile ``numerics`` (``trainable``: trainable parameters, all of
    ``params`` unless given); returns its Result."""
    counts = evaluation.dataset_version.counts
    predictions = {}
    if "test" in counts:
        name = f"predictions/eval-{evaluation.pk}/test.jsonl"
        predictions["test"] = default_storage.save(
            name,
            ContentFile(
                "".join(
                    json.dumps({"idx": i, "prediction": 1}) + "\n"
                    for i in range(counts["test"])
                ).encode()
            ),
        )
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
    return lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores={"accuracy": score},
        task_score=score,
        efficiency={
            "params": params,
            "trainable_params": params if trainable is None else trainable,
            "infer_examples_per_s": throughput,
            "latency_p50_ms": 1000.0 / throughput,
            "peak_memory_bytes": memory,
            "train_seconds": train_seconds,
            "device": device,
        },
        manifest={"model_sha256": evaluation.submission.archive.sha256, "seed": 0},
        predictions=predictions,
        numerics=numerics,
    )


def finish_all(submission: Submission, score: float, **figures) -> None:
    """Finish every evaluation of ``submission`` with ``score`` and the figures
    :func:`finish_evaluation` takes (numerics profile included)."""
    for evaluation in submission.evaluations.all():
        finish_evaluation(evaluation, score, **figures)


def publish_run(
    evaluation: Evaluation, predictions: dict[str, list], job_dir: Path
) -> Result:
    """Publish a job's predictions through the real publisher
    (``pipeline.publish.job_publish``), as the worker does once the sandbox has
    written them: checked, scored on the hidden labels, judged against the
    version's baselines. ``predictions`` maps the job's split names (companions:
    ``glue-ax__test``) to values; a split not given is predicted class 0 (0.0 for
    regression). Returns the evaluation's Result."""
    out = job_dir / OUT_DIR
    for target, spec, split, name in predicted_splits(evaluation):
        rows = dataset_rows(target.dataset_version, split)
        values = predictions.get(name, [0 if spec.labels else 0.0] * len(rows))
        path = predictions_file(out, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "".join(
                json.dumps({"idx": row["idx"], "prediction": value}) + "\n"
                for row, value in zip(rows, values, strict=True)
            )
        )
    profile = numerics.requested_profile(job_recipe(evaluation).precision)
    if profile == numerics.BF16:
        profile = numerics.BF16_CPU
    measurements_file(out).write_text(json.dumps({"numerics": profile}))
    lifecycle.evaluation_claim(evaluation_id=evaluation.pk)
    lifecycle.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
    job_publish(
        evaluation=evaluation,
        spec=registry.get_task(evaluation.task.name),
        job_dir=job_dir,
        tail=deque(),
    )
    return Result.objects.get(evaluation=evaluation)
