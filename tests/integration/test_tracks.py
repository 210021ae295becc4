"""Fine-tuning method tracks end to end: a tiny model uploaded on the full, LoRA and
masked-LM-head tracks is fine-tuned three times by a real worker in the real
sandbox and gets a row on each track's board, never one that mixes them."""

import pytest
from django.core.management import call_command

from leaderboard.submissions.models import LeaderboardEntry
from tests.integration.flow import upload, wait_for_submission

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_tiny_model_gets_rows_on_the_full_lora_and_mlm_tracks(
    celery_worker, api, sst2_folder, tiny_model_zip
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    submission_id = upload(
        api,
        tiny_model_zip,
        name="tiny-bert",
        tasks="glue/sst2",
        recipe="smoke",
        tracks="full,lora,mlm",
    )
    body = wait_for_submission(api, submission_id)
    assert body["status"] == "finished", body
    runs = {e["track"]: e for e in body["evaluations"]}
    assert set(runs) == {"full", "lora", "mlm"}
    assert all(e["status"] == "finished" for e in runs.values()), runs
    full, lora, mlm = runs["full"], runs["lora"], runs["mlm"]
    assert lora["manifest"]["sandbox"] == "bubblewrap"
    assert full["recipe"]["version"] == "smoke@4"
    assert lora["recipe"]["version"] == "smoke@4+lora@1"
    # What each trained, in the manifest and the efficiency figures.
    assert full["manifest"]["method"] == {
        "name": "full",
        "trainable_params": full["efficiency"]["params"],
    }
    method = lora["manifest"]["method"]
    assert method["name"] == "lora" and method["target_modules"] == ["query", "value"]
    assert method["execution"] == lora["manifest"]["execution_path"] == "padded"
    assert full["manifest"]["execution_path"] == "packed_sdpa"
    trainable = lora["efficiency"]["trainable_params"]
    assert 0 < trainable < full["efficiency"]["trainable_params"] / 5
    # The masked-LM head reads the catalogue's label words at the prompt's mask.
    assert mlm["recipe"]["version"] == "smoke@4+mlm@1"
    method = mlm["manifest"]["method"]
    assert method["name"] == "mlm" and method["head"] == "new"
    assert method["template"] == "{sentence} It was {mask}."
    assert method["label_tokens"] == ["terrible", "great"]
    assert mlm["manifest"]["execution_path"] == "padded"

    entries = LeaderboardEntry.objects.filter(submission_id=submission_id)
    assert sorted(e.track for e in entries) == ["full", "lora", "mlm"]
    boards = {
        track: api.get(f"/api/v1/leaderboards/glue?track={track}").json()
        for track in ("full", "lora", "mlm")
    }
    for track, board in boards.items():
        (row,) = board["rows"]
        assert row["track"] == track and row["score"] is not None
    assert boards["lora"]["rows"][0]["efficiency"]["trainable_params"] == trainable
    assert boards["lora"]["rows"][0]["score"] == pytest.approx(lora["task_score"])
    assert boards["full"]["rows"][0]["score"] == pytest.approx(full["task_score"])
    assert boards["mlm"]["rows"][0]["score"] == pytest.approx(mlm["task_score"])
