"""A researcher's journey in a real browser against a live server and a real worker:
sign up, upload a tiny model, watch it finish, find it on the leaderboard, sort,
open the Pareto chart, weigh the utility ranking, download a dataset; then an admin
withdraws and publishes a dataset version."""

import io
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from leaderboard.catalogue.models import DatasetVersion
from leaderboard.submissions import queueing
from leaderboard.submissions.models import Submission
from tests.factories import finish_all, make_submission, model_variant


@pytest.fixture
def own_model_files():
    """Remove the model files this test stores: the worker needs the shared storage,
    and other tests count what lies there."""
    folder = Path(settings.MEDIA_ROOT) / "models"
    before = set(folder.glob("*")) if folder.exists() else set()
    yield
    for path in set(folder.glob("*")) - before if folder.exists() else ():
        path.unlink(missing_ok=True)


pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def test_signup_upload_watch_rank_chart_download_publish(
    celery_worker,
    own_model_files,
    live_server,
    page,
    shot,
    sst2_folder,
    tiny_model_zip,
    django_user_model,
    monkeypatch,
    settings,
):
    call_command("import_task", "glue/sst2", str(sst2_folder))
    url = live_server.url

    # Sign up.
    page.goto(f"{url}/accounts/signup/")
    shot(page, "signup")
    page.fill("#id_username", "grace")
    page.fill("#id_password1", "a-long-unusual-passphrase-42")
    page.fill("#id_password2", "a-long-unusual-passphrase-42")
    page.click("form button[type=submit]")
    page.wait_for_url(f"{url}/")
    assert "grace" in page.inner_text("header")

    # Upload through the form (XMLHttpRequest with a progress bar).
    page.goto(f"{url}/submit/")
    page.fill("#id_name", "tiny-bert")
    page.set_input_files("#id_archive", str(tiny_model_zip))
    page.fill("#id_tasks", "glue/sst2")
    page.select_option("#id_recipe", "smoke")
    shot(page, "submit")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url("**/submissions/*/")
    submission = Submission.objects.get(name="tiny-bert")

    # Watch it reach finished: the page polls its status fragment.
    page.wait_for_function(
        "document.getElementById('submission-status').textContent.trim()"
        " === 'finished'",
        timeout=300_000,
    )
    page.wait_for_selector("#scores")  # the page reloads once everything ended
    assert page.locator("tr.evaluation[data-status=finished]").count() == 1
    assert page.locator("#glue-zip").count() == 1
    shot(page, "submission")
    with page.expect_download() as download:
        page.click("#manifest-download")
    assert b"model_sha256" in download.value.path().read_bytes()

    # A second, lighter model (finished by hand: no second sandbox run needed).
    settings.GLEW_DAILY_SUBMISSION_LIMIT = 1000
    with queueing.captured():
        other = make_submission(
            submission.owner, model_variant(tiny_model_zip, "x"), name="fast-one"
        )
    finish_all(other, 0.1, params=1000, throughput=1e6, memory=1000, train_seconds=0.1)

    # The leaderboard: both rows, sortable, with the Pareto chart.
    page.goto(f"{url}/suites/glue/")
    rows = page.locator("#leaderboard tbody tr[data-id]")
    assert rows.count() == 2
    assert rows.nth(0).get_attribute("data-id") == str(submission.pk)
    page.click('th[data-key="params"]')  # lower is better: lightest first
    assert rows.nth(0).get_attribute("data-id") == str(other.pk)
    assert "sorted-asc" in page.get_attribute('th[data-key="params"]', "class")
    page.wait_for_function("document.getElementById('pareto').data !== undefined")
    points = page.evaluate("document.getElementById('pareto').data[0].x.length")
    assert points == 2
    page.select_option("#pareto-metric", "params")
    assert page.evaluate("document.getElementById('pareto').data[0].x.length") == 2
    assert page.locator("#pareto .scatterlayer .point").count() >= 2
    # Weigh throughput only: the fast model ranks first by utility.
    page.evaluate(
        """() => document.querySelectorAll('#weights input[type=range]').forEach(s => {
             s.value = s.dataset.metric === 'throughput' ? 10 : 0;
             s.dispatchEvent(new Event('input'));
           })"""
    )
    assert rows.nth(0).get_attribute("data-id") == str(other.pk)
    shot(page, "leaderboard")
    with page.expect_download() as download:
        page.click("#export-csv")
    assert b"tiny-bert" in download.value.path().read_bytes()

    # Compare the two.
    page.goto(f"{url}/compare/?ids={submission.pk},{other.pk}")
    assert page.locator("#compare tbody tr").count() >= 1
    shot(page, "compare")

    # Download the dataset from the task page.
    page.goto(f"{url}/tasks/glue/sst2/")
    shot(page, "task")
    with page.expect_download() as download:
        page.click("#download")
    archive = zipfile.ZipFile(io.BytesIO(download.value.path().read_bytes()))
    assert "datasheet.json" in archive.namelist()

    page.goto(f"{url}/accounts/token/")
    shot(page, "token")
    page.goto(f"{url}/")
    shot(page, "home")

    # An admin withdraws, then publishes the dataset version from the task page.
    django_user_model.objects.create_superuser("boss", "b@example.org", "pw-boss-999")
    page.click("header button.link")  # log out
    page.goto(f"{url}/accounts/login/?next=/tasks/glue/sst2/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw-boss-999")
    page.click("form button[type=submit]")
    page.wait_for_url("**/tasks/glue/sst2/")
    page.click("a.publish-toggle")  # withdraw: its impact first, then confirm
    page.wait_for_selector("#impact")
    assert "leaves the GLUE leaderboard" in page.inner_text("#impact")
    page.click("#confirm")
    page.wait_for_selector("text=is now withdrawn")
    assert not DatasetVersion.objects.get().published
    page.click("a.publish-toggle")
    page.click("#confirm")
    page.wait_for_selector("text=is now published")
    assert DatasetVersion.objects.get().published
    shot(page, "task-admin")
    page.goto(f"{url}/api/v1/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    shot(page, "api-docs")
