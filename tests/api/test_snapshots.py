"""Frozen leaderboards (``standings.snapshots``): staff freeze a board; the snapshot
never changes after later results, re-runs and withdrawals; its archive's sha256 is
the hash in its URL; it says what has changed since."""

import hashlib
import io
import json
import zipfile

import pytest

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.catalogue.services import dataset_version_set_published
from leaderboard.standings.models import LeaderboardSnapshot
from leaderboard.submissions import lifecycle
from tests.api.conftest import client_as
from tests.factories import (
    finish_evaluation,
    make_submission,
    model_variant,
    publish_run,
)

pytestmark = pytest.mark.django_db

RIGHT = [1] * 8 + [0] * 8
MOSTLY = [1] * 8 + [0] * 6 + [1] * 2
WRONG = [0] * 8 + [1] * 8


@pytest.fixture
def board(users, sst2_imported, tiny_model_zip, no_enqueue, tmp_path):
    made = {}
    for name, predictions in (("good", MOSTLY), ("poor", WRONG)):
        submission = make_submission(
            users["owner"], model_variant(tiny_model_zip, name), name=name
        )
        publish_run(
            submission.evaluations.get(), {"validation": predictions}, tmp_path / name
        )
        made[name] = submission
    return made


def _freeze(user, note: str = "v1 of the paper") -> dict:
    answer = client_as(user).post(
        "/api/v1/leaderboards/glue/snapshots", {"note": note}, format="json"
    )
    assert answer.status_code == 201, answer.content
    return answer.json()


def _archive(user, url: str) -> bytes:
    answer = client_as(user).get(url)
    assert answer.status_code == 200
    return b"".join(answer.streaming_content) if answer.streaming else answer.content


def test_anonymous_and_other_users_cannot_freeze(users, board):
    answer = client_as(None).post("/api/v1/leaderboards/glue/snapshots", {})
    assert answer.status_code == 401
    assert answer.json()["code"] == "auth.required"
    answer = client_as(users["other"]).post("/api/v1/leaderboards/glue/snapshots", {})
    assert answer.status_code == 403
    assert answer.json()["code"] == "auth.forbidden"
    page = client_as(None).post("/suites/glue/snapshots/")
    assert page.status_code == 302 and "login" in page["Location"]
    assert client_as(users["owner"]).post("/suites/glue/snapshots/").status_code == 403
    assert not LeaderboardSnapshot.objects.exists()
    # Nor does the live page offer them the button.
    assert "freeze-board" not in client_as(users["other"]).get("/suites/glue/").text


def test_archive_hash_matches_the_url_and_holds_rows_rule_versions_manifests(
    users, board
):
    frozen = _freeze(users["staff"])
    sha = frozen["sha256"]
    assert frozen["page"].endswith(f"/suites/glue/snapshots/{sha}/")
    for url in (frozen["archive"], f"/suites/glue/snapshots/{sha}/archive.zip"):
        data = _archive(None, url)
        assert hashlib.sha256(data).hexdigest() == sha
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        document = json.loads(archive.read("snapshot.json"))
    assert {"snapshot.json", "rows.csv"} <= set(names)
    assert [r["name"] for r in document["board"]["rows"]] == ["good", "poor"]
    assert document["score_rule"]["rule"] == "mean_of_task_means"
    version = DatasetVersion.objects.get(task__name="glue/sst2")
    assert document["tasks"]["glue/sst2"]["dataset_sha256"] == version.sha256
    assert [r["name"] for r in document["recipes"]] == ["smoke"]
    evaluations = {str(s.evaluations.get().pk) for s in board.values()}
    assert set(document["manifests"]) == evaluations
    assert {f"manifests/evaluation-{pk}.json" for pk in evaluations} <= set(names)
    assert document["frozen_by"] == "staff" and document["note"] == "v1 of the paper"


def test_snapshot_unchanged_after_a_later_result_a_rerun_and_a_withdrawal(
    users, board, tiny_model_zip, tmp_path
):
    frozen = _freeze(users["staff"])
    sha = frozen["sha256"]
    before = client_as(None).get(frozen["url"]).json()
    assert before["changes_since"]["unchanged"] is True
    archive_before = _archive(None, frozen["archive"])

    later = make_submission(
        users["owner"], model_variant(tiny_model_zip, "later"), name="later"
    )
    publish_run(later.evaluations.get(), {"validation": RIGHT}, tmp_path / "later")
    rerun = lifecycle.evaluation_rerun(
        evaluation_id=board["good"].evaluations.get().pk, user=users["owner"]
    )
    publish_run(rerun, {"validation": WRONG}, tmp_path / "rerun")
    after_result = client_as(None).get(frozen["url"]).json()
    assert after_result["snapshot"] == before["snapshot"]
    changes = after_result["changes_since"]
    assert [r["name"] for r in changes["added"]] == ["later"]
    assert {m["name"]: (m["rank_then"], m["rank_now"]) for m in changes["moved"]} == {
        "good": (1, 2),
        "poor": (2, 3),
    }

    version = DatasetVersion.objects.get(task__name="glue/sst2")
    dataset_version_set_published(version=version, published=False)
    after_withdrawal = client_as(None).get(frozen["url"]).json()
    assert after_withdrawal["snapshot"] == before["snapshot"]
    changes = after_withdrawal["changes_since"]
    assert {r["name"] for r in changes["removed"]} == {"good", "poor"}
    assert changes["versions"][0]["task"] == "glue/sst2"
    assert changes["versions"][0]["now"] is None
    assert _archive(None, frozen["archive"]) == archive_before
    assert hashlib.sha256(archive_before).hexdigest() == sha

    page = client_as(None).get(f"/suites/glue/snapshots/{sha}/").text
    assert sha in page and "Removed: good" in page and "Versions of glue/sst2" in page
    assert 'data-row="' in page and ">good <" in page


def test_the_live_board_links_its_snapshots(users, board):
    frozen = _freeze(users["staff"])
    page = client_as(None).get("/suites/glue/").text
    assert f"/suites/glue/snapshots/{frozen['sha256']}/" in page
    listed = client_as(None).get("/api/v1/leaderboards/glue/snapshots").json()
    assert [s["sha256"] for s in listed["snapshots"]] == [frozen["sha256"]]
    staff_page = client_as(users["staff"]).get("/suites/glue/").text
    assert 'id="freeze-board"' in staff_page


def test_staff_freeze_from_the_page(users, board):
    answer = client_as(users["staff"]).post("/suites/glue/snapshots/", {"note": "x"})
    snapshot = LeaderboardSnapshot.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/suites/glue/snapshots/{snapshot.sha256}/"
    assert (
        client_as(None).get("/suites/glue/snapshots/" + "0" * 64 + "/").status_code
        == 404
    )


def _freeze_track(user, track: str):
    return client_as(user).post(
        "/api/v1/leaderboards/glue/snapshots", {"track": track}, format="json"
    )


def test_freezing_the_lora_board_holds_only_lora_rows_and_says_so(users, two_tracks):
    both, _ = two_tracks
    answer = _freeze_track(users["staff"], "lora")
    assert answer.status_code == 201, answer.content
    lora = answer.json()
    assert lora["track"] == "lora"
    with zipfile.ZipFile(io.BytesIO(_archive(None, lora["archive"]))) as archive:
        document = json.loads(archive.read("snapshot.json"))
    assert document["track"] == "lora"
    rows = document["board"]["rows"]
    assert [(r["name"], r["track"]) for r in rows] == [("both", "lora")]
    assert rows[0]["score"] == pytest.approx(0.7)
    ((manifest),) = document["manifests"].values()
    assert manifest["task_score"] == pytest.approx(0.7)
    assert set(document["manifests"]) == {str(both.evaluations.get(method="lora").pk)}
    full = _freeze(users["staff"])
    assert full["track"] == "full" and full["sha256"] != lora["sha256"]
    assert LeaderboardSnapshot.objects.get(sha256=lora["sha256"]).track == "lora"
    detail = client_as(None).get(lora["url"]).json()
    assert detail["track"] == "lora" and detail["snapshot"]["track"] == "lora"
    listed = client_as(None).get("/api/v1/leaderboards/glue/snapshots").json()
    assert {s["sha256"]: s["track"] for s in listed["snapshots"]} == {
        lora["sha256"]: "lora",
        full["sha256"]: "full",
    }


def test_a_lora_snapshot_changes_with_lora_results_only(
    users, two_tracks, tiny_model_zip
):
    lora = _freeze_track(users["staff"], "lora").json()
    full_later = make_submission(
        users["owner"], model_variant(tiny_model_zip, "full-later"), name="full-later"
    )
    finish_evaluation(full_later.evaluations.get(), 0.95)
    changes = client_as(None).get(lora["url"]).json()["changes_since"]
    assert changes["unchanged"] is True
    lora_later = make_submission(
        users["owner"],
        model_variant(tiny_model_zip, "lora-later"),
        name="lora-later",
        tracks=("lora",),
    )
    finish_evaluation(lora_later.evaluations.get(), 0.75)
    changes = client_as(None).get(lora["url"]).json()["changes_since"]
    assert [r["name"] for r in changes["added"]] == ["lora-later"]
    assert "full-later" not in json.dumps(changes)


def test_an_unknown_track_is_refused(users, two_tracks):
    answer = _freeze_track(users["staff"], "prompting")
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "snapshot.unknown_track"
    assert "'prompting'" in body["error"] and "full, lora, bitfit, mlm" in body["error"]
    page = client_as(users["staff"]).post(
        "/suites/glue/snapshots/", {"track": "prompting"}
    )
    assert page.status_code == 302 and page["Location"] == "/suites/glue/"
    assert not LeaderboardSnapshot.objects.exists()


def test_the_page_freezes_the_track_shown_and_says_which(users, two_tracks):
    staff = client_as(users["staff"])
    shown = staff.get("/suites/glue/?track=lora").text
    assert '<input type="hidden" name="track" value="lora">' in shown
    answer = staff.post("/suites/glue/snapshots/", {"track": "lora"})
    snapshot = LeaderboardSnapshot.objects.get()
    assert snapshot.track == "lora"
    assert answer["Location"] == f"/suites/glue/snapshots/{snapshot.sha256}/"
    page = client_as(None).get(answer["Location"]).text
    assert 'id="snapshot-track"' in page and "lora" in page
    assert ">both <" in page and "full-only" not in page
    live = client_as(None).get("/suites/glue/").text
    assert f'data-track="lora" href="/suites/glue/snapshots/{snapshot.sha256}/"' in live
