"""Evaluation-only tasks (AdvGLUE) are predicted by the model fine-tuned for their
GLUE task, in the same sandbox job, and scored on their own hidden labels."""

import json

import pytest
from django.core.management import call_command

from leaderboard.standings.robustness import robustness_gaps
from leaderboard.submissions import intake
from leaderboard.submissions.models import Evaluation
from leaderboard.submissions.status import Status
from tests.conftest import write_advglue_folder
from tests.integration.flow import upload, wait_for_submission

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_advglue_is_scored_with_the_glue_model_in_the_same_job(
    celery_worker, api, sst2_folder, tiny_model_zip, tmp_path, django_user_model
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    call_command(
        "import_task", "advglue/sst2", str(write_advglue_folder(tmp_path / "adv"))
    )

    submission_id = upload(
        api, tiny_model_zip, name="robust?", suites="advglue", recipe="smoke"
    )
    body = wait_for_submission(api, submission_id)
    by_task = {e["task"]: e for e in body["evaluations"]}
    assert set(by_task) == {"glue/sst2", "advglue/sst2"}
    assert all(e["status"] == "finished" for e in by_task.values()), body
    adv = Evaluation.objects.get(pk=by_task["advglue/sst2"]["id"])
    assert adv.predicted_by_id == by_task["glue/sst2"]["id"]
    assert 0.0 <= adv.result.scores["accuracy"] <= 1.0

    gaps = robustness_gaps(adv.submission)
    (gap,) = gaps.values()
    assert gap["gap"] == pytest.approx(gap["clean"] - gap["adversarial"])
    assert body["robustness"] == {"advglue/sst2@seed0": gap}
    board = api.get("/api/v1/leaderboards/advglue").json()
    assert board["rows"][0]["tasks"]["advglue/sst2"] == adv.result.task_score


def test_a_companion_fails_with_its_model(
    celery_worker, sst2_folder, tmp_path, django_user_model
):
    import io
    import zipfile

    call_command("import_task", "glue/sst2", str(sst2_folder))
    call_command(
        "import_task", "advglue/sst2", str(write_advglue_folder(tmp_path / "adv"))
    )
    owner = django_user_model.objects.create_user("zed", password="pw-zed-12345")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps({"model_type": "bert"}))
        # Passes the upload checks, but transformers cannot read it.
        archive.writestr("tokenizer.json", "not a tokenizer")
    buffer.seek(0)
    submission = intake.submission_create(
        owner=owner,
        name="broken",
        archive_stream=buffer,
        recipe="smoke",
        tasks=["glue/sst2"],
    )
    import time

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        statuses = set(submission.evaluations.values_list("status", flat=True))
        if statuses <= {Status.FAILED, Status.FINISHED, Status.CANCELLED}:
            break
        time.sleep(0.5)
    adv = submission.evaluations.get(task__name="advglue/sst2")
    assert adv.status == Status.FAILED
    assert adv.error_code == "evaluation.model_failed"
    assert "glue/sst2" in adv.error_message
