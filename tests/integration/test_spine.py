"""The spine end to end: import real-layout data, upload a model through the API, let a
real Celery worker fine-tune it in the real bubblewrap sandbox, see it ranked."""

import csv
import io
import json
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from sklearn.metrics import accuracy_score

from leaderboard.submissions.models import Evaluation, Result
from tests.integration.flow import upload, wait_for_submission

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_uploaded_model_is_fine_tuned_scored_and_ranked(
    celery_worker, api, sst2_folder, tiny_model_zip
):
    call_command("import_task", "glue/sst2", str(sst2_folder))

    submission_id = upload(
        api,
        tiny_model_zip,
        name="tiny-bert",
        tasks="glue/sst2",
        recipe="smoke",
        visibility="public",
    )

    body = wait_for_submission(api, submission_id)
    assert body["status"] == "finished", body
    (evaluation,) = body["evaluations"]
    assert evaluation["status"] == "finished", evaluation
    assert evaluation["efficiency"]["params"] > 0
    assert evaluation["efficiency"]["train_examples_per_s"] > 0
    # Where the time went: the worker's steps and the program's stages.
    breakdown = evaluation["efficiency"]["time_breakdown"]
    assert {"prepare", "sandbox_start", "imports", "train", "predict"} <= set(
        breakdown["seconds"]
    )
    assert 0 < breakdown["overhead_share"] < 1
    # The sentence vector the classifier read, recorded with the number.
    assert evaluation["manifest"]["pooling"]["mode"] == "head"
    assert evaluation["manifest"]["model_sha256"]
    assert evaluation["manifest"]["sandbox"] == "bubblewrap"

    # An independent computation on the same predictions gives the same score.
    result = Result.objects.get(evaluation_id=evaluation["id"])
    with default_storage.open(result.predictions["validation"]) as handle:
        predicted = [json.loads(line)["prediction"] for line in handle]
    with (sst2_folder / "dev.tsv").open() as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    expected = accuracy_score([int(r["label"]) for r in rows], predicted)
    assert evaluation["scores"]["accuracy"] == pytest.approx(expected, abs=1e-12)

    board = api.get("/api/v1/leaderboards/glue").json()
    (row,) = board["rows"]
    assert row["submission"] == submission_id
    assert row["rank"] == 1
    assert row["tasks"]["glue/sst2"] == pytest.approx(expected, abs=1e-12)
    assert row["score"] == pytest.approx(expected, abs=1e-12)

    page = api.get(f"/submissions/{submission_id}/")
    assert page.status_code == 200
    assert b"finished" in page.content


def test_a_model_that_cannot_load_fails_in_plain_words(celery_worker, api, sst2_folder):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # A valid config, no weights and a tokenizer file transformers cannot
        # read: it passes the upload checks and fails in the sandbox.
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
    buffer.seek(0)
    buffer.name = "broken.zip"
    response = api.post(
        "/api/v1/submissions",
        {"archive": buffer, "name": "broken", "tasks": "glue/sst2", "recipe": "smoke"},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    body = wait_for_submission(api, response.json()["id"])
    assert body["status"] == "failed"
    (evaluation,) = body["evaluations"]
    assert evaluation["error"]["code"].startswith("execute.")
    assert evaluation["error"]["message"]
    row = Evaluation.objects.get(pk=evaluation["id"])
    assert row.log_tail, "the log tail is kept for the submission page"
    assert not Result.objects.filter(evaluation=row).exists()
