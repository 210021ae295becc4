"""Prepare a job folder: the model (checked and read-only), data without hidden
labels, the job spec (runners' contract) and an empty out/ folder.

The layout is the contract of ``docs/interfaces.md`` ("The job folder and spec");
the sandbox shows it at ``/job``. Labels of scored and test splits never enter it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage

from kernels import numerics
from leaderboard.catalogue.selectors import dataset_rows
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.recipes import job_recipe
from runners.archives import ArchiveLimits, extract_archive, inspect_archive
from runners.contract import (
    DATA_DIR,
    MODEL_DIR,
    OUT_DIR,
    SPEC_FILE,
    JobData,
    JobSpec,
    TaskInputs,
    data_file,
    inside_job,
)
from tasks import registry
from tasks.specs import TaskSpec


def job_folder_prepare(
    *, evaluation: Evaluation, spec: TaskSpec, job_dir: Path
) -> None:
    """Lay out model (read-only), data without hidden labels, spec and out/."""
    remove_tree(job_dir)
    (job_dir / DATA_DIR).mkdir(parents=True)
    (job_dir / OUT_DIR).mkdir()
    _materialize_model(evaluation=evaluation, dest=job_dir / MODEL_DIR)
    train = None
    if spec.train_split:
        rows = dataset_rows(evaluation.dataset_version, spec.train_split)
        _write_jsonl(job_dir / DATA_DIR / "train.jsonl", rows)
        train = data_file("train")
    predict = {}
    for target, _target_spec, split, name in predicted_splits(evaluation):
        rows = [
            _without_label(row) for row in dataset_rows(target.dataset_version, split)
        ]
        _write_jsonl(job_dir / DATA_DIR / f"{name}.jsonl", rows)
        predict[name] = data_file(name)
    recipe = job_recipe(evaluation)
    # How the job computes (kernels.numerics); pinned CPU profiles fix their own
    # thread count, so the same recipe gives the same bits everywhere.
    profile = numerics.requested_profile(recipe.precision)
    JobSpec(
        evaluation_id=evaluation.pk,
        task=TaskInputs.from_task(spec),
        recipe=recipe.to_dict(),
        seed=evaluation.seed,
        model_dir=inside_job(MODEL_DIR),
        data=JobData(predict=predict, train=train),
        output_dir=inside_job(OUT_DIR),
        numerics=profile,
        threads=numerics.threads_for(profile, settings.GLEW_SANDBOX_THREADS),
    ).write(job_dir / SPEC_FILE)


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
