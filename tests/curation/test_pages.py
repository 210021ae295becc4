"""The staff pages: upload, watch, preview, see the impact, confirm; edit a suite."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from leaderboard.catalogue.models import DatasetVersion, Suite, Task
from leaderboard.curation.models import Bundle
from leaderboard.submissions import queueing
from tests.bundles import SPEC, run_jobs, suite_bundle

pytestmark = pytest.mark.django_db

TASK = "moviebench/sentiment"


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def post_bundle(django_capture_on_commit_callbacks):
    """Post the upload form; the import job it queues runs here."""

    def post(client, data: bytes, *, task: str = "", xhr: bool = False):
        headers = {"X-Requested-With": "XMLHttpRequest"} if xhr else {}
        with queueing.captured() as sent:
            with django_capture_on_commit_callbacks(execute=True):
                response = client.post(
                    "/curate/bundles/",
                    {"archive": SimpleUploadedFile("bundle.zip", data), "task": task},
                    headers=headers,
                )
            run_jobs(sent)
        return response

    return post


@pytest.fixture
def imported(staff, tmp_path, post_bundle):
    """MovieBench uploaded through the page, its data a draft."""
    response = post_bundle(logged_in(staff), suite_bundle(tmp_path))
    assert response.status_code == 302, response.content[:500]
    return DatasetVersion.objects.get(task__name=TASK)


def test_the_upload_form_gives_the_bundle_page_which_shows_the_drafts(
    staff, tmp_path, post_bundle
):
    client = logged_in(staff)
    page = client.get("/curate/")
    assert page.status_code == 200 and b'id="bundle-form"' in page.content
    response = post_bundle(client, suite_bundle(tmp_path), xhr=True)
    assert response.status_code == 201
    url = response.json()["url"]
    bundle = Bundle.objects.get()
    assert url == f"/curate/bundles/{bundle.pk}/"
    page = client.get(url).content.decode()
    assert "finished" in page and "Preview and publish" in page
    status = client.get(f"/curate/bundles/{bundle.pk}/status").content.decode()
    assert 'data-live="0"' in status
    draft = DatasetVersion.objects.get(task__name=TASK)
    home = client.get("/curate/").content.decode()
    assert f'<tr data-sha="{draft.sha256}">' in home  # awaiting a decision


def test_a_malformed_bundle_gets_a_plain_error_naming_the_line(
    staff, tmp_path, post_bundle
):
    spec = SPEC.replace("version = 1", "verison = 1")
    client = logged_in(staff)
    response = post_bundle(client, suite_bundle(tmp_path, spec), xhr=True)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "catalogue.unknown_key"
    assert "moviebench.toml, line 11" in body["error"]
    assert "did you mean 'version'" in body["error"]
    response = post_bundle(client, suite_bundle(tmp_path / "b", spec))
    assert response.status_code == 400
    assert "moviebench.toml, line 11" in response.content.decode()
    assert (
        Bundle.objects.count() == 0
        and not Suite.objects.filter(slug="moviebench").exists()
    )


def test_the_preview_shows_counts_samples_lengths_and_datasheet(staff, imported):
    client = logged_in(staff)
    page = client.get(f"/tasks/moviebench/sentiment/versions/{imported.sha256}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="version-state">draft' in text
    assert 'class="histogram" data-split="train"' in text
    assert 'class="sample" data-split="validation"' in text
    assert "&quot;task&quot;: &quot;moviebench/sentiment&quot;" in text
    assert "action-publish" in text and "action-withdraw" not in text
    short = client.get(f"/tasks/moviebench/sentiment/versions/{imported.sha256[:12]}/")
    assert short.status_code == 200


def test_publishing_shows_the_impact_then_asks_to_confirm(staff, imported):
    client = logged_in(staff)
    url = f"/tasks/moviebench/sentiment/versions/{imported.sha256}/publish/"
    page = client.get(url).content.decode()
    assert "joins the MovieBench leaderboard" in page and 'id="confirm"' in page
    imported.refresh_from_db()
    assert imported.state == "draft"
    response = client.post(url)
    assert response.status_code == 302
    imported.refresh_from_db()
    assert imported.state == "published"
    task_page = client.get("/tasks/moviebench/sentiment/").content.decode()
    assert "is now published" in task_page
    assert 'data-action="dataset.publish"' in task_page  # the audit trail


def test_drafts_are_hidden_from_everyone_but_staff(researcher, imported):
    page = logged_in(researcher).get("/tasks/moviebench/sentiment/").content.decode()
    assert imported.sha256[:16] not in page
    assert "Audit trail" not in page


def test_the_suite_edit_page_previews_then_saves(staff, imported):
    client = logged_in(staff)
    page = client.get("/suites/moviebench/edit/")
    assert page.status_code == 200
    form = {
        "title": "MovieBench",
        "description": "Curated.",
        "score_rule": "mean_of_task_means",
        "score_rule_text": "Mean.",
        "position_sentiment": "1",
        "weight_sentiment": "1.0",
    }  # counts_sentiment unticked: the task stops counting
    preview = client.post("/suites/moviebench/edit/", form).content.decode()
    assert "score moves from version 1 to 2" in preview
    assert Suite.objects.get(slug="moviebench").version == 1
    saved = client.post("/suites/moviebench/edit/", {**form, "confirm": "1"})
    assert saved.status_code == 302
    suite = Suite.objects.get(slug="moviebench")
    assert suite.version == 2 and not Task.objects.get(name=TASK).in_suite_score
    board = client.get("/suites/moviebench/").content.decode()
    assert 'id="edit-suite"' in board and 'data-action="suite.edit"' in board


def test_a_catalogue_file_suite_has_no_edit_page(staff, sst2_folder):
    from django.core.management import call_command

    call_command("import_task", "glue/sst2", str(sst2_folder))
    response = logged_in(staff).get("/suites/glue/edit/")
    assert response.status_code == 302
