"""Curation in the admin: a staff account (no model permissions given) uploads a
bundle, publishes after a page showing the impact, and reads the audit trail."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leaderboard.catalogue.models import AuditEvent, DatasetVersion
from leaderboard.curation.models import Bundle
from leaderboard.submissions import queueing
from tests.bundles import run_jobs, suite_bundle

pytestmark = pytest.mark.django_db

VERSIONS = "/admin/catalogue/datasetversion/"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def draft(staff, tmp_path, django_capture_on_commit_callbacks) -> DatasetVersion:
    """MovieBench uploaded through the admin's upload page, its import job run."""
    client = logged_in(staff)
    assert client.get("/admin/curation/bundle/upload/").status_code == 200
    with queueing.captured() as sent:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/admin/curation/bundle/upload/",
                {"archive": SimpleUploadedFile("b.zip", suite_bundle(tmp_path))},
            )
        run_jobs(sent)
    bundle = Bundle.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/admin/curation/bundle/{bundle.pk}/change/"
    return DatasetVersion.objects.get(task__name="moviebench/sentiment")


def test_staff_see_the_curation_models_without_model_permissions(staff, draft):
    client = logged_in(staff)
    index = client.get("/admin/").content.decode()
    for name in ("bundle", "datasetversion", "auditevent", "suite", "task"):
        assert f"/{name}/" in index, name
    bundle = Bundle.objects.get()
    assert client.get(f"/admin/curation/bundle/{bundle.pk}/change/").status_code == 200
    suites = client.get("/admin/catalogue/suite/").content.decode()
    assert "/suites/moviebench/edit/" in suites  # edited on the site's page


def test_publishing_in_the_admin_shows_the_impact_before_confirming(staff, draft):
    client = logged_in(staff)
    form = {"action": "publish", "_selected_action": [draft.pk]}
    page = client.post(VERSIONS, form)
    assert page.status_code == 200
    assert "joins the MovieBench leaderboard" in page.content.decode()
    draft.refresh_from_db()
    assert draft.state == "draft"
    done = client.post(VERSIONS, {**form, "confirm": "yes"})
    assert done.status_code == 302
    draft.refresh_from_db()
    assert draft.state == "published"
    event = AuditEvent.objects.get(action="dataset.publish")
    assert event.actor_name == "curator"
    trail = client.get("/admin/catalogue/auditevent/").content.decode()
    assert "dataset.publish" in trail and "suite.create" in trail


def test_the_admin_refuses_curation_to_other_users(researcher, draft):
    client = logged_in(researcher)
    for url in ("/admin/curation/bundle/upload/", VERSIONS, "/admin/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.post(VERSIONS, {"action": "publish", "_selected_action": [draft.pk]})
    draft.refresh_from_db()
    assert draft.state == "draft"
