"""Factories for leaderboard rows, made through the services as the platform makes
them: a submission via ``submission_create``, a result via ``evaluation_finish``."""

import io
import json
import zipfile
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from leaderboard.submissions import intake, lifecycle
from leaderboard.submissions.models import Submission
from leaderboard.submissions.status import Status


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
):
    """Finish one evaluation with ``score`` and these figures, computed in the
    numerics profile ``numerics``; returns its Result."""
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
