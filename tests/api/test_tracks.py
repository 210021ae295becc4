"""Fine-tuning methods are tracks: a row per (model, track), never mixed, one board
per track (``?track=``), and the submission page compares a model's tracks."""

import io

import pytest
from django.core.management import call_command

from leaderboard.submissions.models import LeaderboardEntry, Submission
from tasks.errors import UserError
from tests.api.conftest import client_as
from tests.factories import finish_evaluation, make_submission, model_variant
from tests.fixtures.tiny_model import FIXTURE_TEXTS

pytestmark = pytest.mark.django_db


def test_each_track_has_its_own_evaluations_and_recipe_version(two_tracks):
    both, full_only = two_tracks
    assert both.tracks == ["full", "lora"]
    assert full_only.tracks == ["full"]
    versions = {e.method: e.recipe_version for e in both.evaluations.all()}
    assert versions == {"full": "smoke@4", "lora": "smoke@4+lora@1"}
    manifest = both.evaluations.get(method="lora").result.manifest
    assert manifest["model_sha256"] == both.archive.sha256


def test_rows_are_per_model_and_track_and_never_mixed(two_tracks):
    both, _ = two_tracks
    entries = LeaderboardEntry.objects.filter(submission=both)
    assert {e.track: e.score for e in entries} == {
        "full": pytest.approx(0.8),
        "lora": pytest.approx(0.7),
    }
    lora = entries.get(track="lora")
    assert lora.efficiency["trainable_params"] == 1_000
    assert lora.efficiency["train_seconds"] == pytest.approx(4.0)
    assert lora.efficiency["peak_memory_bytes"] == 200_000_000


def test_the_api_shows_one_track_at_a_time(two_tracks):
    body = client_as(None).get("/api/v1/leaderboards/glue").json()
    assert body["track"] == "full"
    assert body["tracks"] == ["full", "lora", "bitfit", "mlm"]
    assert [(r["name"], r["track"]) for r in body["rows"]] == [
        ("full-only", "full"),
        ("both", "full"),
    ]
    assert body["rows"][1]["score"] == pytest.approx(0.8)
    lora = client_as(None).get("/api/v1/leaderboards/glue?track=lora").json()
    ((row),) = lora["rows"]
    assert (row["name"], row["track"], row["rank"]) == ("both", "lora", 1)
    assert row["score"] == pytest.approx(0.7)
    assert row["efficiency"]["trainable_params"] == 1_000
    assert row["efficiency"]["train_seconds"] == pytest.approx(4.0)
    assert row["efficiency"]["peak_memory_bytes"] == 200_000_000
    bitfit = client_as(None).get("/api/v1/leaderboards/glue?track=bitfit").json()
    assert bitfit["rows"] == []
    # An unknown track shows full fine-tuning rather than an empty board.
    odd = client_as(None).get("/api/v1/leaderboards/glue?track=prompting").json()
    assert odd["track"] == "full"


def test_suite_page_selects_a_track_and_submission_page_compares_them(two_tracks):
    both, _ = two_tracks
    page = client_as(None).get("/suites/glue/?track=lora").content.decode()
    assert 'name="track"' in page
    assert '<option value="lora" selected>' in page
    assert "both" in page and "full-only" not in page
    mine = client_as(None).get(f"/submissions/{both.pk}/").content.decode()
    assert 'data-track="full"' in mine and 'data-track="lora"' in mine
    assert "Trainable parameters" in mine
    scores = client_as(None).get(f"/api/v1/submissions/{both.pk}").json()
    tracks = {s["track"]: s for s in scores["suite_scores"]}
    assert tracks["lora"]["trainable_params"] == 1_000
    assert tracks["full"]["score"] == pytest.approx(0.8)


def test_an_unknown_track_is_refused_at_upload(users, sst2_imported, tiny_model_zip):
    with pytest.raises(UserError) as error:
        make_submission(
            users["owner"], model_variant(tiny_model_zip, "odd"), tracks=("prompt",)
        )
    assert error.value.code == "submission.unknown_track"


def test_the_api_upload_chooses_tracks_and_defaults_to_full(
    users, sst2_imported, tiny_model_zip, no_enqueue
):
    client = client_as(users["owner"])
    created = []
    for name, tracks in (("chosen", "bitfit, full"), ("default", None)):
        fields = {
            "archive": _zip(tiny_model_zip, name),
            "name": name,
            "tasks": "glue/sst2",
            "recipe": "smoke",
        }
        if tracks is not None:
            fields["tracks"] = tracks
        response = client.post("/api/v1/submissions", fields, format="multipart")
        assert response.status_code == 201, response.content
        created.append(client.get(f"/api/v1/submissions/{response.json()['id']}"))
    chosen, default = (r.json() for r in created)
    assert chosen["tracks"] == ["full", "bitfit"]
    assert sorted(e["track"] for e in chosen["evaluations"]) == ["bitfit", "full"]
    assert default["tracks"] == ["full"]
    assert [e["track"] for e in default["evaluations"]] == ["full"]
    refused = client.post(
        "/api/v1/submissions",
        {
            "archive": _zip(tiny_model_zip, "odd"),
            "name": "odd",
            "tasks": "glue/sst2",
            "tracks": "full,adapters",
        },
        format="multipart",
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "submission.unknown_track"


def test_the_upload_form_offers_tracks_with_full_ticked(
    users, sst2_imported, tiny_model_zip, no_enqueue
):
    client = client_as(users["owner"])
    page = client.get("/submit/").content.decode()
    assert 'name="tracks" value="full"' in page and 'value="lora"' in page
    response = client.post(
        "/submit/",
        {
            "archive": _zip(tiny_model_zip, "form"),
            "name": "form",
            "tasks": "glue/sst2",
            "recipe": "smoke",
            "visibility": "public",
            "tracks": ["full", "lora"],
        },
    )
    assert response.status_code == 302
    submission = Submission.objects.get(name="form")
    assert submission.tracks == ["full", "lora"]
    assert {e.method for e in submission.evaluations.all()} == {"full", "lora"}


def _zip(tiny_model_zip, tag: str):
    stream = io.BytesIO(model_variant(tiny_model_zip, tag))
    stream.name = f"{tag}.zip"
    return stream


@pytest.fixture
def stsb_imported(tmp_path):
    """A tiny STS-B in the GLUE release layout (a regression: no prompt)."""
    folder = tmp_path / "STS-B"
    folder.mkdir()
    head = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\t"
    for name, rows in (("train.tsv", range(0, 40)), ("dev.tsv", range(40, 50))):
        lines = [head + "sentence1\tsentence2\tscore"]
        lines += [
            f"{i}\tmain\tf\t2012\t{i}\tx\ty\t{FIXTURE_TEXTS[i]}\t"
            f"{FIXTURE_TEXTS[i + 1]}\t{i % 5}.0"
            for i in rows
        ]
        (folder / name).write_text("\n".join(lines) + "\n")
    test = [head + "sentence1\tsentence2"]
    test += [f"{i}\tmain\tf\t2012\t{i}\tx\ty\ta film\tthe story" for i in range(3)]
    (folder / "test.tsv").write_text("\n".join(test) + "\n")
    call_command("import_task", "glue/stsb", str(folder))


@pytest.fixture
def full_and_mlm(users, sst2_imported, stsb_imported, tiny_model_zip, no_enqueue):
    """One model on SST-2 and STS-B, on the full and mlm tracks (not yet run)."""
    return make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "mlm"),
        tasks=("glue/sst2", "glue/stsb"),
        tracks=("full", "mlm"),
    )


def test_the_mlm_track_runs_only_tasks_with_a_prompt(
    users, full_and_mlm, tiny_model_zip
):
    both = full_and_mlm
    pairs = sorted((e.task.name, e.method) for e in both.evaluations.all())
    assert pairs == [
        ("glue/sst2", "full"),
        ("glue/sst2", "mlm"),
        ("glue/stsb", "full"),
    ]
    assert both.evaluations.get(method="mlm").recipe_version == "smoke@4+mlm@1"
    with pytest.raises(UserError) as error:
        make_submission(
            users["owner"],
            model_variant(tiny_model_zip, "stsb-only"),
            tasks=("glue/stsb",),
            tracks=("mlm",),
        )
    assert error.value.code == "submission.track_unsupported"
    assert "glue/sst2" in error.value.message and "prompt" in error.value.message


def test_an_mlm_row_is_over_the_tasks_with_a_prompt_and_says_so(full_and_mlm):
    submission = full_and_mlm
    for evaluation in submission.evaluations.all():
        finish_evaluation(evaluation, 0.6 if evaluation.method == "mlm" else 0.8)
    entries = {
        e.track: e for e in LeaderboardEntry.objects.filter(submission=submission)
    }
    assert entries["full"].tasks_counted == 2 and entries["mlm"].tasks_counted == 1
    assert entries["mlm"].score is not None and entries["mlm"].partial
    board = client_as(None).get("/api/v1/leaderboards/glue?track=mlm").json()
    ((row),) = board["rows"]
    assert row["score"] == pytest.approx(0.6)
    text = board["coverage"]["text"]
    assert "over 1 of 9 tasks" in text
    assert "STS-B has no prompt for the mlm track" in text
    assert board["coverage"]["off_track"] == ["STS-B"]
    page = client_as(None).get(f"/submissions/{submission.pk}/").content.decode()
    assert "STS-B has no prompt for the mlm track" in page
