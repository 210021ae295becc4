"""What a job gets from the worker, and a worker outliving a hostile job."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from leaderboard.submissions import intake
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.pipeline.folder import job_folder_prepare
from tasks import registry
from tests.integration.flow import wait_for_submission
from tests.security.conftest import post_archive


@pytest.mark.django_db
def test_prepared_job_holds_no_evaluation_labels(
    uploader, sst2_imported, tiny_model_zip, tmp_path: Path, no_enqueue
):
    with tiny_model_zip.open("rb") as stream:
        submission = intake.submission_create(
            owner=uploader,
            name="labels",
            archive_stream=stream,
            recipe="smoke",
            tasks=["glue/sst2"],
        )
    evaluation = Evaluation.objects.get(submission=submission)
    spec = registry.get_task(evaluation.task.name)
    job = tmp_path / "job"
    job_folder_prepare(evaluation=evaluation, spec=spec, job_dir=job)

    job_spec = json.loads((job / "spec.json").read_text())
    predicted = job_spec["data"]["predict"]
    assert set(predicted) >= {"validation", "test"}
    for name in predicted:
        rows = [
            json.loads(line)
            for line in (job / "data" / f"{name}.jsonl").read_text().splitlines()
        ]
        assert rows, name
        assert all("label" not in row for row in rows), name
    train = (job / "data" / "train.jsonl").read_text().splitlines()
    assert all("label" in json.loads(line) for line in train)
    assert "label" not in json.dumps(job_spec["data"])
    assert sorted(p.name for p in (job / "data").iterdir()) == sorted(
        ["train.jsonl", *(f"{name}.jsonl" for name in predicted)]
    )


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(900)
def test_a_failing_evaluation_does_not_stop_the_worker_from_finishing_the_next(
    celery_worker, token_client, sst2_imported, tiny_model_zip
):
    broken = io.BytesIO()
    with zipfile.ZipFile(broken, "w") as archive:
        # Passes every upload check but cannot load: an unreadable tokenizer.
        archive.writestr(
            "config.json",
            json.dumps(
                {
                    "model_type": "bert",
                    "hidden_size": 32,
                    "num_hidden_layers": 1,
                    "num_attention_heads": 2,
                    "intermediate_size": 64,
                    "vocab_size": 100,
                }
            ),
        )
        archive.writestr("tokenizer.json", "not a tokenizer")
    first = post_archive(token_client, broken.getvalue(), "broken.zip")
    second = post_archive(token_client, tiny_model_zip.read_bytes())
    assert first.status_code == second.status_code == 201, (first.content, second)

    failed = wait_for_submission(token_client, first.json()["id"], timeout=400)
    assert failed["status"] == "failed"
    (evaluation,) = failed["evaluations"]
    assert evaluation["error"]["code"]
    assert len(evaluation["error"]["message"]) > 10

    finished = wait_for_submission(token_client, second.json()["id"], timeout=400)
    assert finished["status"] == "finished", finished
    assert celery_worker.poll() is None, "the worker must still be running"
