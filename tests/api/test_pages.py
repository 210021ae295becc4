"""The server-rendered pages render for each kind of visitor (smoke level; the
browser tests drive them for real)."""

import pytest

from leaderboard.accounts.services import token_get_or_create
from tests.api.conftest import client_as
from tests.factories import finish_all, make_submission, model_variant

pytestmark = pytest.mark.django_db


@pytest.fixture
def finished(users, sst2_imported, tiny_model_zip, no_enqueue):
    submission = make_submission(
        users["owner"], model_variant(tiny_model_zip, "p"), name="paged"
    )
    finish_all(submission, 0.75)
    return submission


def test_pages_render(users, finished):
    client = client_as(users["owner"])
    for url in (
        "/",
        "/suites/glue/",
        "/suites/glue/?all=1&baselines=hide&min_params=1k&sort=params",
        "/tasks/glue/sst2/",
        f"/submissions/{finished.pk}/",
        f"/compare/?ids={finished.pk},{finished.pk}",
        "/submit/",
        "/accounts/token/",
        "/vendor/plotly.min.js",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
    board = client.get("/suites/glue/").content.decode()
    assert 'id="pareto"' in board and "paged" in board
    assert "adversarial" not in board.split("chart-data")[0].lower()


def test_visibility_toggle_and_rerun_from_the_page(users, finished):
    client = client_as(users["owner"])
    response = client.post(
        f"/submissions/{finished.pk}/visibility", {"visibility": "private"}
    )
    assert response.status_code == 302
    finished.refresh_from_db()
    assert finished.visibility == "private"
    evaluation = finished.evaluations.get()
    client.post(f"/evaluations/{evaluation.pk}/rerun")
    assert finished.evaluations.filter(rerun_of=evaluation).count() == 1


def test_token_page_regenerates_the_token(users):
    client = client_as(users["owner"])
    old = token_get_or_create(user=users["owner"]).key
    assert old in client.get("/accounts/token/").content.decode()
    client.post("/accounts/token/")
    new = token_get_or_create(user=users["owner"]).key
    assert new != old


def test_only_admins_publish_dataset_versions(users, sst2_imported):
    from leaderboard.catalogue.models import DatasetVersion

    version = DatasetVersion.objects.get()
    # Withdrawing shows its impact first (GET), then a POST confirms it.
    url = f"/tasks/glue/sst2/versions/{version.sha256}/withdraw/"
    assert client_as(users["other"]).post(url).status_code == 403
    version.refresh_from_db()
    assert version.published
    assert client_as(users["admin"]).get(url).status_code == 200
    version.refresh_from_db()
    assert version.published
    client_as(users["admin"]).post(url)
    version.refresh_from_db()
    assert not version.published
