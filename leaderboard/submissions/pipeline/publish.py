"""Score a finished job outside the sandbox and publish its Results.

What the sandbox wrote is untrusted: predictions are read and checked like an upload
(``tasks.predictions``), measurements are checked for the numerics profile the job
was asked to compute in, and only then scored against the hidden labels. The job's
companions (evaluation-only tasks its model also predicted) are published here too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections import deque
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from kernels import numerics
from leaderboard.catalogue.selectors import dataset_rows, scored_task_version
from leaderboard.submissions import lifecycle
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.pipeline.folder import predicted_splits
from leaderboard.submissions.pipeline.timing import time_breakdown
from leaderboard.submissions.recipes import job_recipe
from leaderboard.submissions.status import Status
from runners.contract import (
    EFFICIENCY_KEYS,
    OUT_DIR,
    measurements_file,
    predictions_file,
)
from tasks import scoring
from tasks.baselines import learning_check
from tasks.errors import GlewError, PlatformError
from tasks.predictions import read_predictions
from tasks.specs import TaskSpec


def job_publish(
    *,
    evaluation: Evaluation,
    spec: TaskSpec,
    job_dir: Path,
    tail: deque[str],
    worker_seconds: dict[str, float] | None = None,
) -> None:
    """Score the evaluation and its companions on their hidden labels; store Results.

    ``worker_seconds`` (preparing, the sandbox run) join the program's own stage
    times in each Result's ``time_breakdown``.
    """
    measurements = _read_measurements(job_dir)
    measurements["time_breakdown"] = time_breakdown(measurements, worker_seconds)
    by_evaluation: dict[int, list[tuple[str, str]]] = {}
    targets: dict[int, tuple[Evaluation, TaskSpec]] = {}
    for target, target_spec, split, name in predicted_splits(evaluation):
        by_evaluation.setdefault(target.pk, []).append((split, name))
        targets[target.pk] = (target, target_spec)
    for target_id, splits in by_evaluation.items():
        target, target_spec = targets[target_id]
        if target.pk != evaluation.pk:
            # A companion has no job of its own: it moves through the same states.
            if lifecycle.evaluation_claim(evaluation_id=target.pk) is None:
                continue
            lifecycle.evaluation_move(evaluation_id=target.pk, to=Status.SCORING)
        try:
            _publish_one(
                evaluation=target,
                spec=target_spec,
                splits=splits,
                job_dir=job_dir,
                measurements=measurements,
                tail=tail,
            )
        except GlewError as error:
            if target.pk == evaluation.pk:
                raise
            lifecycle.evaluation_fail(
                evaluation_id=target.pk, code=error.code, message=error.message
            )


def _publish_one(
    *,
    evaluation: Evaluation,
    spec: TaskSpec,
    splits: list[tuple[str, str]],
    job_dir: Path,
    measurements: dict,
    tail: deque[str],
) -> None:
    version = evaluation.dataset_version
    predictions: dict[str, list] = {}
    stored: dict[str, str] = {}
    for split, name in splits:
        rows = dataset_rows(version, split)
        predictions[split] = read_predictions(
            predictions_file(job_dir / OUT_DIR, name), rows=rows, task=spec
        )
        storage_name = f"predictions/eval-{evaluation.pk}/{split}.jsonl"
        if default_storage.exists(storage_name):
            default_storage.delete(storage_name)
        stored[split] = default_storage.save(
            storage_name,
            ContentFile(
                "".join(
                    json.dumps({"idx": row["idx"], "prediction": pred}) + "\n"
                    for row, pred in zip(rows, predictions[split], strict=True)
                ).encode()
            ),
        )
    scored = [split for split in spec.eval_splits if split in predictions]
    scores: dict[str, float] = {}
    task_score = None
    if scored:
        rows_of = {split: dataset_rows(version, split) for split in scored}
        references = {
            split: [row["label"] for row in rows] for split, rows in rows_of.items()
        }
        # A task scored per group (HoC: per abstract) needs each row's group.
        scores = scoring.score_predictions(
            spec,
            {split: predictions[split] for split in scored},
            references,
            groups={split: _groups(spec, rows) for split, rows in rows_of.items()},
        )
        task_score = scoring.task_score(spec, scores)
    # Did it learn? Judged here, where the predictions and the version's baselines
    # are at hand; an unscored result (GLUE's AX) is never judged.
    check = learning_check(
        spec,
        {split: predictions[split] for split in scored},
        task_score,
        version.baselines,
    )
    lifecycle.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores=scores,
        task_score=task_score,
        numerics=numerics_from(measurements, evaluation=evaluation),
        efficiency=efficiency_from(measurements),
        manifest=manifest_for(evaluation=evaluation, measurements=measurements),
        predictions=stored,
        log_tail="\n".join(tail),
        did_not_learn=check.did_not_learn,
        did_not_learn_reason=check.reason,
    )


def _groups(spec: TaskSpec, rows: list[dict]) -> list[str] | None:
    """Each row's group, or None for a task scored per row, or for a version
    imported before its task was scored per group (scoring then says so)."""
    if spec.group_field is None or any(spec.group_field not in r for r in rows):
        return None
    return scoring.row_groups(spec, rows)


def _read_measurements(job_dir: Path) -> dict:
    path = measurements_file(job_dir / OUT_DIR)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        raise PlatformError(
            "scoring.missing_measurements",
            "The run wrote no readable measurements.json.",
        ) from None
    if not isinstance(data, dict):
        raise PlatformError(
            "scoring.missing_measurements", "measurements.json is not an object."
        )
    return data


_PROFILE_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]{0,47}$")


def numerics_from(measurements: dict, *, evaluation: Evaluation) -> str:
    """The numerics profile the run reports, checked against the one it was given.

    A pinned fp32 run may report its profile with a canary suffix (its machine
    computes otherwise: kept apart); anything else that differs from the request
    means the run did not compute as its recipe says, and is not published.
    """
    reported = measurements.get("numerics")
    if not isinstance(reported, str) or not _PROFILE_NAME.match(reported):
        raise PlatformError(
            "scoring.bad_measurements",
            "The run did not report a valid numerics profile.",
        )
    requested = numerics.requested_profile(job_recipe(evaluation).precision)
    allowed = (
        reported in (numerics.BF16_CPU, numerics.BF16_CUDA)
        if requested == numerics.BF16
        else reported == requested or reported.startswith(requested + "+")
    )
    if not allowed:
        raise PlatformError(
            "scoring.wrong_numerics",
            f"The run computed in {reported}, not in {requested} as its recipe "
            "requires; its scores are not published.",
        )
    return reported


def efficiency_from(measurements: dict) -> dict:
    """The efficiency figures of a Result: measured keys, None where not measured."""
    figures = {key: measurements.get(key) for key in EFFICIENCY_KEYS}
    figures["time_breakdown"] = measurements.get("time_breakdown")
    return figures


def manifest_for(*, evaluation: Evaluation, measurements: dict) -> dict:
    """Everything needed to reproduce this number, stored beside it."""
    recipe = job_recipe(evaluation)
    return {
        "evaluation_id": evaluation.pk,
        "model_sha256": evaluation.submission.archive.sha256,
        "dataset_sha256": evaluation.dataset_version.sha256,
        "task": evaluation.task.name,
        "task_version": scored_task_version(
            task=evaluation.task, dataset_version=evaluation.dataset_version
        ),
        "recipe": {
            "name": recipe.name,
            "version": recipe.version,
            "hyperparameters": recipe.to_dict(),
        },
        "seed": evaluation.seed,
        # The track: the fine-tuning method, its numbers, the trainable-parameter
        # count and which forward ran with it (runners.training.methods).
        "method": measurements.get("method") or {"name": recipe.method},
        "trainable_params": measurements.get("trainable_params"),
        "versions": measurements.get("versions", {}),
        "hardware": measurements.get("hardware", {}),
        "platform_commit": platform_commit(),
        "determinism": measurements.get("determinism"),
        # One process, data-parallel or fully sharded, and why (runners.distributed).
        "parallel": measurements.get("parallel"),
        "batch_invariant": measurements.get("batch_invariant"),
        "batch_invariance": measurements.get("batch_invariance"),
        "execution_path": measurements.get("execution_path"),
        "precision": measurements.get("precision_used"),
        # Which vector the classifier read and whose head it was (pooling declared
        # by a sentence-transformers checkpoint, or the architecture's own head).
        "pooling": measurements.get("pooling"),
        "numerics": measurements.get("numerics"),
        "numerics_detail": measurements.get("numerics_detail"),
        "attention_implementation": measurements.get("attention_implementation"),
        "padding_waste": measurements.get("padding_waste"),
        "truncated_rows": measurements.get("truncated_rows"),
        "model_max_length": measurements.get("model_max_length"),
        "sandbox": "unsandboxed" if settings.GLEW_ALLOW_UNSANDBOXED else "bubblewrap",
        "attempt": evaluation.attempts,
    }


def platform_commit() -> str:
    """The git commit the platform runs (GLEW_COMMIT in images without .git)."""
    if os.environ.get("GLEW_COMMIT"):
        return os.environ["GLEW_COMMIT"]
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parents[3],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
