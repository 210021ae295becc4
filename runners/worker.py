"""The worker side of an evaluation: prepare a job folder, run the sandbox, score.

Called by the Celery adapter (``leaderboard.submissions.tasks``) with an evaluation id.
It is safe to call twice for one evaluation: a finished evaluation is left alone, and a
running one (its first worker died) is claimed again and started from scratch.
Scoring against the hidden labels happens here, outside the sandbox.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import InterfaceError, OperationalError, connection

from kernels import numerics
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.submissions import services
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.status import Status
from runners.archives import ArchiveLimits, extract_archive, inspect_archive
from runners.recipes import get_recipe
from runners.sandbox import (
    SandboxLimits,
    check_sandbox_available,
    run_in_sandbox,
    sandbox_python,
)
from tasks import registry, scoring
from tasks.errors import GlewError, PlatformError, UserError
from tasks.specs import TaskSpec

log = logging.getLogger("glew.worker")

PROGRESS_PREFIX = "GLEW_PROGRESS "
PROGRESS_INTERVAL_S = 2.0
TAIL_LINES = 60


def evaluation_execute(*, evaluation_id: int) -> None:
    """Run one evaluation end to end; every failure ends as a failed evaluation."""
    evaluation = services.evaluation_claim(evaluation_id=evaluation_id)
    if evaluation is None:
        log.info("evaluation %s: nothing to do (already terminal)", evaluation_id)
        return
    job_dir = (
        Path(settings.GLEW_JOBS_DIR) / f"eval-{evaluation.pk}-{evaluation.attempts}"
    )
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    heartbeat = Heartbeat(evaluation.pk)
    heartbeat.start()
    try:
        spec = registry.get_task(evaluation.task.name)
        _prepare_job(evaluation=evaluation, spec=spec, job_dir=job_dir)
        outcome = _run_sandbox(evaluation=evaluation, job_dir=job_dir, tail=tail)
        if outcome is not None:
            code, message = outcome
            if (
                code == "execute.out_of_memory"
                and services.evaluation_retry_smaller_batch(evaluation_id=evaluation.pk)
            ):
                log.info(
                    "evaluation %s: out of memory, retrying at half batch",
                    evaluation.pk,
                )
                return
            services.evaluation_fail(
                evaluation_id=evaluation.pk,
                code=code,
                message=message,
                log_tail="\n".join(tail),
            )
            return
        if (
            services.evaluation_move(evaluation_id=evaluation.pk, to=Status.SCORING)
            is None
        ):
            log.info("evaluation %s was cancelled while running", evaluation.pk)
            return
        _score_and_publish(evaluation=evaluation, spec=spec, job_dir=job_dir, tail=tail)
    except GlewError as error:
        log.warning(
            "evaluation %s failed: %s %s", evaluation.pk, error.code, error.message
        )
        services.evaluation_fail(
            evaluation_id=evaluation.pk,
            code=error.code,
            message=error.message,
            log_tail="\n".join(tail),
        )
    except (OperationalError, InterfaceError):
        # The database went away: not the submission's fault. Celery retries the
        # job with backoff; the redelivered job takes the evaluation over.
        log.warning("evaluation %s: database unavailable, will retry", evaluation.pk)
        raise
    except Exception as error:  # noqa: BLE001 - any crash must end as a failed row
        log.exception("evaluation %s crashed in the worker", evaluation.pk)
        services.evaluation_fail(
            evaluation_id=evaluation.pk,
            code="platform.worker_crashed",
            message=f"The platform failed while running this evaluation "
            f"({type(error).__name__}: {error}). It is our fault; an admin can "
            "re-run it.",
            log_tail="\n".join(tail),
        )
    finally:
        heartbeat.stop()
        remove_tree(job_dir)
        _settle_companions(evaluation_id=evaluation.pk)


class Heartbeat(threading.Thread):
    """Tells the database, every few seconds, that this worker still runs the job.

    A job delivered twice (broker redelivery, requeue sweep) then waits instead of
    running the same evaluation beside it; once this worker dies the beats stop and
    the redelivered job takes over.
    """

    def __init__(self, evaluation_id: int) -> None:
        super().__init__(name=f"heartbeat-{evaluation_id}", daemon=True)
        self.evaluation_id = evaluation_id
        self.stopped = threading.Event()

    def run(self) -> None:
        from django.db import connection

        interval = max(1.0, settings.GLEW_HEARTBEAT_STALE_S / 4)
        try:
            while not self.stopped.wait(interval):
                try:
                    services.evaluation_heartbeat(evaluation_id=self.evaluation_id)
                except Exception:  # noqa: BLE001 - a database blip skips one beat
                    log.warning("heartbeat of evaluation %s failed", self.evaluation_id)
        finally:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=10)
        try:
            services.evaluation_heartbeat(evaluation_id=self.evaluation_id, alive=False)
        except Exception:  # noqa: BLE001 - the stale beat ages out by itself
            log.warning("could not release evaluation %s", self.evaluation_id)


def _settle_companions(*, evaluation_id: int) -> None:
    """Companions of a failed or cancelled evaluation end the same way, with reason."""
    main = Evaluation.objects.select_related("task").get(pk=evaluation_id)
    if main.status not in (Status.FAILED, Status.CANCELLED):
        return
    for companion in main.companions.exclude(
        status__in=[Status.FINISHED, Status.FAILED, Status.CANCELLED]
    ):
        if main.status == Status.CANCELLED:
            services.evaluation_move(evaluation_id=companion.pk, to=Status.CANCELLED)
        else:
            services.evaluation_fail(
                evaluation_id=companion.pk,
                code="evaluation.model_failed",
                message=f"It is predicted with the {main.task.name} model, whose "
                f"evaluation failed: {main.error_message}",
            )


# --- preparing the job folder -------------------------------------------------------


def _prepare_job(*, evaluation: Evaluation, spec: TaskSpec, job_dir: Path) -> None:
    """Lay out model (read-only), data without hidden labels, spec and out/."""
    remove_tree(job_dir)
    (job_dir / "data").mkdir(parents=True)
    (job_dir / "out").mkdir()
    _materialize_model(evaluation=evaluation, dest=job_dir / "model")
    version = evaluation.dataset_version
    data_paths: dict[str, object] = {"predict": {}}
    if spec.train_split:
        rows = dataset_rows(version, spec.train_split)
        _write_jsonl(job_dir / "data" / "train.jsonl", rows)
        data_paths["train"] = "/job/data/train.jsonl"
    for target, _target_spec, split, name in predicted_splits(evaluation):
        rows = [
            _without_label(row) for row in dataset_rows(target.dataset_version, split)
        ]
        _write_jsonl(job_dir / "data" / f"{name}.jsonl", rows)
        data_paths["predict"][name] = f"/job/data/{name}.jsonl"
    recipe_used = job_recipe(evaluation)
    recipe = recipe_used.to_dict()
    profile = numerics.requested_profile(recipe_used.precision)
    job_spec = {
        "spec_version": 1,
        "evaluation_id": evaluation.pk,
        "task": {
            "name": spec.name,
            "type": spec.type,
            "text_fields": list(spec.text_fields),
            "labels": list(spec.labels) if spec.labels else None,
            "num_labels": spec.num_labels,
            "multi_label": spec.type == "multilabel_classification",
            "vocabulary": spec.vocabulary,
            "two_tower": spec.two_tower,
            "long_context": bool(spec.long_context),
            # For the record: the recipe object already carries these numbers.
            "fixed_recipe": dict(spec.fixed_recipe) or None,
        },
        "recipe": recipe,
        "seed": evaluation.seed,
        "model_dir": "/job/model",
        "data": data_paths,
        "output_dir": "/job/out",
        # How the job computes (kernels.numerics); pinned CPU profiles fix their
        # own thread count, so the same recipe gives the same bits everywhere.
        "numerics": profile,
        "threads": numerics.threads_for(profile, settings.GLEW_SANDBOX_THREADS),
    }
    (job_dir / "spec.json").write_text(json.dumps(job_spec, indent=2))


def job_recipe(evaluation: Evaluation):
    """The recipe a job runs: the evaluation's, at half the batch with twice the
    gradient accumulation after an out-of-memory failure (same effective batch)."""
    recipe = get_recipe(
        evaluation.recipe_name,
        task_name=evaluation.task.name,
        task_type=evaluation.task.task_type,
    )
    if evaluation.gradient_accumulation_steps > 1:
        recipe = recipe.with_half_batch() or recipe
    return recipe


def predicted_splits(
    evaluation: Evaluation,
) -> list[tuple[Evaluation, TaskSpec, str, str]]:
    """What the job predicts: ``(evaluation, spec, split, name in the job)``.

    The evaluation's own eval and test splits, then those of its companions
    (evaluation-only tasks such as AdvGLUE that this fine-tuned model answers), whose
    files are named ``<suite>-<task>__<split>`` so they cannot collide.
    """
    spec = registry.get_task(evaluation.task.name)
    out = [
        (evaluation, spec, split, split)
        for split in (*spec.eval_splits, *spec.test_splits)
        if split in evaluation.dataset_version.files
    ]
    companions = evaluation.companions.select_related("task", "dataset_version")
    for companion in companions.order_by("task__name"):
        companion_spec = registry.get_task(companion.task.name)
        prefix = re.sub(r"[^A-Za-z0-9_-]", "-", companion_spec.name.replace("/", "-"))
        out.extend(
            (companion, companion_spec, split, f"{prefix}__{split}")
            for split in (*companion_spec.eval_splits, *companion_spec.test_splits)
            if split in companion.dataset_version.files
        )
    return out


def _without_label(row: dict) -> dict:
    return {key: value for key, value in row.items() if key != "label"}


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")


def _materialize_model(*, evaluation: Evaluation, dest: Path) -> None:
    """Fetch the archive through the storage API, check it again and extract it.

    Extracted models are cached per content hash on this worker, so the seeds of one
    submission unpack its archive once. The archive is re-inspected: storage is not
    trusted more than the upload was.
    """
    archive = evaluation.submission.archive
    cache = Path(settings.GLEW_JOBS_DIR) / "models" / archive.sha256
    if not (cache / ".complete").exists():
        cache.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(
            tempfile.mkdtemp(prefix=f"{archive.sha256[:12]}-", dir=cache.parent)
        )
        try:
            zip_path = staging / "archive.zip"
            with (
                default_storage.open(archive.storage_name, "rb") as src,
                zip_path.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst, 1024 * 1024)
            info = inspect_archive(zip_path, ArchiveLimits())
            model_dir = extract_archive(zip_path, info, staging / "model")
            zip_path.unlink()
            (model_dir / ".complete").write_text(archive.sha256)
            if not (cache / ".complete").exists():
                remove_tree(cache)
                os.replace(model_dir, cache)
        finally:
            remove_tree(staging)
    shutil.copytree(
        cache, dest, copy_function=os.link, ignore=shutil.ignore_patterns(".complete")
    )


# --- running the sandbox --------------------------------------------------------------


def _run_sandbox(
    *, evaluation: Evaluation, job_dir: Path, tail: deque[str]
) -> tuple[str, str] | None:
    """Run the in-sandbox program; return ``(code, reason)`` on failure, else None."""
    if not settings.GLEW_ALLOW_UNSANDBOXED:
        check_sandbox_available()
    last_report = [0.0]
    progress: dict = {}

    def on_line(line: str) -> None:
        tail.append(line[:2000])
        if line.startswith(PROGRESS_PREFIX):
            try:
                progress.update(json.loads(line[len(PROGRESS_PREFIX) :]))
            except json.JSONDecodeError:
                pass
        now = time.monotonic()
        if now - last_report[0] >= PROGRESS_INTERVAL_S:
            last_report[0] = now
            try:
                services.evaluation_report_progress(
                    evaluation_id=evaluation.pk,
                    progress=dict(progress),
                    log_tail="\n".join(tail),
                )
            except (OperationalError, InterfaceError):
                # Progress is best effort: a database blip must not kill the run.
                log.warning("evaluation %s: progress not saved", evaluation.pk)
                connection.close()

    limit = settings.GLEW_TIME_LIMITS.get(evaluation.recipe_name, 3600)
    limits = SandboxLimits(
        wall_seconds=limit,
        cpu_seconds=limit * max(1, settings.GLEW_SANDBOX_THREADS),
        memory_bytes=settings.GLEW_SANDBOX_MEMORY_BYTES,
        max_file_bytes=settings.GLEW_SANDBOX_MAX_FILE_BYTES,
        max_scratch_bytes=settings.GLEW_SANDBOX_SCRATCH_BYTES,
    )
    log_path = job_dir.parent / f"{job_dir.name}.log"
    result = run_in_sandbox(
        job_dir=job_dir,
        argv=[sandbox_python(), "-s", "-P", "-m", "runners.execute", "/job/spec.json"],
        limits=limits,
        log_path=log_path,
        on_line=on_line,
        unsandboxed=settings.GLEW_ALLOW_UNSANDBOXED,
    )
    services.evaluation_report_progress(
        evaluation_id=evaluation.pk, progress=dict(progress), log_tail="\n".join(tail)
    )
    _store_log(evaluation=evaluation, log_path=log_path)
    if result.returncode == 0 and not result.timed_out:
        return None
    reason = result.reason or f"the program exited with status {result.returncode}"
    return result.reason_code or "sandbox.failed", reason


def _store_log(*, evaluation: Evaluation, log_path: Path) -> None:
    if not log_path.exists():
        return
    name = f"logs/eval-{evaluation.pk}-attempt-{evaluation.attempts}.log"
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(log_path.read_bytes()))
    log_path.unlink(missing_ok=True)


# --- scoring, outside the sandbox -----------------------------------------------------


def _score_and_publish(
    *, evaluation: Evaluation, spec: TaskSpec, job_dir: Path, tail: deque[str]
) -> None:
    """Score the evaluation and its companions on their hidden labels; store Results."""
    measurements = _read_measurements(job_dir)
    by_evaluation: dict[int, list[tuple[str, str]]] = {}
    targets: dict[int, tuple[Evaluation, TaskSpec]] = {}
    for target, target_spec, split, name in predicted_splits(evaluation):
        by_evaluation.setdefault(target.pk, []).append((split, name))
        targets[target.pk] = (target, target_spec)
    for target_id, splits in by_evaluation.items():
        target, target_spec = targets[target_id]
        if target.pk != evaluation.pk:
            # A companion has no job of its own: it moves through the same states.
            if services.evaluation_claim(evaluation_id=target.pk) is None:
                continue
            services.evaluation_move(evaluation_id=target.pk, to=Status.SCORING)
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
            services.evaluation_fail(
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
            job_dir / "out" / "predictions" / f"{name}.jsonl", rows=rows, spec=spec
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
        references = {
            split: [row["label"] for row in dataset_rows(version, split)]
            for split in scored
        }
        scores = scoring.score_predictions(
            spec, {split: predictions[split] for split in scored}, references
        )
        task_score = scoring.task_score(spec, scores)
    services.evaluation_finish(
        evaluation_id=evaluation.pk,
        scores=scores,
        task_score=task_score,
        numerics=numerics_from(measurements, evaluation=evaluation),
        efficiency=efficiency_from(measurements),
        manifest=manifest_for(evaluation=evaluation, measurements=measurements),
        predictions=stored,
        log_tail="\n".join(tail),
    )


def read_predictions(path: Path, *, rows: list[dict], spec: TaskSpec) -> list:
    """Read and check what the sandbox wrote: one valid prediction per row, in order.

    The sandbox runs untrusted code, so its output is validated like an upload.
    """
    if not path.exists():
        raise UserError(
            "scoring.missing_predictions",
            f"The run wrote no predictions for the {path.stem} split.",
        )
    out: list = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                idx, value = item["idx"], item["prediction"]
            except (json.JSONDecodeError, KeyError, TypeError):
                raise UserError(
                    "scoring.bad_predictions",
                    f"Line {number} of the {path.stem} predictions is not "
                    '{"idx": ..., "prediction": ...}.',
                ) from None
            if number > len(rows) or rows[number - 1]["idx"] != idx:
                raise UserError(
                    "scoring.bad_predictions",
                    f"Line {number} of the {path.stem} predictions is for idx {idx}, "
                    "not the row in that position.",
                )
            out.append(
                _check_value(value, spec=spec, where=f"{path.stem} line {number}")
            )
    if len(out) != len(rows):
        raise UserError(
            "scoring.bad_predictions",
            f"The {path.stem} predictions have {len(out)} rows; the split has "
            f"{len(rows)}.",
        )
    return out


def _check_value(
    value: object, *, spec: TaskSpec, where: str
) -> int | float | list[int]:
    if spec.type == "multilabel_classification":
        if not isinstance(value, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 <= i < spec.num_labels
            for i in value
        ):
            raise UserError(
                "scoring.bad_predictions",
                f"The prediction at {where} is not a list of label indices below "
                f"{spec.num_labels}.",
            )
        if len(set(value)) != len(value):
            raise UserError(
                "scoring.bad_predictions",
                f"The prediction at {where} lists a label twice.",
            )
        return sorted(value)
    if spec.type == "regression":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise UserError(
                "scoring.bad_predictions",
                f"The prediction at {where} is not a finite number.",
            )
        return float(value)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value < spec.num_labels
    ):
        raise UserError(
            "scoring.bad_predictions",
            f"The prediction at {where} is not a label index below {spec.num_labels}.",
        )
    return value


def _read_measurements(job_dir: Path) -> dict:
    path = job_dir / "out" / "measurements.json"
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


EFFICIENCY_KEYS = (
    "params",
    "trainable_params",
    "flops_per_example",
    "train_seconds",
    "train_examples",
    "train_examples_per_s",
    "infer_examples_per_s",
    "infer_tokens_per_s",
    "latency_p50_ms",
    "latency_p95_ms",
    "peak_memory_bytes",
    "energy_j",
    "device",
    "precision_used",
    "numerics",
    "padding_waste",
    "execution_path",
    "batch_invariant",
)


def efficiency_from(measurements: dict) -> dict:
    """The efficiency figures of a Result: measured keys, None where not measured."""
    return {key: measurements.get(key) for key in EFFICIENCY_KEYS}


def manifest_for(*, evaluation: Evaluation, measurements: dict) -> dict:
    """Everything needed to reproduce this number, stored beside it."""
    recipe = job_recipe(evaluation)
    return {
        "evaluation_id": evaluation.pk,
        "model_sha256": evaluation.submission.archive.sha256,
        "dataset_sha256": evaluation.dataset_version.sha256,
        "task": evaluation.task.name,
        "task_version": evaluation.task.version,
        "recipe": {
            "name": recipe.name,
            "version": recipe.version,
            "hyperparameters": recipe.to_dict(),
        },
        "seed": evaluation.seed,
        "versions": measurements.get("versions", {}),
        "hardware": measurements.get("hardware", {}),
        "platform_commit": platform_commit(),
        "determinism": measurements.get("determinism"),
        "batch_invariant": measurements.get("batch_invariant"),
        "batch_invariance": measurements.get("batch_invariance"),
        "execution_path": measurements.get("execution_path"),
        "precision": measurements.get("precision_used"),
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
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def remove_tree(path: Path) -> None:
    """Remove a job folder whose files were made read-only for the sandbox."""
    if not path.exists():
        return
    for child in path.rglob("*"):
        try:
            if not child.is_symlink():
                child.chmod(0o700 if child.is_dir() else 0o600)
        except OSError:
            pass
    shutil.rmtree(path, ignore_errors=True)
