"""The REST API answers every question the pages answer, in stable shapes."""

import csv
import io
import json
import zipfile

import pytest

from leaderboard.standings.board import parse_size
from leaderboard.standings.stats import assign_tied_ranks, pareto_frontier
from tests.api.conftest import client_as
from tests.factories import finish_all, make_submission, model_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(users, sst2_imported, tiny_model_zip, no_enqueue):
    """Three models: big-and-good, small-and-worse (baseline), and a resubmission."""
    owner = users["owner"]
    big = make_submission(owner, model_variant(tiny_model_zip, "big"), name="big")
    finish_all(big, 0.9, params=100_000_000, throughput=50, memory=900_000_000)
    small = make_submission(
        owner, model_variant(tiny_model_zip, "small"), name="small", is_baseline=True
    )
    finish_all(small, 0.7, params=5_000_000, throughput=400, memory=100_000_000)
    again = make_submission(owner, model_variant(tiny_model_zip, "big"), name="big2")
    finish_all(again, 0.6, params=100_000_000, throughput=50, memory=900_000_000)
    return {"big": big, "small": small, "again": again}


def test_leaderboard_json_keeps_the_original_shape_and_adds_efficiency(board):
    body = client_as(None).get("/api/v1/leaderboards/glue").json()
    assert body["suite"] == "glue"
    names = [r["name"] for r in body["rows"]]
    assert names == ["big", "small"], "one row per model: big2 is the same archive"
    top = body["rows"][0]
    assert {"rank", "submission", "name", "score", "tasks"} <= set(top)
    assert top["rank"] == 1 and top["tasks"]["glue/sst2"] == pytest.approx(0.9)
    assert top["efficiency"]["params"] == 100_000_000
    assert top["efficiency"]["throughput"] == 50
    assert top["pareto"]["throughput"] is True
    assert {c["key"]: c["better"] for c in body["columns"]}["params"] == "lower"


def test_leaderboard_all_rows_filters_and_sort(board):
    client = client_as(None)
    every = client.get("/api/v1/leaderboards/glue?all=1").json()["rows"]
    assert [r["name"] for r in every] == ["big", "small", "big2"]
    hidden = client.get("/api/v1/leaderboards/glue?baselines=hide").json()["rows"]
    assert [r["name"] for r in hidden] == ["big"]
    only = client.get("/api/v1/leaderboards/glue?baselines=only").json()["rows"]
    assert [r["name"] for r in only] == ["small"]
    small = client.get("/api/v1/leaderboards/glue?max_params=10M").json()["rows"]
    assert [r["name"] for r in small] == ["small"]
    none = client.get("/api/v1/leaderboards/glue?recipe=standard").json()["rows"]
    assert none == []
    fastest = client.get("/api/v1/leaderboards/glue?sort=throughput").json()
    assert fastest["direction"] == "desc"
    assert [r["name"] for r in fastest["rows"]] == ["small", "big"]
    lightest = client.get("/api/v1/leaderboards/glue?sort=params").json()
    assert lightest["direction"] == "asc"
    assert lightest["rows"][0]["name"] == "small"


def test_leaderboard_csv_export_api_and_page(board):
    for url in ("/api/v1/leaderboards/glue?format=csv", "/suites/glue/?format=csv"):
        response = client_as(None).get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        assert [r["name"] for r in rows] == ["big", "small"]
        assert float(rows[0]["glue/sst2 mean"]) == pytest.approx(0.9)
        assert rows[1]["params"] == "5000000"
    page_json = client_as(None).get("/suites/glue/?format=json").json()
    assert [r["name"] for r in page_json["rows"]] == ["big", "small"]


def test_compare_gives_differences_against_the_first(board):
    ids = f"{board['big'].pk},{board['small'].pk}"
    body = client_as(None).get(f"/api/v1/compare?ids={ids}").json()
    assert [s["name"] for s in body["submissions"]] == ["big", "small"]
    (task,) = body["tasks"]
    assert task["task"] == "glue/sst2"
    first, second = task["entries"]
    assert first["diff"] is None
    assert second["diff"] == pytest.approx(-0.2)
    bad = client_as(None).get("/api/v1/compare?ids=1")
    assert bad.status_code == 400 and bad.json()["code"] == "compare.bad_ids"
    page = client_as(None).get(f"/compare/?ids={ids}")
    assert page.status_code == 200 and b"-20.0" in page.content


def test_task_detail_and_download_without_evaluation_labels(board):
    body = client_as(None).get("/api/v1/tasks/glue/sst2").json()
    assert body["task"] == "glue/sst2"
    assert body["fields"] == ["sentence"]
    (version,) = body["versions"]
    assert version["counts"]["train"] == 44
    assert version["label_distribution"]
    assert [r["name"] for r in body["leaderboard"]] == ["big", "small"]
    for url in ("/api/v1/tasks/glue/sst2/download", "/tasks/glue/sst2/download"):
        response = client_as(None).get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        names = set(archive.namelist())
        assert {"datasheet.json", "train.jsonl", "validation.jsonl"} <= names
        validation = archive.read("validation.jsonl").decode().splitlines()
        assert validation and all("label" not in json.loads(x) for x in validation)
        assert all(
            "label" in json.loads(x) for x in archive.read("train.jsonl").splitlines()
        )


def test_unknown_names_answer_plain_json_errors(db):
    client = client_as(None)
    for url in (
        "/api/v1/leaderboards/nope",
        "/api/v1/tasks/glue/nope",
        "/api/v1/submissions/999999",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert set(response.json()) == {"error", "code"}


def test_manifest_endpoint_lists_each_finished_evaluation(users, board):
    body = client_as(None).get(f"/api/v1/submissions/{board['big'].pk}/manifest").json()
    (entry,) = body["evaluations"]
    assert entry["task"] == "glue/sst2"
    assert entry["manifest"]["model_sha256"] == board["big"].archive.sha256


def test_openapi_schema_and_docs_are_served_without_a_cdn(db):
    client = client_as(None)
    schema = client.get("/api/v1/schema")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in (
        "/api/v1/leaderboards/{suite}",
        "/api/v1/evaluations/{id}/rerun",
        "/api/v1/tasks/{suite}/{task}/download",
        "/api/v1/compare",
    ):
        assert path in text
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()


def test_ties_share_a_rank_when_intervals_overlap():
    class Row:
        def __init__(self, score, se):
            self.score, self.se, self.rank = score, se, None

    rows = [
        Row(0.90, 0.02),
        Row(0.88, 0.0),
        Row(0.80, 0.0),
        Row(0.80, 0.0),
        Row(None, 0),
    ]
    assign_tied_ranks(rows, value=lambda r: r.score, se=lambda r: r.se)
    assert [r.rank for r in rows] == [1, 1, 3, 3, None]


def test_pareto_frontier_depends_on_the_direction_of_better():
    points = [(10.0, 0.9), (5.0, 0.8), (20.0, 0.7), (5.0, 0.6)]
    assert pareto_frontier(points, "higher") == [True, False, True, False]
    assert pareto_frontier(points, "lower") == [True, True, False, False]


def test_parse_size_reads_suffixes():
    assert parse_size("10M") == 10_000_000
    assert parse_size("1.5k") == 1500
    assert parse_size("") is None and parse_size("lots") is None
