"""A suite score over fewer tasks than the suite has is labelled partial wherever it
appears, and partial rows are ranked apart from complete ones.

With only SST-2's data here, every GLUE score is over 1 of the 9 scored tasks.
The ranking rule (``standings.rows.leaderboard_rows``): complete rows first,
then partial rows ranked among themselves, then rows without a suite score.
"""

import csv
import io

import pytest
from django.utils import timezone

from leaderboard.standings.scope import Coverage
from leaderboard.submissions.models import LeaderboardEntry
from tests.api.conftest import client_as
from tests.factories import finish_all, make_submission, model_variant

pytestmark = pytest.mark.django_db

ONE_OF_NINE = (
    "GLUE score over 1 of 9 tasks; CoLA, MNLI, MRPC, QNLI, QQP, RTE, STS-B, WNLI "
    "have no training data here"
)


@pytest.fixture
def ranked(users, sst2_imported, tiny_model_zip, no_enqueue):
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "partial"), name="only-sst2"
    )
    finish_all(submission, 0.8)
    return submission


def test_the_api_rows_and_the_json_export_say_the_score_is_partial(ranked):
    body = client_as(None).get("/api/v1/leaderboards/glue").json()
    (row,) = body["rows"]
    assert row["score"] == pytest.approx(0.8)
    assert (row["partial"], row["tasks_counted"], row["tasks_in_suite"]) == (
        True,
        1,
        9,
    )
    assert body["coverage"]["text"] == ONE_OF_NINE
    assert body["coverage"]["missing"][:2] == ["CoLA", "MNLI"]
    assert "partial suite score" in body["ranking"]
    exported = client_as(None).get("/suites/glue/?format=json").json()
    assert exported["coverage"]["partial"] is True
    assert exported["rows"][0]["partial"] is True


def test_the_csv_export_carries_what_the_score_is_over(ranked):
    for url in ("/api/v1/leaderboards/glue?format=csv", "/suites/glue/?format=csv"):
        text = client_as(None).get(url).content.decode()
        (line,) = csv.DictReader(io.StringIO(text))
        assert (line["partial"], line["tasks_counted"], line["tasks_in_suite"]) == (
            "1",
            "1",
            "9",
        )


def test_the_board_page_labels_the_partial_score_and_the_suite(ranked):
    page = client_as(None).get("/suites/glue/").content.decode()
    assert ONE_OF_NINE in page  # the suite description
    assert "over 1 of 9 tasks" in page  # the score column's header
    assert "partial: 1 of 9 tasks" in page  # the row's score


def test_the_home_page_labels_a_partial_leader(ranked):
    page = client_as(None).get("/").content.decode()
    card = page.split('data-suite="glue"')[1].split("</div>")[0]
    assert "only-sst2" in card and "partial: 1 of 9 tasks" in card
    assert ONE_OF_NINE in card


def test_the_submission_page_and_api_label_a_partial_suite_score(users, ranked):
    page = client_as(None).get(f"/submissions/{ranked.pk}/").content.decode()
    table = page.split('<table id="suite-scores">')[1].split("</table>")[0]
    assert "80.0" in table and "partial" in table and ONE_OF_NINE in table
    body = client_as(None).get(f"/api/v1/submissions/{ranked.pk}").json()
    (standing,) = body["suite_scores"]
    assert standing["suite"] == "glue" and standing["partial"] is True
    assert (standing["tasks_counted"], standing["tasks_in_suite"]) == (1, 9)
    assert standing["coverage"] == ONE_OF_NINE


def test_partial_rows_rank_among_themselves_after_complete_ones(
    users, sst2_imported, tiny_model_zip, no_enqueue
):
    subs = {}
    for name, score in (("complete", 0.6), ("p-high", 0.9), ("p-low", 0.7)):
        subs[name] = make_submission(
            users["owner"], model_variant(tiny_model_zip, name), name=name
        )
        finish_all(subs[name], score)
    unscored = make_submission(
        users["owner"], model_variant(tiny_model_zip, "none"), name="unscored"
    )
    finish_all(unscored, 0.95)
    # What a board computed over a complete suite, and a row missing a task, hold.
    now = timezone.now()
    LeaderboardEntry.objects.filter(submission=subs["complete"]).update(
        partial=False, tasks_counted=9, updated_at=now
    )
    LeaderboardEntry.objects.filter(submission=unscored).update(
        score=None, tasks_counted=None, partial=False, updated_at=now
    )
    client = client_as(None)
    for query in ("", "?sort=score", "?sort=rank&dir=desc"):
        rows = client.get(f"/api/v1/leaderboards/glue{query}").json()["rows"]
        ranks = [(r["name"], r["rank"], r["partial"]) for r in rows]
        if query != "?sort=rank&dir=desc":
            assert ranks == [
                ("complete", 1, False),
                ("p-high", 1, True),
                ("p-low", 2, True),
                ("unscored", None, False),
            ], query
        else:  # worst first, yet never a partial row among complete ones
            assert [name for name, *_ in ranks[:3]] == ["complete", "p-low", "p-high"]
    page = client.get("/suites/glue/").content.decode()
    assert page.index(">complete<") < page.index("Partial suite scores")
    assert page.index("Partial suite scores") < page.index(">p-high<")


def test_a_suite_covered_fully_is_not_partial_and_says_so():
    full = Coverage("GLUE", tuple(f"glue/t{i}" for i in range(9)), ())
    assert (full.partial, full.text) == (False, "GLUE score over all 9 tasks")
    part = Coverage("GLUE", ("glue/cola",), ("MNLI",))
    assert part.partial and part.text == (
        "GLUE score over 1 of 2 tasks; MNLI has no training data here"
    )
    assert Coverage("GLUE", (), ("MNLI",)).partial is False
