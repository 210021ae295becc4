"""Curating on a live site, in a real browser against a live server and a real
worker: staff upload a bundle defining a new suite, preview its data, publish it;
a researcher uploads a model to it and is ranked; new data's publish shows what it
does to that row first; the researcher is refused every curation step; a malformed
bundle gets a plain error naming its line, and nothing is stored."""

from pathlib import Path

import pytest
from django.conf import settings

from leaderboard.catalogue.models import AuditEvent, DatasetVersion, Suite, Task
from leaderboard.curation.models import Bundle
from leaderboard.submissions.models import LeaderboardEntry, Submission
from tests.bundles import SPEC, data_bundle, suite_bundle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]

TASK = "moviebench/sentiment"


@pytest.fixture
def own_files():
    """Remove the models and bundles this test stores: the worker needs the shared
    storage, and other tests count what lies there."""
    folders = [Path(settings.MEDIA_ROOT) / name for name in ("models", "bundles")]
    before = {f: set(f.glob("*")) if f.exists() else set() for f in folders}
    yield
    for folder in folders:
        for path in set(folder.glob("*")) - before[folder] if folder.exists() else ():
            path.unlink(missing_ok=True)


def log_in(page, url: str, username: str, password: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{url}/")


def upload_bundle(page, url: str, archive: Path, *, task: str = "") -> None:
    """The curation form, as staff fill it (sent with a progress bar)."""
    page.goto(f"{url}/curate/")
    page.set_input_files("#id_archive", str(archive))
    if task:
        page.select_option("#id_task", task)
    page.click("#bundle-form button[type=submit]")


def wait_imported(page) -> None:
    """The bundle page polls its import job; it reloads once the job has ended."""
    page.wait_for_url("**/curate/bundles/*/")
    page.wait_for_selector("#bundle-status:text('finished')", timeout=120_000)
    page.wait_for_selector("#bundle-versions a.preview-link")


def test_staff_curate_a_suite_a_researcher_is_ranked_on_it(
    celery_worker,
    own_files,
    live_server,
    page,
    shot,
    tmp_path,
    tiny_model_zip,
    django_user_model,
):
    url = live_server.url
    django_user_model.objects.create_user(
        "curator", password="pw-curator-1", is_staff=True
    )
    django_user_model.objects.create_user("ada", password="pw-ada-12345")
    good = tmp_path / "moviebench.zip"
    good.write_bytes(suite_bundle(tmp_path / "v1"))

    # Staff upload a bundle defining a new suite with one task.
    log_in(page, url, "curator", "pw-curator-1")
    assert page.locator("header a", has_text="Curate").count() == 1
    upload_bundle(page, url, good)
    wait_imported(page)
    shot(page, "curate-bundle")
    assert Suite.objects.get(slug="moviebench").is_curated

    # The preview: counts, label distribution, sample rows, lengths, datasheet.
    page.click("#bundle-versions a.preview-link")
    page.wait_for_selector("#version-state")
    assert page.inner_text("#version-state") == "draft"
    assert page.inner_text("#counts tr[data-split=train] td.num") == "44"
    assert "0:" in page.inner_text("#counts tr[data-split=train]")  # labels
    assert page.locator(".histogram[data-split=train] .bar").count() >= 1
    assert page.locator("table.sample[data-split=validation] tr").count() >= 2
    assert TASK in page.inner_text("#datasheet")
    shot(page, "curate-preview")

    # Publish: the impact first, then confirm.
    page.click("#version-actions a.action-publish")
    page.wait_for_selector("#impact")
    assert "joins the MovieBench leaderboard" in page.inner_text("#impact")
    assert Task.objects.get(name=TASK).published_version() is None
    shot(page, "curate-publish-impact")
    page.click("#confirm")
    page.wait_for_selector("text=is now published")
    assert page.locator("#audit tr[data-action='dataset.publish']").count() == 1
    first = DatasetVersion.objects.get(task__name=TASK)
    assert first.state == "published"

    # A researcher uploads a model to it; the real worker evaluates it; it is ranked.
    log_in(page, url, "ada", "pw-ada-12345")
    assert page.locator("header a", has_text="Curate").count() == 0
    page.goto(f"{url}/submit/")
    page.fill("#id_name", "tiny-movie")
    page.set_input_files("#id_archive", str(tiny_model_zip))
    page.fill("#id_tasks", TASK)
    page.select_option("#id_recipe", "smoke")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url("**/submissions/*/")
    page.wait_for_function(
        "document.getElementById('submission-status').textContent.trim()"
        " === 'finished'",
        timeout=300_000,
    )
    submission = Submission.objects.get(name="tiny-movie")
    page.goto(f"{url}/suites/moviebench/")
    row = page.locator(f"#leaderboard tbody tr[data-id='{submission.pk}']")
    assert row.count() == 1
    # The rank, then its bootstrap interval: a lone row holds place 1 for sure.
    assert row.locator("td.rank").inner_text().split() == ["1", "[1]", "P", "1.00"]
    assert LeaderboardEntry.objects.get(submission=submission).score is not None
    assert page.locator("#audit").count() == 0  # the trail is for staff
    shot(page, "curate-ranked")

    # The researcher is refused every curation step.
    bundle = Bundle.objects.get()
    version = f"{url}/tasks/moviebench/sentiment/versions/{first.sha256}"
    for step in (
        "/curate/",
        f"/curate/bundles/{bundle.pk}/",
        f"/curate/bundles/{bundle.pk}/status",
        f"{version[len(url) :]}/",
        f"{version[len(url) :]}/withdraw/",
        "/suites/moviebench/edit/",
    ):
        assert page.goto(f"{url}{step}").status == 403, step
    page.goto(f"{url}/admin/curation/bundle/upload/")
    assert "/admin/login/" in page.url
    # Posts, with a valid CSRF token, as a form or a script would send them.
    page.goto(f"{url}/suites/moviebench/")
    statuses = page.evaluate(
        """async (paths) => {
             const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
             const out = [];
             for (const path of paths) {
               const body = new FormData();
               body.append("confirm", "1");
               body.append("title", "Taken over");
               const r = await fetch(path, {method: "POST", body,
                 headers: {"X-CSRFToken": token}});
               out.push(r.status);
             }
             return out;
           }""",
        [
            "/curate/bundles/",
            f"/curate/bundles/{bundle.pk}/confirm",
            f"{version[len(url) :]}/withdraw/",
            f"{version[len(url) :]}/deprecate/",
            "/suites/moviebench/edit/",
        ],
    )
    assert statuses == [403] * 5
    first.refresh_from_db()
    assert first.state == "published"
    assert Suite.objects.get(slug="moviebench").title == "MovieBench"

    # Staff upload new data for the task: its publish shows the impact on the row.
    second = tmp_path / "sentiment-v2.zip"
    second.write_bytes(data_bundle(tmp_path / "v2", flip=3))
    log_in(page, url, "curator", "pw-curator-1")
    upload_bundle(page, url, second, task=TASK)
    wait_imported(page)
    page.click("#bundle-versions a.preview-link")
    page.click("#version-actions a.action-publish")
    impact = page.inner_text("#impact")
    assert "moves from version 1 to 2" in impact
    assert page.inner_text("#impact-figures [data-figure=results]") == "1"
    assert page.inner_text("#impact-figures [data-figure=submissions]") == "1"
    assert page.inner_text("#impact-boards [data-figure=rows-reruns]") == "1"
    shot(page, "curate-second-impact")
    page.click("#confirm")
    page.wait_for_selector("text=is now published")
    assert Task.objects.get(name=TASK).version == 2
    # Its result was on the earlier data: it stops counting until re-run.
    rows = LeaderboardEntry.objects.filter(submission=submission)
    assert not rows.filter(cells__has_key=TASK).exists()
    event = AuditEvent.objects.filter(action="dataset.publish").first()
    assert event.details["impact"]["results_stop_counting"] == 1
    page.goto(f"{url}/suites/moviebench/")
    assert page.locator("#audit tr[data-action='dataset.publish']").count() == 2
    assert page.locator(f"#leaderboard tr[data-id='{submission.pk}']").count() == 0

    # A malformed bundle: a plain error naming the line; nothing is stored.
    bad = tmp_path / "bad.zip"
    bad.write_bytes(
        suite_bundle(
            tmp_path / "bad",
            SPEC.replace('name = "moviebench"', 'name = "typobench"').replace(
                "version = 1", "verison = 1"
            ),
        )
    )
    stored = Path(settings.MEDIA_ROOT) / "bundles"
    files = set(stored.glob("*"))
    bundles, events = Bundle.objects.count(), AuditEvent.objects.count()
    upload_bundle(page, url, bad)
    page.wait_for_selector("#form-errors:has-text('line 11')")
    error = page.inner_text("#form-errors")
    assert "moviebench.toml, line 11" in error and "did you mean 'version'" in error
    shot(page, "curate-malformed")
    assert Bundle.objects.count() == bundles
    assert AuditEvent.objects.count() == events
    assert not Suite.objects.filter(slug="typobench").exists()
    assert set(stored.glob("*")) == files
