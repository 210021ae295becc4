"""Curation through the REST API: the same steps and figures as the pages."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from leaderboard.submissions import queueing
from tests.api.conftest import client_as
from tests.bundles import SPEC, run_jobs, suite_bundle

pytestmark = pytest.mark.django_db

VERSIONS = "/api/v1/tasks/moviebench/sentiment/versions"


@pytest.fixture
def api(users):
    return client_as(users["staff"])


@pytest.fixture
def upload(api, django_capture_on_commit_callbacks):
    def send(data: bytes, **fields):
        with queueing.captured() as sent:
            with django_capture_on_commit_callbacks(execute=True):
                response = api.post(
                    "/api/v1/curation/bundles",
                    {"archive": SimpleUploadedFile("b.zip", data), **fields},
                )
            run_jobs(sent)
        return response

    return send


def test_upload_watch_preview_publish_and_read_the_trail(api, upload, tmp_path):
    response = upload(suite_bundle(tmp_path))
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["kind"] == "suite" and created["suite"] == "moviebench"
    bundle = api.get(f"/api/v1/curation/bundles/{created['id']}").json()
    assert bundle["status"] == "finished"
    sha = bundle["result"]["versions"][0]["sha256"]

    preview = api.get(f"{VERSIONS}/{sha}").json()
    assert preview["state"] == "draft" and preview["counts"]["train"] == 44
    assert preview["preview"]["lengths"]["validation"]["unit"] == "words"

    dry = api.post(f"{VERSIONS}/{sha}/publish", {}, format="json").json()
    assert dry["applied"] is False and dry["version"]["state"] == "draft"
    assert dry["impact"]["task_version_after"] == 1
    assert any("joins" in s for s in dry["impact"]["sentences"])
    done = api.post(f"{VERSIONS}/{sha}/publish", {"confirm": True}, format="json")
    assert done.json()["applied"] is True
    assert done.json()["version"]["state"] == "published"

    suite = api.get("/api/v1/suites/moviebench").json()
    assert suite["origin"] == "curated" and suite["version"] == 1
    assert suite["tasks"][0]["versions"][0]["state"] == "published"
    trail = api.get("/api/v1/curation/audit?task=moviebench/sentiment").json()
    assert [e["action"] for e in trail["events"]][:2] == [
        "dataset.publish",
        "dataset.upload",
    ]


def test_a_malformed_bundle_is_a_400_naming_the_line(api, upload, tmp_path):
    spec = SPEC.replace('metrics = ["accuracy"]', 'metrics = ["acuracy"]')
    response = upload(suite_bundle(tmp_path, spec))
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"error", "code"}
    assert body["code"] == "catalogue.unknown_metric"
    assert body["error"].startswith("moviebench.toml, line 15: task 'sentiment'")
    assert "Did you mean 'accuracy'" in body["error"]
    assert api.get("/api/v1/curation/bundles").json()["results"] == []


def test_a_suite_edit_is_previewed_then_confirmed(api, upload, tmp_path):
    upload(suite_bundle(tmp_path))
    edit = {"tasks": [{"key": "sentiment", "weight": 2.0}]}
    dry = api.post("/api/v1/suites/moviebench/edit", edit, format="json").json()
    assert dry["applied"] is False and dry["plan"]["suite_version_after"] == 2
    assert dry["suite_version"] == 1
    done = api.post(
        "/api/v1/suites/moviebench/edit", {**edit, "confirm": True}, format="json"
    ).json()
    assert done["applied"] is True and done["suite_version"] == 2
    words = api.post(
        "/api/v1/suites/moviebench/edit",
        {"title": "MovieBench II", "confirm": True},
        format="json",
    ).json()
    assert words["suite_version"] == 2  # words alone never move the version
    assert api.get("/api/v1/suites/moviebench").json()["title"] == "MovieBench II"


def test_drafts_stay_out_of_the_public_task_answer(users, upload, tmp_path):
    upload(suite_bundle(tmp_path))
    public = client_as(None).get("/api/v1/tasks/moviebench/sentiment").json()
    assert public["versions"] == [] and public["baselines"] is None


def test_the_schema_documents_the_curation_calls(api):
    schema = api.get("/api/v1/schema?format=json").json()
    assert "/api/v1/curation/bundles" in schema["paths"]
    assert "/api/v1/suites/{suite}/edit" in schema["paths"]
